// Probe identity: what makes two checks the same probe, and the plan built from a snapshot.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckSpec, RealConfig, ServiceConfig, Snapshot } from '../../src/config/model.js';
import { buildProbePlan, canonicalJson, probeKey } from '../../src/scheduler/probe-key.js';
import { realKey, serviceKey } from '../../src/model/keys.js';

const pos = { file: 'conf.d/x.yaml', line: 1, col: 1 };
const tcp = (o: Partial<CheckSpec> = {}): CheckSpec => ({ type: 'tcp', intervalMs: 2000, timeoutMs: 1000, rise: 2, fall: 3, port: 80, send: null, expect: null, ...o }) as CheckSpec;
const http = (o: Partial<CheckSpec> = {}): CheckSpec =>
  ({ type: 'http', intervalMs: 2000, timeoutMs: 1000, rise: 2, fall: 3, port: 80, method: 'GET', path: '/health', host: null, expectStatus: [[200, 399]], expectBody: null, tlsVerify: false, headers: { a: '1', b: '2' }, ...o }) as CheckSpec;
const misc = (o: Partial<CheckSpec> = {}): CheckSpec => ({ type: 'misc', intervalMs: 2000, timeoutMs: 1000, rise: 2, fall: 3, port: 80, command: ['/bin/true'], dynamicWeight: false, ...o }) as CheckSpec;

function real(addr: string, check: CheckSpec): RealConfig {
  const [host, port] = addr.split(':') as [string, string];
  return { key: realKey({ host, family: 4, port: Number(port) }), address: { host, family: 4, port: Number(port) }, weight: 1, forwarding: 'masq', check, slowStartMs: 0, pos };
}
function svc(name: string, vip: string, reals: RealConfig[], sorry: RealConfig[] = []): ServiceConfig {
  const [host, port] = vip.split(':') as [string, string];
  return { kind: 'address', name, key: serviceKey({ kind: 'address', protocol: 'tcp', vip: { host, family: 4, port: Number(port) } }), family: 4, vip: { host, family: 4, port: Number(port) }, protocol: 'tcp', scheduler: 'wlc', persistence: null, quiescent: false, quorum: 1, hysteresis: 0, notify: { commands: {}, timeoutMs: 10_000 }, reals, sorry, pos };
}
function snap(services: ServiceConfig[]): Snapshot {
  return { global: {} as Snapshot['global'], services, files: [], hash: 'h' };
}

