// lvsd's own lateness: the loop-lag stall clock (injected clock and timers), and the scheduler
// judging timeouts by it and adapting admission (mock timers, a fake lag source).

import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckResult, CheckTarget } from '../../src/checks/types.js';
import type { CheckSpec } from '../../src/config/model.js';
import { LoopLagMonitor } from '../../src/loop-lag.js';
import type { LagSource } from '../../src/loop-lag.js';
import type { ProbePlan } from '../../src/scheduler/probe-key.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import type { OverloadInfo } from '../../src/scheduler/types.js';

const OK: CheckResult = { up: true, code: 'ok', reason: 'ok', latencyMs: 1 };
const TIMEOUT: CheckResult = { up: false, code: 'timeout', reason: 'timed out after 100 ms', latencyMs: 100 };

function plan(n: number, intervalMs: number, timeoutMs: number): ProbePlan {
  const spec = { type: 'tcp', intervalMs, timeoutMs, rise: 1, fall: 1, port: 80, send: null, expect: null } as CheckSpec;
  return new Map(
    Array.from({ length: n }, (_, i) => {
      const host = `10.0.0.${i}`;
      return [host, { target: { address: { host, family: 4, port: 80 }, spec, context: { serviceName: 's', vip: null, fwmark: null, protocol: 'tcp' } }, members: [{ serviceKey: 's', realKey: `${host}:80`, rise: 1, fall: 1 }] }];
    }),
  );
}

class FakeLag implements LagSource {
  stalled = 0;
  stalledMs(): number {
    return this.stalled;
  }
  lagMs(): number {
    return 0;
  }
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 4; i++) await new Promise<void>((r) => setImmediate(r));
};
async function advance(ms: number): Promise<void> {
  mock.timers.tick(0);
  await flush();
  for (let i = 0; i < ms; i++) {
    mock.timers.tick(1);
    await flush();
  }
}

describe('LoopLagMonitor (injected clock and timers)', () => {
  it('accumulates stalls beyond period + jitter, including the one in progress', () => {
    let clock = 0;
    let fire: (() => void) | null = null;
    const m = new LoopLagMonitor({ periodMs: 50, jitterMs: 10, now: () => clock, setTimer: (fn) => ((fire = fn), {}), clearTimer: () => (fire = null) });
    m.start();
    clock = 55; // on time (5 ms of jitter)
    fire!();
    assert.equal(m.stalledMs(clock), 0);
    clock = 355; // a 300 ms gap: 240 ms stalled
    assert.equal(m.stalledMs(clock), 240, 'the stall in progress counts before its tick');
    fire!();
    assert.equal(m.stalledMs(clock), 240);
    assert.equal(m.lagMs(), 240);
    m.stop();
    assert.equal(fire, null);
  });
});

