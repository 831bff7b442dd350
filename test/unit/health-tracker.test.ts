// HealthTracker: fan-out of shared probes, reload semantics by key, read side.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckResult } from '../../src/checks/types.js';
import type { CheckSpec, RealConfig, ServiceConfig, Snapshot } from '../../src/config/model.js';
import { HealthTracker } from '../../src/health/tracker.js';
import { buildProbePlan, probeKey } from '../../src/scheduler/probe-key.js';
import { realKey, serviceKey } from '../../src/model/keys.js';

const pos = { file: 'conf.d/x.yaml', line: 1, col: 1 };
const tcp = (o: Partial<CheckSpec> = {}): CheckSpec => ({ type: 'tcp', intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 2, port: 80, send: null, expect: null, ...o }) as CheckSpec;
const misc = (o: Partial<CheckSpec> = {}): CheckSpec => ({ type: 'misc', intervalMs: 1000, timeoutMs: 500, rise: 1, fall: 1, port: 80, command: ['/bin/true'], dynamicWeight: true, ...o }) as CheckSpec;
function real(addr: string, check: CheckSpec): RealConfig {
  const [host, port] = addr.split(':') as [string, string];
  return { key: realKey({ host, family: 4, port: Number(port) }), address: { host, family: 4, port: Number(port) }, weight: 1, forwarding: 'masq', check, slowStartMs: 0, pos };
}
function svc(name: string, vip: string, reals: RealConfig[], sorry: RealConfig[] = []): ServiceConfig {
  const [host, port] = vip.split(':') as [string, string];
  return { kind: 'address', name, key: serviceKey({ kind: 'address', protocol: 'tcp', vip: { host, family: 4, port: Number(port) } }), family: 4, vip: { host, family: 4, port: Number(port) }, protocol: 'tcp', scheduler: 'wlc', persistence: null, quiescent: false, quorum: 1, hysteresis: 0, notify: { commands: {}, timeoutMs: 10_000 }, reals, sorry, pos };
}
const snap = (services: ServiceConfig[]): Snapshot => ({ global: {} as Snapshot['global'], services, files: [], hash: 'h' });
const OK: CheckResult = { up: true, code: 'ok', reason: 'ok', latencyMs: 3 };
const BAD: CheckResult = { up: false, code: 'refused', reason: 'refused', latencyMs: 4 };

const A = 'tcp:192.0.2.1:80';
const B = 'tcp:192.0.2.2:80';

