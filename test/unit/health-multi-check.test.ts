// A real with several checks (`checks:`): one rise/fall per check, the real up only when all are up,
// unknown until every check has its first result, shared sub-probes across services, reload identity.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckResult } from '../../src/checks/types.js';
import type { CheckSpec, RealConfig, ServiceConfig, Snapshot } from '../../src/config/model.js';
import { HealthTracker } from '../../src/health/tracker.js';
import { combineResults } from '../../src/health/state-machine.js';
import { buildProbePlan, probeKey } from '../../src/scheduler/probe-key.js';
import { realKey, serviceKey } from '../../src/model/keys.js';

const pos = { file: 'conf.d/x.yaml', line: 1, col: 1 };
const common = { intervalMs: 1000, timeoutMs: 500, port: 80 };
const tcp = (rise = 1, fall = 1): CheckSpec => ({ ...common, type: 'tcp', rise, fall, send: null, expect: null });
const ping = (rise = 1, fall = 1): CheckSpec => ({ ...common, type: 'ping', rise, fall });
function real(addr: string, checks: CheckSpec[]): RealConfig {
  const [host, port] = addr.split(':') as [string, string];
  const base = { key: realKey({ host, family: 4, port: Number(port) }), address: { host, family: 4 as const, port: Number(port) }, weight: 1, forwarding: 'masq' as const, check: checks[0]!, slowStartMs: 0, pos };
  return checks.length > 1 ? { ...base, checks } : base;
}
function svc(name: string, vip: string, reals: RealConfig[]): ServiceConfig {
  const [host, port] = vip.split(':') as [string, string];
  return { kind: 'address', name, key: serviceKey({ kind: 'address', protocol: 'tcp', vip: { host, family: 4, port: Number(port) } }), family: 4, vip: { host, family: 4, port: Number(port) }, protocol: 'tcp', scheduler: 'wlc', persistence: null, quiescent: false, quorum: 1, hysteresis: 0, notify: { commands: {}, timeoutMs: 10_000 }, reals, sorry: [], pos };
}
const snap = (services: ServiceConfig[]): Snapshot => ({ global: {} as Snapshot['global'], services, files: [], hash: 'h' });
const OK: CheckResult = { up: true, code: 'ok', reason: 'fine', latencyMs: 3 };
const BAD: CheckResult = { up: false, code: 'refused', reason: 'refused', latencyMs: 4 };
const R = '10.0.0.1:80';
const S = 'tcp:192.0.2.1:80';