describe('probeKey', () => {
  const a = svc('a', '192.0.2.1:80', []);
  const b = svc('b', '192.0.2.2:80', []);
  const cases: { name: string; x: [RealConfig, ServiceConfig]; y: [RealConfig, ServiceConfig]; same: boolean }[] = [
    { name: 'same real, same check, two services -> one probe', x: [real('10.0.0.1:80', tcp()), a], y: [real('10.0.0.1:80', tcp()), b], same: true },
    { name: 'rise/fall differ -> still one probe', x: [real('10.0.0.1:80', tcp({ rise: 1, fall: 1 })), a], y: [real('10.0.0.1:80', tcp({ rise: 5, fall: 5 })), b], same: true },
    { name: 'real port differs but check port equal -> one probe', x: [real('10.0.0.1:80', tcp({ port: 8080 })), a], y: [real('10.0.0.1:81', tcp({ port: 8080 })), b], same: true },
    { name: 'header key order is irrelevant', x: [real('10.0.0.1:80', http({ headers: { a: '1', b: '2' } })), a], y: [real('10.0.0.1:80', http({ headers: { b: '2', a: '1' } })), b], same: true },
    { name: 'different host -> two probes', x: [real('10.0.0.1:80', tcp()), a], y: [real('10.0.0.2:80', tcp()), a], same: false },
    { name: 'different check port -> two probes', x: [real('10.0.0.1:80', tcp({ port: 80 })), a], y: [real('10.0.0.1:80', tcp({ port: 81 })), a], same: false },
    { name: 'different interval -> two probes', x: [real('10.0.0.1:80', tcp()), a], y: [real('10.0.0.1:80', tcp({ intervalMs: 500 })), b], same: false },
    { name: 'different timeout -> two probes', x: [real('10.0.0.1:80', tcp()), a], y: [real('10.0.0.1:80', tcp({ timeoutMs: 500 })), b], same: false },
    { name: 'tcp vs http on the same port -> two probes', x: [real('10.0.0.1:80', tcp()), a], y: [real('10.0.0.1:80', http()), a], same: false },
    { name: 'different http path -> two probes', x: [real('10.0.0.1:80', http()), a], y: [real('10.0.0.1:80', http({ path: '/other' })), a], same: false },
    { name: 'misc: same command, two services -> two probes (env differs)', x: [real('10.0.0.1:80', misc()), a], y: [real('10.0.0.1:80', misc()), b], same: false },
    { name: 'misc: same service, rise differs -> one probe', x: [real('10.0.0.1:80', misc({ rise: 1 })), a], y: [real('10.0.0.1:80', misc({ rise: 4 })), a], same: true },
    { name: 'misc: same check port, different real port -> two probes (LVSD env has the real)', x: [real('10.0.0.1:80', misc({ port: 9 })), a], y: [real('10.0.0.1:81', misc({ port: 9 })), a], same: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(probeKey(...c.x) === probeKey(...c.y), c.same);
    });
  }

  it('IPv6 hosts are bracketed in the key', () => {
    const r: RealConfig = { ...real('10.0.0.1:80', tcp()), key: realKey({ host: '2001:db8::1', family: 6, port: 80 }), address: { host: '2001:db8::1', family: 6, port: 80 } };
    assert.match(probeKey(r, a), /^\[2001:db8::1\]:80 /);
  });

  it('canonicalJson sorts keys at every level and drops undefined', () => {
    assert.equal(canonicalJson({ b: [{ d: 1, c: 2 }], a: undefined, c: null }), '{"b":[{"c":2,"d":1}],"c":null}');
  });
});

describe('buildProbePlan', () => {
  it('shares probes across services, keeps misc per service, skips sorry servers', () => {
    const s1 = svc('web', '192.0.2.1:80', [real('10.0.0.1:80', tcp()), real('10.0.0.2:80', tcp()), real('10.0.0.3:80', misc())], [real('10.0.0.99:80', tcp())]);
    const s2 = svc('web2', '192.0.2.2:80', [real('10.0.0.1:80', tcp({ rise: 9 })), real('10.0.0.3:80', misc())]);
    const plan = buildProbePlan(snap([s1, s2]));
    assert.equal(plan.size, 4, 'tcp .1 shared, tcp .2, misc .3 twice');
    const shared = plan.get(probeKey(s1.reals[0]!, s1))!;
    assert.deepEqual(shared.members, [
      { serviceKey: 'tcp:192.0.2.1:80', realKey: '10.0.0.1:80', rise: 2, fall: 3 },
      { serviceKey: 'tcp:192.0.2.2:80', realKey: '10.0.0.1:80', rise: 9, fall: 3 },
    ]);
    assert.equal(shared.target.address.host, '10.0.0.1');
    assert.equal(shared.target.context.serviceName, 'web');
    const misc2 = plan.get(probeKey(s2.reals[1]!, s2))!;
    assert.equal(misc2.target.context.serviceName, 'web2');
    assert.deepEqual(misc2.target.context.vip, { host: '192.0.2.2', family: 4, port: 80 });
    for (const [, e] of plan) assert.notEqual(e.target.address.host, '10.0.0.99');
  });

  it('fwmark services give a context without vip', () => {
    const f: ServiceConfig = { kind: 'fwmark', name: 'fw', key: serviceKey({ kind: 'fwmark', fwmark: 7, family: 4 }), family: 4, fwmark: 7, scheduler: 'wlc', persistence: null, quiescent: false, quorum: 1, hysteresis: 0, notify: { commands: {}, timeoutMs: 10_000 }, reals: [real('10.0.0.1:80', misc())], sorry: [], pos };
    const [entry] = buildProbePlan(snap([f])).values();
    assert.deepEqual(entry!.target.context, { serviceName: 'fw', vip: null, fwmark: 7, protocol: 'fwmark' });
  });

  it('an empty snapshot gives an empty plan', () => {
    assert.equal(buildProbePlan(snap([])).size, 0);
  });
});
