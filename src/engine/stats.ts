// The scheduler counters of several check threads as one: counters and gauges summed, the lag the
// worst thread's, the start-delay histogram added bucket by bucket. A thread that died leaves its
// counters behind (retired), so a restart never makes a counter go down.

import { START_DELAY_BOUNDS_MS } from '../scheduler/types.js';
import type { SchedulerStats } from '../scheduler/types.js';

type Scalars = { -readonly [K in Exclude<keyof SchedulerStats, 'startDelay'>]: number };

/** Every scalar counter and gauge at zero: the start of a sum, and of the empty stats. */
function zeros(): Scalars {
  return {
    probes: 0,
    started: 0,
    completed: 0,
    aborted: 0,
    inFlight: 0,
    queued: 0,
    maxQueueDepth: 0,
    queuedTotal: 0,
    queueWaitMsTotal: 0,
    overruns: 0,
    delayed: 0,
    lateTimeouts: 0,
    lagMs: 0,
  };
}

export const EMPTY_STATS: SchedulerStats = Object.freeze({
  ...zeros(),
  startDelay: { counts: new Float64Array(START_DELAY_BOUNDS_MS.length + 1), sumMs: 0, count: 0 },
});

/** Only the counters of `s` (what a dead thread leaves); gauges are zero. */
export function countersOf(s: SchedulerStats): SchedulerStats {
  return { ...s, probes: 0, inFlight: 0, queued: 0, lagMs: 0 };
}

/**
 * Sum of several threads' stats. `maxQueueDepth` is the largest of them (each thread has its own
 * queue); `lagMs` the worst.
 */
export function sumStats(all: readonly SchedulerStats[]): SchedulerStats {
  const counts = new Float64Array(START_DELAY_BOUNDS_MS.length + 1);
  let sumMs = 0;
  let count = 0;
  const out = zeros();
  for (const s of all) {
    out.probes += s.probes;
    out.started += s.started;
    out.completed += s.completed;
    out.aborted += s.aborted;
    out.inFlight += s.inFlight;
    out.queued += s.queued;
    out.maxQueueDepth = Math.max(out.maxQueueDepth, s.maxQueueDepth);
    out.queuedTotal += s.queuedTotal;
    out.queueWaitMsTotal += s.queueWaitMsTotal;
    out.overruns += s.overruns;
    out.delayed += s.delayed;
    out.lateTimeouts += s.lateTimeouts;
    out.lagMs = Math.max(out.lagMs, s.lagMs);
    for (let i = 0; i < counts.length; i++) counts[i]! += s.startDelay.counts[i] ?? 0;
    sumMs += s.startDelay.sumMs;
    count += s.startDelay.count;
  }
  return { ...out, startDelay: { counts, sumMs, count } };
}
