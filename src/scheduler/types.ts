// The scheduler's contract: what it is given (SchedulerOptions), what it reports (SchedulerStats,
// OverloadInfo) and the buckets of its start-delay histogram. Apart from scheduler.ts so that the
// parts that only read its counters (the check engine's control side, metrics, status) import no
// scheduling code.

import type { CheckResult, CheckStarter, Checker } from '../checks/types.js';
import type { LagSource } from '../loop-lag.js';

export interface SchedulerOptions {
  /** Runs one check; production passes runCheck. Expected never to throw (a throw becomes a failed result). */
  readonly check: Checker;
  /**
   * The same checks by callback (production passes startCheck): used instead of `check` when
   * given. A result delivered while the scheduler is still inside the call (or inside an abort
   * it made) is taken in a microtask, as a promise's would be.
   */
  readonly start?: CheckStarter;
  /** Most checks in flight at once, across periodic probes and runOnce. */
  readonly maxConcurrent: number;
  /** Every completed periodic check (not those of runOnce, nor checks aborted by update/stop). */
  readonly onResult: (probeKey: string, result: CheckResult) => void;
  /** An exception thrown by onResult; the default rethrows it outside the scheduler (crash loudly). */
  readonly onError?: (err: unknown, probeKey: string) => void;
  /** Monotonic milliseconds; default performance.now. Tests pass Date.now under mock.timers. */
  readonly now?: () => number;
  /** [0, 1); default Math.random. Spreads new probes over their first interval. */
  readonly random?: () => number;
  /**
   * The process's own lateness (loop-lag.ts). With it, a timeout that fired while lvsd was stalled
   * is discarded and the check re-run, and admission adapts to the load. Without it (tests of
   * other logic, one-shot tools), neither happens.
   */
  readonly lag?: LagSource;
  /**
   * Called when lvsd cannot keep up: a check started late (more than 10 % of its interval, at
   * least 50 ms) or a timeout was discarded as late. Many times a second under load: the caller
   * throttles its warning.
   */
  readonly onOverload?: (info: OverloadInfo) => void;
  /**
   * Wake up on a grid of this many ms (default 0 = at each probe's due millisecond): a probe due
   * at 1,003 ms starts at 1,010 with every other probe due in (1,000, 1,010]. Each wake-up costs
   * a timer, a loop turn and an epoll round trip; with 1,000 probes a second spread at random that
   * is one per millisecond, the largest fixed cost per check after the connect itself. A probe's
   * rate is unchanged (its next due time is still due + interval); it just starts up to this late.
   */
  readonly coalesceMs?: number;
}

export interface OverloadInfo {
  /** Worst event-loop stall over the last second (ms). */
  readonly lagMs: number;
  readonly queued: number;
  readonly delayed: number;
  readonly lateTimeouts: number;
}

export interface SchedulerStats {
  /** Periodic probes in the current plan. */
  readonly probes: number;
  readonly started: number;
  readonly completed: number;
  /** Checks whose probe was removed (or the scheduler stopped) while they ran; results discarded. */
  readonly aborted: number;
  readonly inFlight: number;
  /** Checks waiting for a concurrency slot now, the most ever waiting, and how many ever waited. */
  readonly queued: number;
  readonly maxQueueDepth: number;
  readonly queuedTotal: number;
  readonly queueWaitMsTotal: number;
  /** Runs that finished after the probe's next start was due (the next run then starts at once). */
  readonly overruns: number;
  /** Periodic checks started later than due by more than 10 % of their interval (at least 50 ms). */
  readonly delayed: number;
  /** Timeouts discarded because lvsd itself was stalled during the check; the check was re-run. */
  readonly lateTimeouts: number;
  /** Worst event-loop stall over the last second (ms); 0 without a lag source. */
  readonly lagMs: number;
  /**
   * How late periodic checks started after their due time, counted per START_DELAY_BOUNDS_MS
   * bucket (not cumulative; the last slot is above the largest bound), with the sum in ms.
   * Kept only with a lag source (the daemon's), like `delayed`.
   */
  readonly startDelay: { readonly counts: ArrayLike<number>; readonly sumMs: number; readonly count: number };
}

/** Bucket bounds (ms) of SchedulerStats.startDelay: the grid's 10 ms, then what an operator would call late. */
export const START_DELAY_BOUNDS_MS: readonly number[] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];