describe('Scheduler and lvsd lateness (mock timers, fake lag source)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 }));
  afterEach(() => mock.timers.reset());

  function harness(options: { n: number; intervalMs: number; timeoutMs: number; maxConcurrent?: number; check: (key: string, call: number) => { afterMs: number; result: CheckResult; stallMs?: number } }) {
    const lag = new FakeLag();
    const results: { key: string; at: number; result: CheckResult }[] = [];
    const overloads: OverloadInfo[] = [];
    const calls = new Map<string, number>();
    let inFlight = 0;
    let maxInFlight = 0;
    const scheduler = new Scheduler({
      check: (target: CheckTarget, signal: AbortSignal): Promise<CheckResult> => {
        const key = target.address.host;
        const call = (calls.get(key) ?? 0) + 1;
        calls.set(key, call);
        const plan = options.check(key, call);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        return new Promise((resolve) => {
          const onAbort = (): void => {
            clearTimeout(timer);
            inFlight--;
            resolve({ up: false, code: 'error', reason: 'cancelled', latencyMs: 0 });
          };
          const timer = setTimeout(() => {
            signal.removeEventListener('abort', onAbort);
            lag.stalled += plan.stallMs ?? 0;
            inFlight--;
            resolve(plan.result);
          }, plan.afterMs);
          signal.addEventListener('abort', onAbort, { once: true });
        });
      },
      maxConcurrent: options.maxConcurrent ?? 100,
      onResult: (key, result) => results.push({ key, at: Date.now(), result }),
      now: () => Date.now(),
      random: () => 0,
      lag,
      onOverload: (info) => overloads.push(info),
    });
    scheduler.update(plan(options.n, options.intervalMs, options.timeoutMs));
    return { scheduler, lag, results, overloads, calls, inFlight: () => inFlight, maxInFlight: () => maxInFlight };
  }

  it('regression: a timeout that fired while lvsd was stalled is no longer reported as the real\'s failure; the check is re-run', async () => {
    // First run: the timeout fires after 100 ms of which lvsd was stalled 80 ms (CPU starvation).
    const h = harness({ n: 1, intervalMs: 1000, timeoutMs: 100, check: (_k, call) => (call === 1 ? { afterMs: 100, result: TIMEOUT, stallMs: 80 } : { afterMs: 5, result: OK }) });
    await advance(200);
    assert.deepEqual(h.results.map((r) => r.result.code), ['ok'], 'only the fair result reached health');
    assert.equal(h.calls.get('10.0.0.0'), 2, 're-run at once');
    assert.equal(h.scheduler.stats().lateTimeouts, 1);
    await h.scheduler.stop();
  });

  it('a timeout with the process responsive (stall within tolerance) still counts', async () => {
    const h = harness({ n: 1, intervalMs: 1000, timeoutMs: 1000, check: () => ({ afterMs: 1000, result: TIMEOUT, stallMs: 50 }) });
    await advance(1100);
    assert.deepEqual(h.results.map((r) => r.result.code), ['timeout']);
    assert.equal(h.scheduler.stats().lateTimeouts, 0);
    await h.scheduler.stop();
  });

  it('checks that start late because lvsd cannot keep up are counted and reported, and none fails for it', async () => {
    // 64 probes due at once, 8 slots, 400 ms per check: most start late (a lower effective rate).
    const h = harness({ n: 64, intervalMs: 1000, timeoutMs: 900, maxConcurrent: 8, check: () => ({ afterMs: 400, result: OK }) });
    await advance(3500);
    const stats = h.scheduler.stats();
    assert.ok(stats.delayed > 0, 'late starts are counted');
    assert.ok(h.overloads.length > 0, 'and reported to the caller (who throttles the warning)');
    assert.equal(h.overloads.at(-1)!.delayed, stats.delayed);
    assert.ok(h.maxInFlight() <= 8);
    assert.ok(h.results.length > 0 && h.results.every((r) => r.result.code === 'ok'), 'no check failed for it');
    // Start delays: 8 on time per round (bucket <= 1 ms), the others 400 ms or more behind.
    const d = stats.startDelay;
    assert.equal(d.count, stats.started);
    assert.equal(Array.from(d.counts).reduce((a, b) => a + b, 0), d.count);
    assert.ok(d.counts[0]! >= 8, 'the first 8 started on time');
    assert.equal(d.counts[1]! + d.counts[2]! + d.counts[3]! + d.counts[4]! + d.counts[5]! + d.counts[6]! + d.counts[7]!, 0, 'nothing between 1 and 200 ms late');
    assert.ok(d.sumMs >= (stats.started - 8 * 4) * 400, 'the queued ones count their wait');
    await h.scheduler.stop();
  });

  it('timeout >= interval: a probe never overlaps itself; the next run starts at the later of start+interval and the end of the previous run', async () => {
    // ldirectord's sample: checktimeout=3 with checkinterval=1. Runs take 2.5 s here.
    const h = harness({ n: 1, intervalMs: 1000, timeoutMs: 3000, check: (_k, call) => ({ afterMs: call % 2 === 1 ? 2500 : 200, result: OK }) });
    const starts: number[] = [];
    const orig = h.calls;
    await advance(0);
    starts.push(Date.now());
    let seen = 1;
    for (let t = 0; t < 6000; t++) {
      await advance(1);
      const c = orig.get('10.0.0.0')!;
      if (c > seen) {
        seen = c;
        starts.push(Date.now());
      }
    }
    // 0: runs to 2500 -> next at 2500 (end of run, later than 1000); 2500: runs to 2700 -> next at 3500 (start + interval).
    assert.deepEqual(starts.slice(0, 4), [0, 2500, 3500, 6000]);
    assert.equal(h.maxInFlight(), 1);
    await h.scheduler.stop();
  });
});
