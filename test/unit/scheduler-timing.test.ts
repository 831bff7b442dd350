// Scheduler under mock timers with a fake checker: jitter, fixed rate, overruns, cap, reload, abort, stop.

import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckResult, CheckTarget } from '../../src/checks/types.js';
import type { CheckSpec } from '../../src/config/model.js';
import type { ProbePlan, ProbePlanEntry } from '../../src/scheduler/probe-key.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import type { SchedulerOptions } from '../../src/scheduler/types.js';

const OK: CheckResult = { up: true, code: 'ok', reason: 'ok', latencyMs: 1 };
const BAD: CheckResult = { up: false, code: 'refused', reason: 'refused', latencyMs: 1 };

function entry(host: string, intervalMs: number): ProbePlanEntry {
  const spec = { type: 'tcp', intervalMs, timeoutMs: 100, rise: 1, fall: 1, port: 80, send: null, expect: null } as CheckSpec;
  return {
    target: { address: { host, family: 4, port: 80 }, spec, context: { serviceName: 's', vip: null, fwmark: null, protocol: 'tcp' } },
    members: [{ serviceKey: 's', realKey: `${host}:80`, rise: 1, fall: 1 }],
  };
}
/** Probe key = host, so the fake checker can tell probes apart. */
function plan(...probes: [string, number][]): ProbePlan {
  return new Map(probes.map(([host, interval]) => [host, entry(host, interval)]));
}

interface Call {
  key: string;
  at: number;
  signal: AbortSignal;
  abortedAtStart: boolean;
}

/** A checker whose run time per probe is set by the test and measured on the mocked clock. */
function harness(opts: { durationMs?: (key: string) => number; result?: (key: string) => CheckResult; maxConcurrent?: number; random?: () => number; extra?: Partial<SchedulerOptions> } = {}) {
  const calls: Call[] = [];
  const results: { key: string; at: number; result: CheckResult }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const check = (target: CheckTarget, signal: AbortSignal): Promise<CheckResult> => {
    const key = target.address.host;
    calls.push({ key, at: Date.now(), signal, abortedAtStart: signal.aborted });
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const d = opts.durationMs?.(key) ?? 0;
    return new Promise((resolve) => {
      const done = (r: CheckResult) => {
        inFlight--;
        resolve(r);
      };
      const r = opts.result?.(key) ?? OK;
      if (d === 0) return done(r);
      const timer = setTimeout(() => done(r), d);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        done({ up: false, code: 'timeout', reason: 'aborted', latencyMs: 0 });
      });
    });
  };
  const scheduler = new Scheduler({
    check,
    maxConcurrent: opts.maxConcurrent ?? 100,
    onResult: (key, result) => results.push({ key, at: Date.now(), result }),
    now: () => Date.now(),
    random: opts.random ?? (() => 0),
    ...opts.extra,
  });
  const startsOf = (key: string) => calls.filter((c) => c.key === key).map((c) => c.at);
  return { scheduler, calls, results, startsOf, maxInFlight: () => maxInFlight };
}

const flush = async () => {
  for (let i = 0; i < 4; i++) await new Promise<void>((r) => setImmediate(r));
};
/** Fire the timers due now (a 0 ms timeout is due at once on the mocked clock) and settle promises. */
async function settle() {
  mock.timers.tick(0);
  await flush();
}
/** Advance the mocked clock millisecond by millisecond, letting promise callbacks run in between. */
async function advance(ms: number) {
  await settle();
  for (let i = 0; i < ms; i++) {
    mock.timers.tick(1);
    await flush();
  }
}

