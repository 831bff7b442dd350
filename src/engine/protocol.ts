// The messages between the control thread and a check engine thread: plain data (structured clone),
// no version (both sides are the same build), typed here once for both sides.
//
// What crosses, and how often (docs/behaviour.md "Check threads"):
// - to the thread: the probe plan of its partition after each start/reload; a request for the health
//   details of its pairs (when /status is asked for); stop; a test hook.
// - from the thread: after each plan, the whole health of its pairs and the first results the plan
//   gave; transitions and first results as soon as they happen (a `down` in the same turn, others at
//   the end of the turn) with the health of the pairs they moved; and every FLUSH_MS the routine
//   rest: each result as (probe index in the plan, code, latency) in typed arrays handed over
//   without a copy, not-run counts, internal errors and the scheduler's counters. The health
//   details of routine results (last reason, counters) stay on the thread until /status asks.

import type { CheckReasonCode } from '../checks/types.js';
import type { HealthDetails, HealthEvent } from '../health/tracker.js';
import type { ProbePlan } from '../scheduler/probe-key.js';
import type { SchedulerStats } from '../scheduler/types.js';

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
  /** Send the health details of every pair (answered with `details`). */
  | { readonly t: 'details' }
  | { readonly t: 'stop' }
  /** Test hook: throw from the thread's event loop (an uncaught error, as a bug would). */
  | { readonly t: 'crash' };

/** Reason codes of results as they cross (their index); not_run is counted apart. */
export const RESULT_CODES = [
  'ok', 'refused', 'reset', 'timeout', 'unreachable', 'tls', 'bad_status', 'body_mismatch', 'digest_mismatch',
  'banner_mismatch', 'dns_rcode', 'dns_answer_mismatch', 'dns_bad_response', 'exit_code', 'spawn_failed', 'not_run', 'error',
] as const satisfies readonly CheckReasonCode[];
// Every reason code has an index: a code added to CheckReasonCode and not here fails to compile.
true satisfies (CheckReasonCode extends (typeof RESULT_CODES)[number] ? true : never);

/** The results since the last batch, one per index: which probe (its place in the thread's plan), code, latency. */
export interface Results {
  readonly probe: Uint32Array;
  /** Index into RESULT_CODES. */
  readonly code: Uint8Array;
  readonly latencyMs: Float64Array;
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
  /** The health of the pairs the events moved (routine results' details stay on the thread). */
  readonly details: HealthDetails;
  /** Results since the last batch (not_run results excluded), probes indexed in the plan of `gen`. */
  readonly results: Results;
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
  | { readonly t: 'details'; readonly gen: number; readonly details: HealthDetails }
  | { readonly t: 'log'; readonly log: ThreadLog }
  | { readonly t: 'stopped' };

/** The thread's role marker in workerData. */
export const ENGINE_ROLE = 'lvsd-check-engine';
