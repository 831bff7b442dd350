// The check engine as the daemon sees it, wherever its checks run: on worker threads (the default)
// or on the control thread itself (`check_threads: 0`, and `lvsd plan`/tests that want one loop).
// The two implementations share the message protocol, the thread-side core and the control side,
// and one contract test (test/integration/check-engine-contract.test.ts) runs the same scenarios on
// both. create-engine.ts builds one.

import type { Logger } from '../log.js';
import type { ProbePlan } from '../scheduler/probe-key.js';
import type { SchedulerStats } from '../scheduler/types.js';
import type { TrackedReal } from '../health/tracker.js';
import type { EngineHooks, HealthReader } from './control-side.js';

export interface CheckEngine {
  /** Health as the engine last reported it (status, metrics, announcer, the first-round gate). */
  readonly health: HealthReader;
  /** Health for the reconciler: `health`, except that a dead thread's pairs hold their last state. */
  boardEntries(): Iterable<Pick<TrackedReal, 'serviceKey' | 'realKey' | 'health'>>;
  /** Start the threads (building the engine starts nothing); a plan given before waits for it. */
  start(): void;
  /**
   * Resolves once every check thread has loaded its modules and listens for its plan (at once on
   * the control thread), or once one of them died first. The first-round deadline counts from
   * here: loading a thread's checkers takes seconds under an emulator, and that is not the checks'
   * time to answer.
   */
  checking(): Promise<void>;
  /** Adopt a new probe plan: surviving probe keys keep their health and timers. */
  update(plan: ProbePlan): void;
  /**
   * Bring `health` up to date with every result (last reason, counters): the threads send those only
   * when asked, for /status. Resolves when they answered, or after `timeoutMs` with what there is.
   */
  refresh(timeoutMs?: number): Promise<void>;
  /** The scheduler counters of every thread, summed (engine/stats.ts). */
  stats(): SchedulerStats;
  /** Check threads configured (0 = the control thread runs the checks). */
  readonly threads: number;
  /** Check threads restarted after they died, since start. */
  readonly restarts: number;
  /** Abort every check (MISC process groups killed), end the threads; resolves when done or after `budgetMs`. */
  stop(budgetMs?: number): Promise<void>;
}

export interface EngineOptions {
  readonly threads: number;
  /** max_concurrent_checks: shared out over the threads. */
  readonly maxConcurrent: number;
  readonly logger: Logger;
  readonly hooks: EngineHooks;
  /** Routine batch period (protocol.ts FLUSH_MS by default). */
  readonly flushMs?: number;
  /** Tests of the restart path: threads accept the `crash` message. */
  readonly testHooks?: boolean;
  /** First restart delay after a thread died (doubles up to 30 s); default 1 s. */
  readonly restartDelayMs?: number;
}

/** Checks due within the same 10 ms start together: ~100 wake-ups a second instead of one per check. */
export const COALESCE_MS = 10;

/** Each thread's share of max_concurrent_checks (at least 1). */
export function shareOf(maxConcurrent: number, threads: number): number {
  return Math.max(1, Math.ceil(maxConcurrent / Math.max(1, threads)));
}