describe('Scheduler timing (mock timers)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 }));
  afterEach(() => mock.timers.reset());

  it('spreads new probes over their first interval instead of starting all at once', async () => {
    let i = 0;
    const h = harness({ random: () => (i++ % 100) / 100 });
    h.scheduler.update(plan(...Array.from({ length: 100 }, (_, k): [string, number] => [`10.0.0.${k}`, 1000])));
    await settle();
    assert.ok(h.calls.length <= 1, 'at most the probe with jitter 0 runs at once');
    await advance(999);
    assert.equal(h.calls.length, 100, 'every probe ran once within its first interval');
    const starts = h.calls.map((c) => c.at);
    assert.equal(new Set(starts).size, 100, 'all at different times');
    assert.ok(starts.every((t) => t >= 0 && t < 1000));
    await h.scheduler.stop();
  });

  it('with coalesceMs, probes due within one grid slot start together at its end and keep their rate', async () => {
    const jitter = [0.001, 0.004, 0.0095, 0.0125];
    const h = harness({ random: () => jitter.shift() ?? 0, extra: { coalesceMs: 5 } });
    let timers = 0;
    const realSetTimeout = globalThis.setTimeout;
    mock.method(globalThis, 'setTimeout', (fn: () => void, ms: number) => {
      timers++;
      return realSetTimeout(fn, ms);
    });
    h.scheduler.update(plan(['a', 1000], ['b', 1000], ['c', 1000], ['d', 1000]));
    await advance(2015);
    // Due at 1, 4, 9.5 and 12.5 ms: the slots (0, 5], (5, 10] and (10, 15].
    assert.deepEqual(h.startsOf('a'), [5, 1005, 2005]);
    assert.deepEqual(h.startsOf('b'), [5, 1005, 2005]);
    assert.deepEqual(h.startsOf('c'), [10, 1010, 2010]);
    assert.deepEqual(h.startsOf('d'), [15, 1015, 2015]);
    // One per slot with probes in it (3 a round, 3 rounds) and the one armed for the next round;
    // without the grid it would be 4 a round (due at 1, 4, 10 and 13 ms).
    assert.equal(timers, 10, 'one timer per slot with probes in it');
    assert.equal(h.scheduler.stats().delayed, 0);
    await h.scheduler.stop();
  });

  it('runs at a fixed rate from the previous start (like ldirectord checkinterval)', async () => {
    const h = harness({ durationMs: () => 300 });
    h.scheduler.update(plan(['a', 1000]));
    await advance(3500);
    assert.deepEqual(h.startsOf('a'), [0, 1000, 2000, 3000]);
    assert.deepEqual(h.results.map((r) => r.at), [300, 1300, 2300, 3300]);
    assert.equal(h.scheduler.stats().overruns, 0);
    await h.scheduler.stop();
  });

  it('fractional-second intervals work', async () => {
    const h = harness();
    h.scheduler.update(plan(['a', 250]));
    await advance(1000);
    assert.deepEqual(h.startsOf('a'), [0, 250, 500, 750, 1000]);
    await h.scheduler.stop();
  });

  it('an overrunning check never overlaps itself; the next run starts right after it', async () => {
    const h = harness({ durationMs: () => 2500 });
    h.scheduler.update(plan(['a', 1000]));
    await advance(5200);
    assert.deepEqual(h.startsOf('a'), [0, 2500, 5000]);
    assert.equal(h.maxInFlight(), 1);
    assert.equal(h.scheduler.stats().overruns, 2);
    await h.scheduler.stop();
  });

  it('caps concurrency with a FIFO queue and counts queue waits', async () => {
    const h = harness({ durationMs: () => 100, maxConcurrent: 2 });
    h.scheduler.update(plan(['a', 1000], ['b', 1000], ['c', 1000], ['d', 1000], ['e', 1000]));
    await settle();
    assert.deepEqual(h.scheduler.stats().queued, 3);
    await advance(300);
    assert.deepEqual(h.calls.map((c) => `${c.key}@${c.at}`), ['a@0', 'b@0', 'c@100', 'd@100', 'e@200']);
    assert.equal(h.maxInFlight(), 2);
    const s = h.scheduler.stats();
    assert.equal(s.queued, 0);
    assert.equal(s.maxQueueDepth, 3);
    assert.equal(s.queuedTotal, 3);
    assert.equal(s.queueWaitMsTotal, 100 + 100 + 200);
    assert.equal(s.started, 5);
    assert.equal(s.completed, 5);
    assert.equal(s.inFlight, 0);
    await h.scheduler.stop();
  });

  it('a probe whose last result failed gets a slot ahead of routine checks waiting before it (detection degrades last)', async () => {
    // One slot, five probes due together each round; `e` (last in plan order) fails.
    const h = harness({ durationMs: () => 10, maxConcurrent: 1, result: (key) => (key === 'e' ? BAD : OK) });
    h.scheduler.update(plan(['a', 1000], ['b', 1000], ['c', 1000], ['d', 1000], ['e', 1000]));
    await advance(1100);
    const round = (from: number, to: number) => h.calls.filter((c) => c.at >= from && c.at < to).map((c) => c.key);
    assert.deepEqual(round(0, 1000), ['a', 'b', 'c', 'd', 'e'], 'first round: no result yet, plan order');
    // `a` takes the free slot as the round fires; of the four that must wait, the failing one goes first.
    assert.deepEqual(round(1000, 1100), ['a', 'e', 'b', 'c', 'd'], 'the failing probe ahead of the routine ones queued before it');
    await h.scheduler.stop();
  });

  it('a queued probe keeps its rate from its due time, not from when it got a slot', async () => {
    const h = harness({ durationMs: () => 100, maxConcurrent: 1 });
    h.scheduler.update(plan(['a', 1000], ['b', 1000]));
    await advance(2150);
    assert.deepEqual(h.startsOf('b'), [100, 1100, 2100]);
    await h.scheduler.stop();
  });

  it('update keeps the phase of surviving probes and jitters only new ones', async () => {
    const jitter = [0.3, 0.5];
    const h = harness({ random: () => jitter.shift() ?? 0 });
    h.scheduler.update(plan(['a', 1000]));
    await advance(1000);
    assert.deepEqual(h.startsOf('a'), [300]);
    h.scheduler.update(plan(['a', 1000], ['b', 1000]));
    await advance(1000);
    assert.deepEqual(h.startsOf('a'), [300, 1300], 'a kept its phase across the reload');
    assert.deepEqual(h.startsOf('b'), [1500], 'b started half way into its first interval');
    assert.equal(h.scheduler.stats().probes, 2);
    await h.scheduler.stop();
  });

  it('a removed probe stops, its running check is aborted and its result discarded', async () => {
    const h = harness({ durationMs: () => 500 });
    h.scheduler.update(plan(['a', 1000], ['b', 1000]));
    await advance(100);
    const running = h.calls.find((c) => c.key === 'a')!;
    h.scheduler.update(plan(['b', 1000]));
    assert.equal(running.signal.aborted, true);
    await advance(3000);
    assert.deepEqual(h.startsOf('a'), [0]);
    assert.deepEqual(h.startsOf('b'), [0, 1000, 2000, 3000]);
    assert.ok(h.results.every((r) => r.key === 'b'));
    const s = h.scheduler.stats();
    assert.equal(s.aborted, 1);
    assert.equal(s.probes, 1);
    await h.scheduler.stop();
  });

  it('a removed queued probe never starts', async () => {
    const h = harness({ durationMs: () => 100, maxConcurrent: 1 });
    h.scheduler.update(plan(['a', 1000], ['b', 1000]));
    await settle();
    h.scheduler.update(plan(['a', 1000]));
    assert.equal(h.scheduler.stats().queued, 0);
    await advance(500);
    assert.deepEqual(h.startsOf('b'), []);
    await h.scheduler.stop();
  });

  it('stop aborts in-flight checks, clears the timer and resolves once they returned', async () => {
    const h = harness({ durationMs: () => 500 });
    h.scheduler.update(plan(['a', 1000], ['b', 1000]));
    await advance(10);
    let stopped = false;
    const done = h.scheduler.stop().then(() => (stopped = true));
    assert.ok(h.calls.every((c) => c.signal.aborted));
    await flush();
    await done;
    assert.equal(stopped, true);
    await advance(3000);
    assert.equal(h.calls.length, 2, 'no check after stop');
    assert.equal(h.results.length, 0);
    assert.throws(() => h.scheduler.update(plan(['a', 1000])), /stopped/);
    await h.scheduler.stop(); // idempotent
  });

  it('runOnce runs every probe once under the cap and resolves in plan order', async () => {
    const h = harness({ durationMs: (k) => (k === 'a' ? 300 : 100), maxConcurrent: 2 });
    const p = h.scheduler.runOnce(plan(['a', 1000], ['b', 1000], ['c', 1000], ['d', 1000]));
    await advance(400);
    const got = await p;
    assert.deepEqual([...got.keys()], ['a', 'b', 'c', 'd']);
    assert.ok([...got.values()].every((r) => r.up));
    assert.equal(h.maxInFlight(), 2);
    assert.equal(h.results.length, 0, 'runOnce does not feed onResult');
    await h.scheduler.stop();
  });

  it('runOnce jobs still queued when the scheduler stops resolve as not run', async () => {
    const h = harness({ durationMs: () => 100, maxConcurrent: 1 });
    const p = h.scheduler.runOnce(plan(['a', 1000], ['b', 1000]));
    await flush();
    await h.scheduler.stop();
    const got = await p;
    assert.equal(got.get('a')!.reason, 'aborted');
    assert.deepEqual(got.get('b'), { up: false, code: 'error', reason: 'not run: scheduler stopped', latencyMs: 0 });
  });

  it('a checker that throws or rejects becomes a failed result and scheduling goes on', async () => {
    const results: CheckResult[] = [];
    let n = 0;
    const scheduler = new Scheduler({
      check: () => {
        n++;
        if (n === 1) throw new Error('boom');
        return Promise.reject(new Error('bang'));
      },
      maxConcurrent: 1,
      onResult: (_k, r) => results.push(r),
      now: () => Date.now(),
      random: () => 0,
    });
    scheduler.update(plan(['a', 100]));
    await advance(100);
    assert.deepEqual(results.map((r) => [r.up, r.code, r.reason]), [
      [false, 'error', 'check threw: boom'],
      [false, 'error', 'check threw: bang'],
    ]);
    await scheduler.stop();
  });

  it('an exception from onResult goes to onError and does not stop the probe', async () => {
    const errors: string[] = [];
    const h = harness({
      extra: {
        onResult: () => {
          throw new Error('tracker bug');
        },
        onError: (err, key) => errors.push(`${key}: ${(err as Error).message}`),
      },
    });
    h.scheduler.update(plan(['a', 100]));
    await advance(200);
    assert.deepEqual(h.startsOf('a'), [0, 100, 200]);
    assert.deepEqual(errors, ['a: tracker bug', 'a: tracker bug', 'a: tracker bug']);
    await h.scheduler.stop();
  });

  it('reuses abort signals only while clean: a check never starts with an aborted signal', async () => {
    const h = harness({ durationMs: () => 50, maxConcurrent: 1 });
    h.scheduler.update(plan(['a', 100], ['b', 100]));
    await advance(10);
    h.scheduler.update(plan(['b', 100])); // aborts a's running check
    await advance(300);
    const later = h.calls.slice(1);
    assert.ok(later.length >= 3);
    assert.ok(later.every((c) => c.key === 'b'));
    assert.ok(later.every((c) => !c.abortedAtStart), 'no aborted signal was handed to a later check');
    assert.equal(h.calls[0]!.signal.aborted, true);
    assert.ok(later.every((c) => c.signal !== h.calls[0]!.signal), 'the aborted controller was not pooled');
    assert.ok(later.some((c, i) => i > 0 && c.signal === later[0]!.signal), 'clean controllers are reused');
    await h.scheduler.stop();
  });
});
