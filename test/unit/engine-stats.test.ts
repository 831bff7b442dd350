// The scheduler counters of several check threads as one (engine/stats.ts): what metrics and
// status show once checks run on more than one thread. Expectations are written out by hand.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMPTY_STATS, countersOf, sumStats } from '../../src/engine/stats.js';
import { START_DELAY_BOUNDS_MS } from '../../src/scheduler/types.js';
import type { SchedulerStats } from '../../src/scheduler/types.js';

function stats(n: number, lagMs: number, maxQueueDepth: number, bucket: number): SchedulerStats {
  const counts = new Float64Array(START_DELAY_BOUNDS_MS.length + 1);
  counts[bucket] = n;
  return {
    probes: n, started: n, completed: n, aborted: 1, inFlight: 2, queued: 3, maxQueueDepth,
    queuedTotal: 4, queueWaitMsTotal: 5, overruns: 6, delayed: 7, lateTimeouts: 8, lagMs,
    startDelay: { counts, sumMs: n * 10, count: n },
  };
}

describe('check-thread stats', () => {
  it('sums counters, keeps the worst lag and the deepest queue, adds the histograms bucket by bucket', () => {
    const s = sumStats([stats(100, 40, 9, 0), stats(50, 250, 3, 4)]);
    assert.equal(s.probes, 150);
    assert.equal(s.completed, 150);
    assert.equal(s.aborted, 2);
    assert.equal(s.inFlight, 4);
    assert.equal(s.queued, 6);
    assert.equal(s.lateTimeouts, 16);
    assert.equal(s.lagMs, 250);
    assert.equal(s.maxQueueDepth, 9);
    assert.equal(s.startDelay.counts[0], 100);
    assert.equal(s.startDelay.counts[4], 50);
    assert.equal(s.startDelay.sumMs, 1500);
    assert.equal(s.startDelay.count, 150);
  });

  it('a dead thread leaves its counters, not its gauges', () => {
    const c = countersOf(stats(100, 40, 9, 0));
    assert.equal(c.completed, 100);
    assert.equal(c.probes, 0);
    assert.equal(c.inFlight, 0);
    assert.equal(c.queued, 0);
    assert.equal(c.lagMs, 0);
  });

  it('no threads: all zero', () => {
    const s = sumStats([]);
    assert.deepEqual({ ...s, startDelay: null }, { ...EMPTY_STATS, startDelay: null });
    assert.equal(s.startDelay.counts.length, START_DELAY_BOUNDS_MS.length + 1);
  });
});