describe('a real with several checks', () => {
  it('plans one probe per distinct check, each member marked with its part', () => {
    const s = svc('a', '192.0.2.1:80', [real(R, [tcp(), ping(), tcp()])]);
    const plan = buildProbePlan(snap([s]));
    assert.equal(plan.size, 2, 'the repeated tcp check is one probe');
    assert.deepEqual([...plan.values()].map((e) => [e.target.spec.type, e.members[0]!.part]), [
      ['tcp', { index: 0, of: 2 }],
      ['ping', { index: 1, of: 2 }],
    ]);
  });

  it('is unknown until every check has a result, then up only when all are up; one check down makes it down', () => {
    const s = svc('a', '192.0.2.1:80', [real(R, [tcp(), ping()])]);
    const r = s.reals[0]!;
    const t = new HealthTracker();
    t.update(snap([s]), 0);
    assert.equal(t.size, 1);
    assert.equal(t.unknownCount, 1);
    const kTcp = probeKey(r, s, r.checks![0]);
    const kPing = probeKey(r, s, r.checks![1]);
    assert.deepEqual(t.record(kTcp, OK, 1), [], 'one check of two: still unknown');
    assert.equal(t.get(S, R)!.health.state, 'unknown');
    assert.equal(t.unknownCount, 1);
    const first = t.record(kPing, OK, 2);
    assert.deepEqual(first.map((e) => [e.from, e.to]), [['unknown', 'up']]);
    assert.equal(t.unknownCount, 0);
    const down = t.record(kPing, BAD, 3);
    assert.deepEqual(down.map((e) => [e.realKey, e.from, e.to, e.probeKey === kPing]), [[R, 'up', 'down', true]]);
    assert.match(down[0]!.reason, /^check 2 of 2 down: /);
    assert.equal(t.get(S, R)!.health.lastResult!.up, false);
    assert.deepEqual(t.record(kTcp, OK, 4), [], 'the other check passing does not bring it back');
    assert.deepEqual(t.record(kPing, OK, 5).map((e) => e.to), ['up']);
    assert.deepEqual(t.checksOf(S, R)!.map((p) => p.health.state), ['up', 'up']);
  });

  it('checksOf: each check with its type, thresholds and own counters, as a copy a later result does not change', () => {
    const s = svc('a', '192.0.2.1:80', [real(R, [tcp(2, 3), ping(1, 1)])]);
    const r = s.reals[0]!;
    const [kTcp, kPing] = r.checks!.map((c) => probeKey(r, s, c)) as [string, string];
    const t = new HealthTracker();
    t.update(snap([s]), 0);
    assert.deepEqual(t.checksOf(S, R)!.map((c) => [c.probeKey, c.type, c.health.state, c.health.lastCheckAt]), [[kTcp, 'tcp', 'unknown', null], [kPing, 'ping', 'unknown', null]]);
    t.record(kTcp, OK, 1);
    t.record(kTcp, OK, 2);
    t.record(kPing, BAD, 3);
    const seen = t.checksOf(S, R)!;
    assert.deepEqual(seen.map((c) => [c.type, c.thresholds, c.health.state, c.health.successes, c.health.failures, c.health.checks, c.health.lastResult?.code, c.health.lastCheckAt]), [
      ['tcp', { rise: 2, fall: 3 }, 'up', 2, 0, 2, 'ok', 2],
      ['ping', { rise: 1, fall: 1 }, 'down', 0, 1, 1, 'refused', 3],
    ]);
    assert.equal(t.get(S, R)!.health.state, 'down', 'the combined health is the pair\'s');
    t.record(kTcp, BAD, 4);
    assert.equal(seen[0]!.health.failures, 0, 'what was read is a copy: a reader on another thread gets the same');
    assert.equal(t.checksOf(S, R)![0]!.health.failures, 1);
    assert.equal(t.checksOf(S, 'nope'), null);
    assert.equal(t.checksOf('nope', R), null);
  });

  it('each check keeps its own rise and fall', () => {
    const s = svc('a', '192.0.2.1:80', [real(R, [tcp(1, 3), ping(2, 1)])]);
    const r = s.reals[0]!;
    const [kTcp, kPing] = r.checks!.map((c) => probeKey(r, s, c)) as [string, string];
    const t = new HealthTracker();
    t.update(snap([s]), 0);
    t.record(kTcp, OK, 1);
    t.record(kPing, OK, 1);
    assert.equal(t.get(S, R)!.health.state, 'up');
    // tcp has fall 3: two failures keep it (and the real) up.
    assert.deepEqual(t.record(kTcp, BAD, 2), []);
    assert.deepEqual(t.record(kTcp, BAD, 3), []);
    assert.deepEqual(t.record(kTcp, BAD, 4).map((e) => e.to), ['down']);
    assert.deepEqual(t.record(kTcp, OK, 5).map((e) => e.to), ['up'], 'tcp rise 1');
    // ping has fall 1 and rise 2.
    assert.deepEqual(t.record(kPing, BAD, 6).map((e) => e.to), ['down']);
    assert.deepEqual(t.record(kPing, OK, 7), []);
    assert.deepEqual(t.record(kPing, OK, 8).map((e) => e.to), ['up']);
  });

  it('shares a sub-check probe with another service listing the same real and check', () => {
    const multi = svc('a', '192.0.2.1:80', [real(R, [tcp(), ping()])]);
    const single = svc('b', '192.0.2.2:80', [real(R, [tcp()])]);
    const plan = buildProbePlan(snap([multi, single]));
    assert.equal(plan.size, 2);
    const kTcp = probeKey(single.reals[0]!, single);
    assert.equal(plan.get(kTcp)!.members.length, 2);
    const t = new HealthTracker();
    t.update(plan, 0);
    assert.deepEqual(t.record(kTcp, OK, 1).map((e) => [e.serviceKey, e.to]), [['tcp:192.0.2.2:80', 'up']]);
    assert.equal(t.get(S, R)!.health.state, 'unknown');
  });

  it('a reload that keeps the checks keeps the state; changing one check starts the real fresh, decided by the next result', () => {
    const s1 = svc('a', '192.0.2.1:80', [real(R, [tcp(), ping()])]);
    const r = s1.reals[0]!;
    const t = new HealthTracker();
    t.update(snap([s1]), 0);
    t.record(probeKey(r, s1, r.checks![0]), OK, 1);
    t.record(probeKey(r, s1, r.checks![1]), OK, 1);
    assert.deepEqual(t.update(snap([svc('a', '192.0.2.1:80', [real(R, [tcp(), ping()])])]), 2), []);
    assert.equal(t.get(S, R)!.health.state, 'up');
    // rise/fall are not part of a probe's identity; a timeout is.
    const changed = svc('a', '192.0.2.1:80', [real(R, [tcp(), { ...ping(), timeoutMs: 400 }])]);
    assert.deepEqual(t.update(snap([changed]), 3), [], 'the tcp probe has a result but the changed ping has none');
    assert.equal(t.get(S, R)!.health.state, 'unknown');
    const cr = changed.reals[0]!;
    assert.deepEqual(t.record(probeKey(cr, changed, cr.checks![1]), BAD, 4).map((e) => [e.from, e.to]), [['unknown', 'down']]);
  });

  it('a real going from several checks to one keeps the probe it still has', () => {
    const s1 = svc('a', '192.0.2.1:80', [real(R, [tcp(), ping()])]);
    const r = s1.reals[0]!;
    const t = new HealthTracker();
    t.update(snap([s1]), 0);
    t.record(probeKey(r, s1, r.checks![0]), OK, 1);
    const ev = t.update(snap([svc('a', '192.0.2.1:80', [real(R, [tcp()])])]), 2);
    assert.equal(t.checksOf(S, R), null);
    assert.equal(t.get(S, R)!.health.state, 'up', 'the surviving tcp entry already had its result');
    assert.deepEqual(ev, []);
  });
});

describe('combineResults', () => {
  it('up when all are up; the first failing check speaks otherwise', () => {
    assert.deepEqual(combineResults([OK, OK]), { up: true, code: 'ok', reason: 'all 2 checks up: fine; fine', latencyMs: 3 });
    assert.deepEqual(combineResults([OK, BAD, { ...BAD, code: 'timeout' }]), { up: false, code: 'refused', reason: 'check 2 of 3: refused', latencyMs: 4 });
    assert.equal(combineResults([OK, null]).up, false);
    assert.equal(combineResults([{ ...OK, weight: 7 }, OK]).weight, 7);
  });
});
