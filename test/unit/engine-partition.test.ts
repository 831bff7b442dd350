// Which check thread runs which probe (src/engine/partition.ts), and the tracker copy the control
// thread keeps from a thread's reports (HealthTracker detailsOf/details/adopt/forget).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckResult } from '../../src/checks/types.js';
import type { CheckSpec, RealConfig, ServiceConfig, Snapshot } from '../../src/config/model.js';
import { HealthTracker } from '../../src/health/tracker.js';
import { buildProbePlan, probeKey } from '../../src/scheduler/probe-key.js';
import { realKey, serviceKey } from '../../src/model/keys.js';
import { partitionPlan, stableHash } from '../../src/engine/partition.js';
import { checkThreadsFor } from '../../src/engine/threads.js';

const pos = { file: 'conf.d/x.yaml', line: 1, col: 1 };
const tcp = (port: number, intervalMs = 1000): CheckSpec => ({ type: 'tcp', intervalMs, timeoutMs: 500, rise: 2, fall: 2, port, send: null, expect: null });
function real(host: string, checks: CheckSpec[]): RealConfig {
  const address = { host, family: 4 as const, port: 80 };
  const base = { key: realKey(address), address, weight: 1, forwarding: 'masq' as const, check: checks[0]!, slowStartMs: 0, pos };
  return checks.length > 1 ? { ...base, checks } : base;
}
function svc(n: number, reals: RealConfig[]): ServiceConfig {
  const vip = { host: `192.0.2.${n}`, family: 4 as const, port: 80 };
  return { kind: 'address', name: `s${n}`, key: serviceKey({ kind: 'address', protocol: 'tcp', vip }), family: 4, vip, protocol: 'tcp', scheduler: 'wlc', persistence: null, quiescent: false, quorum: 1, hysteresis: 0, notify: { commands: {}, timeoutMs: 10_000 }, reals, sorry: [], pos };
}
const snap = (services: ServiceConfig[]): Snapshot => ({ global: {} as Snapshot['global'], services, files: [], hash: 'h' });
const OK: CheckResult = { up: true, code: 'ok', reason: 'fine', latencyMs: 3 };
const BAD: CheckResult = { up: false, code: 'refused', reason: 'refused', latencyMs: 4 };

describe('partitionPlan', () => {
  const reals = Array.from({ length: 200 }, (_, i) => real(`10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`, [tcp(80)]));

  it('FNV-1a: the published test vectors', () => {
    assert.equal(stableHash(''), 0x811c9dc5);
    assert.equal(stableHash('a'), 0xe40c292c);
    assert.equal(stableHash('foobar'), 0xbf9cf968);
  });

  it('every probe in exactly one part, plan order kept, spread over all parts', () => {
    const plan = buildProbePlan(snap([svc(1, reals)]));
    const parts = partitionPlan(plan, 3);
    assert.equal(parts.length, 3);
    assert.equal(parts.reduce((n, p) => n + p.size, 0), plan.size);
    for (const p of parts) {
      assert.ok(p.size > 20, `a part of ${p.size} probes out of ${plan.size}`);
      const order = [...plan.keys()].filter((k) => p.has(k));
      assert.deepEqual([...p.keys()], order);
    }
  });

  it('a reload that adds and removes probes leaves the others on their thread', () => {
    const before = partitionPlan(buildProbePlan(snap([svc(1, reals.slice(0, 150))])), 4);
    const after = partitionPlan(buildProbePlan(snap([svc(1, reals.slice(50))])), 4);
    const where = (parts: Map<string, unknown>[], k: string) => parts.findIndex((p) => p.has(k));
    let kept = 0;
    for (const k of before.flatMap((p) => [...p.keys()])) {
      if (where(after, k) < 0) continue;
      kept++;
      assert.equal(where(after, k), where(before, k));
    }
    assert.equal(kept, 100);
  });

  it('the checks of a real with several checks share a thread', () => {
    const multi = Array.from({ length: 40 }, (_, i) => real(`10.1.0.${i + 1}`, [tcp(80), tcp(81), tcp(82, 2000)]));
    const plan = buildProbePlan(snap([svc(2, multi)]));
    const parts = partitionPlan(plan, 4);
    assert.ok(parts.filter((p) => p.size > 0).length > 1, 'several threads in use');
    const s = svc(2, multi);
    for (const r of multi) {
      const keys = r.checks!.map((c) => probeKey(r, s, c));
      const homes = new Set(keys.map((k) => parts.findIndex((p) => p.has(k))));
      assert.equal(homes.size, 1, `${r.key}: checks on threads ${[...homes].join(', ')}`);
    }
  });
});