describe('HealthTracker', () => {
  it('fans one probe result out to every service listing the real', () => {
    const s1 = svc('a', '192.0.2.1:80', [real('10.0.0.1:80', tcp())]);
    const s2 = svc('b', '192.0.2.2:80', [real('10.0.0.1:80', tcp({ rise: 1, fall: 1 }))]);
    const t = new HealthTracker();
    assert.deepEqual(t.update(snap([s1, s2]), 0), []);
    assert.equal(t.size, 2);
    assert.equal(t.unknownCount, 2);
    const pk = probeKey(s1.reals[0]!, s1);
    const ev = t.record(pk, OK, 10);
    assert.deepEqual(
      ev.map((e) => [e.serviceKey, e.realKey, e.from, e.to, e.latencyMs, e.at]),
      [
        [A, '10.0.0.1:80', 'unknown', 'up', 3, 10],
        [B, '10.0.0.1:80', 'unknown', 'up', 3, 10],
      ],
    );
    assert.equal(t.unknownCount, 0);
    // Per-member thresholds: B has fall 1, A has fall 2.
    const ev2 = t.record(pk, BAD, 20);
    assert.deepEqual(ev2.map((e) => [e.serviceKey, e.to]), [[B, 'down']]);
    assert.equal(t.get(A, '10.0.0.1:80')!.health.state, 'up');
    assert.equal(t.get(B, '10.0.0.1:80')!.health.since, 20);
  });

  it('regression: a check that could not run (EMFILE) no longer counts as a failure', () => {
    const s1 = svc('a', '192.0.2.1:80', [real('10.0.0.1:80', tcp({ rise: 1, fall: 1 }))]);
    const t = new HealthTracker();
    t.update(snap([s1]), 0);
    const pk = probeKey(s1.reals[0]!, s1);
    const NOT_RUN: CheckResult = { up: false, code: 'not_run', notRun: 'EMFILE', reason: 'could not run', latencyMs: 0 };
    // Before the first result: still unknown (the kernel stays untouched).
    assert.deepEqual(t.record(pk, NOT_RUN, 1), []);
    assert.equal(t.unknownCount, 1);
    t.record(pk, OK, 2);
    assert.deepEqual(t.record(pk, NOT_RUN, 3), []);
    const h = t.get(A, '10.0.0.1:80')!.health;
    assert.equal(h.state, 'up');
    assert.equal(h.failures, 0);
    assert.equal(h.lastResult, OK);
    assert.equal(h.lastCheckAt, 2);
  });

  it('returns no events for unknown probes or steady results', () => {
    const s1 = svc('a', '192.0.2.1:80', [real('10.0.0.1:80', tcp())]);
    const t = new HealthTracker();
    t.update(snap([s1]), 0);
    assert.equal(t.record('nope', OK, 1).length, 0);
    const pk = probeKey(s1.reals[0]!, s1);
    t.record(pk, OK, 1);
    assert.equal(t.record(pk, OK, 2).length, 0);
  });

  it('a reload keeps state for surviving keys and refreshes rise/fall', () => {
    const t = new HealthTracker();
    const s1 = svc('a', '192.0.2.1:80', [real('10.0.0.1:80', tcp()), real('10.0.0.2:80', tcp())]);
    t.update(snap([s1]), 0);
    t.record(probeKey(s1.reals[0]!, s1), OK, 5);
    t.record(probeKey(s1.reals[1]!, s1), BAD, 5);
    // Same checks, new thresholds, plus one added real.
    const s1b = svc('a', '192.0.2.1:80', [real('10.0.0.1:80', tcp({ fall: 1 })), real('10.0.0.2:80', tcp({ rise: 5 })), real('10.0.0.3:80', tcp())]);
    t.update(snap([s1b]), 100);
    const r1 = t.get(A, '10.0.0.1:80')!;
    assert.equal(r1.health.state, 'up');
    assert.equal(r1.health.since, 5);
    assert.deepEqual(r1.thresholds, { rise: 2, fall: 1 });
    assert.equal(t.get(A, '10.0.0.2:80')!.health.state, 'down');
    assert.equal(t.get(A, '10.0.0.3:80')!.health.state, 'unknown');
    assert.equal(t.unknownCount, 1);
    // The new fall 1 applies at once.
    assert.deepEqual(t.record(probeKey(s1b.reals[0]!, s1b), BAD, 110).map((e) => e.to), ['down']);
  });

  it('a changed check definition starts fresh; a removed real is dropped', () => {
    const t = new HealthTracker();
    const s1 = svc('a', '192.0.2.1:80', [real('10.0.0.1:80', tcp()), real('10.0.0.2:80', tcp())]);
    t.update(snap([s1]), 0);
    t.record(probeKey(s1.reals[0]!, s1), OK, 5);
    const s1b = svc('a', '192.0.2.1:80', [real('10.0.0.1:80', tcp({ port: 8080 }))]);
    t.update(snap([s1b]), 10);
    assert.equal(t.get(A, '10.0.0.1:80')!.health.state, 'unknown');
    assert.equal(t.get(A, '10.0.0.2:80'), undefined);
    assert.equal(t.size, 1);
    // The old probe key no longer feeds anyone.
    assert.equal(t.record(probeKey(s1.reals[0]!, s1), BAD, 20).length, 0);
  });

  it('a real added under a new service takes the running probe\'s last result at once', () => {
    const t = new HealthTracker();
    const s1 = svc('a', '192.0.2.1:80', [real('10.0.0.1:80', tcp())]);
    t.update(snap([s1]), 0);
    t.record(probeKey(s1.reals[0]!, s1), OK, 5);
    const s2 = svc('b', '192.0.2.2:80', [real('10.0.0.1:80', tcp())]);
    const ev = t.update(snap([s1, s2]), 50);
    assert.deepEqual(ev.map((e) => [e.serviceKey, e.from, e.to, e.at]), [[B, 'unknown', 'up', 50]]);
    assert.equal(t.unknownCount, 0);
  });

  it('sorry servers are not tracked', () => {
    const t = new HealthTracker();
    t.update(snap([svc('a', '192.0.2.1:80', [real('10.0.0.1:80', tcp())], [real('10.0.0.9:80', tcp())])]), 0);
    assert.equal(t.get(A, '10.0.0.9:80'), undefined);
    assert.equal(t.size, 1);
  });

  it('misc dynamic weight: override per pair, weight change while up is an event', () => {
    const t = new HealthTracker();
    const s1 = svc('a', '192.0.2.1:80', [real('10.0.0.1:80', misc())]);
    const s2 = svc('b', '192.0.2.2:80', [real('10.0.0.1:80', misc())]);
    t.update(snap([s1, s2]), 0);
    const pk1 = probeKey(s1.reals[0]!, s1);
    assert.notEqual(pk1, probeKey(s2.reals[0]!, s2));
    t.record(pk1, { ...OK, weight: 10 }, 1);
    const ev = t.record(pk1, { ...OK, weight: 20 }, 2);
    assert.deepEqual(ev.map((e) => [e.serviceKey, e.kind, e.weight]), [[A, 'weight', 20]]);
    assert.equal(t.get(A, '10.0.0.1:80')!.health.weight, 20);
    assert.equal(t.get(B, '10.0.0.1:80')!.health.weight, null);
  });

  it('entries() and service() list pairs grouped by probe, in plan order', () => {
    const t = new HealthTracker();
    t.update(snap([svc('a', '192.0.2.1:80', [real('10.0.0.2:80', tcp()), real('10.0.0.1:80', tcp())]), svc('b', '192.0.2.2:80', [real('10.0.0.3:80', tcp())])]), 0);
    assert.deepEqual([...t.entries()].map((e) => e.realKey), ['10.0.0.2:80', '10.0.0.1:80', '10.0.0.3:80']);
    assert.deepEqual([...t.service(B)].map((e) => e.realKey), ['10.0.0.3:80']);
    assert.deepEqual([...t.service('missing')], []);
  });

  it('update takes the probe plan the scheduler runs, with the same result as from the snapshot', () => {
    const s1 = svc('a', '192.0.2.1:80', [real('10.0.0.1:80', tcp()), real('10.0.0.2:80', tcp({ rise: 4 }))]);
    const s2 = svc('b', '192.0.2.2:80', [real('10.0.0.1:80', tcp({ fall: 7 }))]);
    const fromPlan = new HealthTracker();
    const plan = buildProbePlan(snap([s1, s2]));
    fromPlan.update(plan, 0);
    const fromSnapshot = new HealthTracker();
    fromSnapshot.update(snap([s1, s2]), 0);
    assert.deepEqual([...fromPlan.entries()], [...fromSnapshot.entries()]);
    assert.deepEqual(fromPlan.get(B, '10.0.0.1:80')!.thresholds, { rise: 2, fall: 7 });
    const [pk] = plan.keys();
    assert.equal(fromPlan.record(pk!, OK, 1).length, 2);
  });

  it('a reload keeps the state of a real shared by many services', () => {
    const services = (fall: number) => Array.from({ length: 12 }, (_, i) => svc(`s${i}`, `192.0.2.${i + 1}:80`, [real('10.0.0.1:80', tcp({ fall }))]));
    const t = new HealthTracker();
    const first = services(2);
    t.update(snap(first), 0);
    assert.equal(t.record(probeKey(first[0]!.reals[0]!, first[0]!), OK, 1).length, 12);
    t.update(snap(services(1)), 2);
    assert.equal(t.unknownCount, 0);
    assert.ok([...t.entries()].every((e) => e.health.state === 'up' && e.thresholds.fall === 1));
  });
});
