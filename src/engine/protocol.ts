// The messages between the control thread and a check engine thread: plain data (structured clone),
// no version (both sides are the same build), typed here once for both sides.
//
// What crosses, and how often (README "Check threads"):
// - to the thread: the probe plan of its partition after each start/reload; stop; a test hook.
// - from the thread: after each plan, the whole health of its pairs and the first results the plan
//   gave; then batches: health transitions and first results as soon as they happen (a `down` in
//   the same turn, others within the event-loop turn), and every FLUSH_MS the rest: the health
//   details of the pairs checked since the last batch (for status), result counts per (probe,
//   code) with their latencies, not-run counts, internal errors and the scheduler's counters.

import type { HealthDetails, HealthEvent } from '../health/tracker.js';
import type { ProbePlan } from '../scheduler/probe-key.js';
import type { SchedulerStats } from '../scheduler/scheduler.js';

/** Routine batches: often enough for status and metrics, rare enough to cost nothing per check. */
export const FLUSH_MS = 500;

/** What a thread needs at start (workerData). */
export interface ThreadConfig {
  readonly role: 'lvsd-check-engine';
  /** Which thread of the pool (for logs). */
  readonly index: number;
  /** This thread's share of max_concurrent_checks. */
  readonly maxConcurrent: number;
  readonly coalesceMs: number;
  readonly flushMs: number;
  /** The MISC run tag prefix of this thread (escapees.ts): its commands can be found if it dies. */
  readonly runTagPrefix: string;
  /** Accept the `crash` message (tests of the restart path only). */
  readonly testHooks: boolean;
}

export type ToThread =
  | { readonly t: 'plan'; readonly gen: number; readonly plan: ProbePlan }
  | { readonly t: 'stop' }
  /** Test hook: throw from the thread's event loop (an uncaught error, as a bug would). */
  | { readonly t: 'crash' };

/** Results of one probe since the last batch: counts by reason code, and every latency (ms). */
export interface ProbeTally {
  readonly codes: Record<string, number>;
  readonly latencies: number[];
}

/** A log line from the thread (it has no logger of its own); already throttled there. */
export interface ThreadLog {
  readonly level: 'info' | 'warn' | 'error';
  readonly fields: Record<string, unknown>;
  readonly msg: string;
}

export interface Batch {
  readonly t: 'batch';
  /** The plan generation the thread had when it built this batch. */
  readonly gen: number;
  readonly events: readonly HealthEvent[];
  readonly details: HealthDetails;
  /** Probe key -> its results since the last batch (not_run results excluded). */
  readonly tallies: ReadonlyMap<string, ProbeTally>;
  /** not_run results by errno, and one of them for the log line. */
  readonly notRun: ReadonlyMap<string, number>;
  readonly notRunSample: { readonly probe: string; readonly code: string; readonly reason: string } | null;
  /** Checker exceptions turned into results since the last batch, by check type. */
  readonly internalErrors: ReadonlyMap<string, number>;
  /** The thread's scheduler counters (cumulative since the thread started). */
  readonly stats: SchedulerStats;
}

export type FromThread =
  | { readonly t: 'ready' }
  | { readonly t: 'planned'; readonly gen: number; readonly details: HealthDetails; readonly events: readonly HealthEvent[] }
  | Batch
  | { readonly t: 'log'; readonly log: ThreadLog }
  | { readonly t: 'stopped' };

/** The thread's role marker in workerData. */
export const ENGINE_ROLE = 'lvsd-check-engine';