describe('HealthTracker as the control side copy', () => {
  const s = svc(1, [real('10.0.0.1', [tcp(80)]), real('10.0.0.2', [tcp(80), tcp(81)])]);
  const [r1, r2] = s.reals as [RealConfig, RealConfig];
  const k1 = probeKey(r1, s);
  const [k2a, k2b] = r2.checks!.map((c) => probeKey(r2, s, c)) as [string, string];

  it('adopts what the engine reports, whole or as changes, and counts unknowns the same', () => {
    const plan = buildProbePlan(snap([s]));
    const engine = new HealthTracker();
    const copy = new HealthTracker();
    engine.update(plan, 0);
    copy.update(plan, 0);
    assert.equal(copy.unknownCount, 2);
    const first = [...engine.record(k1, OK, 1), ...engine.record(k2a, OK, 1)];
    assert.equal(first.length, 1, 'r1 decided; r2 waits for its second check');
    copy.adopt(engine.detailsOf(first));
    assert.equal(copy.get(s.key, r1.key)!.health.state, 'up');
    assert.equal(copy.get(s.key, r2.key)!.health.state, 'unknown', 'one check of two');
    assert.equal(copy.unknownCount, 1);
    const down = engine.record(k2b, BAD, 2);
    const changes = engine.detailsOf(down);
    assert.deepEqual(changes.probes.map(([k]) => k), [k2b]);
    assert.deepEqual(changes.groups.map(([, r, h]) => [r, h.state]), [[r2.key, 'down']]);
    copy.adopt(changes);
    assert.equal(copy.get(s.key, r2.key)!.health.state, 'down');
    assert.equal(copy.unknownCount, 0);
    assert.deepEqual(engine.detailsOf([]), { probes: [], groups: [] }, 'no events, no details');
    const fresh = new HealthTracker();
    fresh.update(plan, 0);
    fresh.adopt(engine.details());
    assert.deepEqual([...fresh.entries()].map((e) => e.health.state), [...engine.entries()].map((e) => e.health.state));
  });

  it('forget: a dead thread\'s pairs back to unknown, reporting what they were', () => {
    const t = new HealthTracker();
    t.update(buildProbePlan(snap([s])), 0);
    t.record(k1, OK, 1);
    t.record(k2a, OK, 1);
    t.record(k2b, OK, 1);
    assert.equal(t.unknownCount, 0);
    const was = t.forget([k1, k2a], 5);
    assert.deepEqual(was.map((w) => [w.realKey, w.health.state]), [[r1.key, 'up'], [r2.key, 'up']]);
    assert.equal(t.unknownCount, 2);
    assert.equal(t.get(s.key, r1.key)!.health.state, 'unknown');
    assert.equal(t.get(s.key, r2.key)!.health.state, 'unknown');
  });
});

describe('checkThreadsFor', () => {
  it('auto: the cores minus one, at least one; a set value as given, 0 included', () => {
    assert.deepEqual([1, 2, 4, 16].map((cores) => checkThreadsFor(null, cores)), [1, 1, 3, 15]);
    assert.equal(checkThreadsFor(0, 8), 0);
    assert.equal(checkThreadsFor(5, 2), 5);
  });
});
