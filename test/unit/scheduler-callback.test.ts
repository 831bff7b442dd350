// Scheduler with a callback checker (options.start, the check engine's hot path): a result given
// before the start call returns, or inside an abort the scheduler made, is taken after that call,
// as a promise's would be: no re-entry, no stack growth, removed probes' results discarded.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckResult, CheckStarter } from '../../src/checks/types.js';
import type { CheckSpec } from '../../src/config/model.js';
import type { ProbePlan, ProbePlanEntry } from '../../src/scheduler/probe-key.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';

const OK: CheckResult = { up: true, code: 'ok', reason: 'ok', latencyMs: 1 };
const ABORTED: CheckResult = { up: false, code: 'error', reason: 'cancelled', latencyMs: 0 };

function entry(host: string): ProbePlanEntry {
  const spec = { type: 'tcp', intervalMs: 60_000, timeoutMs: 100, rise: 1, fall: 1, port: 80, send: null, expect: null } as CheckSpec;
  return {
    target: { address: { host, family: 4, port: 80 }, spec, context: { serviceName: 's', vip: null, fwmark: null, protocol: 'tcp' } },
    members: [{ serviceKey: 's', realKey: `${host}:80`, rise: 1, fall: 1 }],
  };
}

function plan(hosts: readonly string[]): ProbePlan {
  return new Map(hosts.map((h) => [h, entry(h)]));
}

/** A promise and the function that resolves it once `n` calls have come. */
function countdown(n: number): { reached: Promise<void>; tick: () => void } {
  let resolve!: () => void;
  const reached = new Promise<void>((r) => (resolve = r));
  let left = n;
  return { reached, tick: () => (--left === 0 ? resolve() : undefined) };
}

describe('Scheduler with a callback checker', () => {
  it('a result given inside start is taken after it: 5,000 at once under a cap of 1 neither nest nor overflow the stack', { timeout: 60_000 }, async () => {
    const n = 5000;
    let depth = 0;
    let maxDepth = 0;
    let calls = 0;
    const start: CheckStarter = (_target, _signal, done) => {
      // The first check ends later, so the others queue behind it; every other one ends at once.
      if (calls++ === 0) return void setImmediate(() => done(OK));
      depth++;
      maxDepth = Math.max(maxDepth, depth);
      done(OK);
      depth--;
    };
    const all = countdown(n);
    const seen = new Set<string>();
    const scheduler = new Scheduler({
      check: () => Promise.reject(new Error('the promise path must not be used when start is given')),
      start,
      maxConcurrent: 1,
      random: () => 0,
      onResult: (key, result) => {
        assert.deepEqual(result, OK);
        seen.add(key);
        all.tick();
      },
    });
    scheduler.update(plan(Array.from({ length: n }, (_, i) => `10.0.${i >> 8}.${i & 255}`)));
    await all.reached;
    assert.equal(seen.size, n, 'every probe reported once');
    assert.equal(maxDepth, 1, 'start was never entered from inside start');
    assert.equal(scheduler.stats().completed, n);
    await scheduler.stop();
  });

  it('checks that end at their abort (update, stop) report after it: removed probes discarded, nothing starts after stop', async () => {
    const starts: string[] = [];
    const results: string[] = [];
    const twoRunning = countdown(2);
    const fourStarted = countdown(4);
    let stopCalled = false;
    let startsAfterStop = 0;
    const start: CheckStarter = (target, signal, done) => {
      if (stopCalled) startsAfterStop++;
      starts.push(target.address.host);
      // Never ends by itself: only the scheduler's abort ends it, and synchronously.
      signal.addEventListener('abort', () => done(ABORTED), { once: true });
      twoRunning.tick();
      fourStarted.tick();
    };
    const scheduler = new Scheduler({
      check: () => Promise.reject(new Error('unused')),
      start,
      maxConcurrent: 2,
      random: () => 0,
      onResult: (key) => results.push(key),
    });
    scheduler.update(plan(['a', 'b', 'c', 'd']));
    await twoRunning.reached;
    assert.deepEqual(starts, ['a', 'b']);
    // a and b end inside this call; c and d get their slots after it.
    scheduler.update(plan(['c', 'd']));
    await fourStarted.reached;
    assert.deepEqual(starts, ['a', 'b', 'c', 'd']);
    assert.deepEqual(results, [], 'the removed probes reported nothing');
    stopCalled = true;
    await scheduler.stop();
    assert.equal(startsAfterStop, 0, 'no check started during or after stop');
    assert.deepEqual(results, []);
    const s = scheduler.stats();
    assert.equal(s.aborted, 4);
    assert.equal(s.inFlight, 0);
  });
});
