// The production pipeline (buildProbePlan -> Scheduler -> runCheck -> HealthTracker) against real
// TCP listeners on 127.0.0.1: a real shared by three services is probed once per interval.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runCheck } from '../../src/checks/index.js';
import type { CheckResult, CheckTarget } from '../../src/checks/types.js';
import type { CheckSpec, RealConfig, ServiceConfig, Snapshot } from '../../src/config/model.js';
import { HealthTracker } from '../../src/health/tracker.js';
import type { HealthEvent } from '../../src/health/tracker.js';
import { buildProbePlan } from '../../src/scheduler/probe-key.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { realKey, serviceKey } from '../../src/model/keys.js';
import { close, listen } from '../helpers/closing-listener.js';
import type { Listener } from '../helpers/closing-listener.js';

const pos = { file: 'conf.d/it.yaml', line: 1, col: 1 };

/** Poll until `cond` holds; the deadline only guards against a hang, it asserts no timing. */
async function waitFor(what: string, cond: () => boolean, deadlineMs = 15000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function tcp(port: number, fall: number): CheckSpec {
  return { type: 'tcp', intervalMs: 40, timeoutMs: 2000, rise: 1, fall, port, send: null, expect: null };
}
function real(port: number, fall: number): RealConfig {
  const address = { host: '127.0.0.1', family: 4 as const, port };
  return { key: realKey(address), address, weight: 1, forwarding: 'masq', check: tcp(port, fall), slowStartMs: 0, pos };
}
function service(n: number, ports: number[], fall: number): ServiceConfig {
  return {
    kind: 'address', name: `svc${n}`, key: serviceKey({ kind: 'address', protocol: 'tcp', vip: { host: `192.0.2.${n}`, family: 4, port: 80 } }), family: 4, vip: { host: `192.0.2.${n}`, family: 4, port: 80 },
    protocol: 'tcp', scheduler: 'wlc', persistence: null, quiescent: false, quorum: 1, hysteresis: 0, notify: { commands: {}, timeoutMs: 10_000 }, reals: ports.map((p) => real(p, fall)), sorry: [], pos,
  };
}

describe('scheduler + runCheck + tracker on loopback', () => {
  let a: Listener;
  let b: Listener;
  before(async () => {
    a = await listen();
    b = await listen();
  });
  after(async () => {
    await close(a);
    await close(b);
  });

  it('probes a shared real once per interval, fans results out, follows a listener going away', async () => {
    const snapshot: Snapshot = {
      global: {} as Snapshot['global'],
      services: [service(1, [a.port, b.port], 2), service(2, [a.port, b.port], 2), service(3, [a.port, b.port], 1)],
      files: [],
      hash: 'it',
    };
    const plan = buildProbePlan(snapshot);
    assert.equal(plan.size, 2, 'three services x two reals = two distinct probes');
    assert.ok([...plan.values()].every((e) => e.members.length === 3));

    const tracker = new HealthTracker();
    tracker.update(plan, Date.now());
    const events: HealthEvent[] = [];
    const started = new Map<string, number>();
    const portOfKey = new Map([...plan].map(([k, e]) => [k, e.target.spec.port]));
    const check = (target: CheckTarget, signal: AbortSignal): Promise<CheckResult> => {
      started.set(String(target.spec.port), (started.get(String(target.spec.port)) ?? 0) + 1);
      return runCheck(target, signal);
    };
    const scheduler = new Scheduler({
      check,
      maxConcurrent: 8,
      onResult: (key, result) => {
        assert.ok(portOfKey.has(key));
        events.push(...tracker.record(key, result, Date.now()));
      },
    });
    try {
      scheduler.update(plan);
      await waitFor('every pair up', () => tracker.unknownCount === 0 && [...tracker.entries()].every((e) => e.health.state === 'up'));
      assert.equal(events.filter((e) => e.from === 'unknown' && e.to === 'up').length, 6);

      await close(b);
      await waitFor('every pair of the closed listener down', () => [...tracker.entries()].filter((e) => e.realKey.endsWith(`:${b.port}`)).every((e) => e.health.state === 'down'));
      const downs = events.filter((e) => e.to === 'down');
      assert.deepEqual(downs.map((e) => e.realKey).sort(), Array(3).fill(`127.0.0.1:${b.port}`));
      // A check racing the close may see a reset instead of a refusal; both are honest failures.
      for (const e of downs) assert.ok(e.result.code === 'refused' || e.result.code === 'reset', e.reason);
      // svc3 has fall 1, so it went down on the first refused result, before the others.
      assert.equal(downs[0]!.serviceKey, 'tcp:192.0.2.3:80');
      for (const e of [...tracker.entries()].filter((x) => x.realKey.endsWith(`:${a.port}`))) assert.equal(e.health.state, 'up');
    } finally {
      await scheduler.stop();
    }
    await waitFor('listener saw every connection', () => a.accepted >= (started.get(String(a.port)) ?? 0) - 1);
    const stats = scheduler.stats();
    assert.equal(stats.inFlight, 0);
    assert.equal(stats.started, stats.completed + stats.aborted);
    // One connection per run of the shared probe, not one per service listing it.
    assert.ok(a.accepted <= started.get(String(a.port))!, `${a.accepted} connections for ${started.get(String(a.port))} checks`);
  });
});
