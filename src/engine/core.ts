// The check engine itself, on the thread that runs the checks: scheduler, rise/fall tracker and the
// loop-lag clock of THIS thread (lateness and "late timeouts are re-run" are judged where the timers
// run), and the batching of what goes to the control thread (protocol.ts). It imports no logger,
// metrics or config parser: a worker thread running it loads the checkers and little else.

import type { Checker, CheckResult } from '../checks/types.js';
import { checkInternalErrors } from '../checks/boundary.js';
import { HealthTracker } from '../health/tracker.js';
import type { HealthEvent } from '../health/tracker.js';
import { LoopLagMonitor } from '../loop-lag.js';
import type { ProbePlan } from '../scheduler/probe-key.js';
import { Scheduler } from '../scheduler/scheduler.js';
import type { FromThread, ProbeTally, ThreadLog } from './protocol.js';

export interface CoreOptions {
  readonly check: Checker;
  readonly maxConcurrent: number;
  readonly coalesceMs: number;
  readonly flushMs: number;
  /** Where messages go: the thread's port, or the control side directly (check_threads: 0). */
  readonly post: (message: FromThread) => void;
  /**
   * Send the checkers' caught exceptions along (a worker thread: its counts are its own). False on
   * the control thread, whose counts the metrics read directly.
   */
  readonly reportInternalErrors: boolean;
}

/** Overload warnings at most this often per thread. */
const OVERLOAD_LOG_MS = 10_000;
const NOT_RUN_LOG_MS = 10_000;

export class EngineCore {
  readonly #o: CoreOptions;
  readonly #tracker = new HealthTracker();
  readonly #lag = new LoopLagMonitor();
  readonly #scheduler: Scheduler;
  #gen = 0;
  #events: HealthEvent[] = [];
  #tallies = new Map<string, ProbeTally>();
  #notRun = new Map<string, number>();
  #notRunSample: { probe: string; code: string; reason: string } | null = null;
  /** checkInternalErrors() as last reported: batches carry the difference. */
  readonly #internalSent = new Map<string, number>();
  #flushTimer: ReturnType<typeof setInterval> | null = null;
  #soon: ReturnType<typeof setImmediate> | null = null;
  #stopped = false;
  #overloadAt = -Infinity;
  #overloadFolded = 0;
  #notRunAt = -Infinity;
  #notRunFolded = 0;

  constructor(options: CoreOptions) {
    this.#o = options;
    this.#tracker.trackChanges();
    this.#lag.start();
    this.#scheduler = new Scheduler({
      check: options.check,
      maxConcurrent: options.maxConcurrent,
      // Checks due within the same slot start together (bench/results/checks-peer.md).
      coalesceMs: options.coalesceMs,
      lag: this.#lag,
      onOverload: (info) =>
        this.#throttledOverload({
          level: 'warn',
          fields: { event: 'checks_delayed', lag_ms: Math.round(info.lagMs), queued: info.queued, delayed: info.delayed, late_timeouts: info.lateTimeouts },
          msg: 'lvsd is late (event-loop lag): checks run later, at a lower effective rate; timeouts it caused are re-run, not counted against realservers',
        }),
      onResult: (probeKey, result) => this.#onResult(probeKey, result),
    });
    this.#flushTimer = setInterval(() => this.flush(), options.flushMs);
    this.#flushTimer.unref?.();
  }

  /** A new plan for this thread: same keys keep their state and timers. Answers with `planned`. */
  plan(gen: number, plan: ProbePlan): void {
    if (this.#stopped) return;
    // What was gathered under the previous plan goes first, labelled with its generation.
    this.flush();
    this.#gen = gen;
    const events = this.#tracker.update(plan, Date.now());
    this.#scheduler.update(plan);
    this.#tracker.takeChanges();
    this.#o.post({ t: 'planned', gen, details: this.#tracker.details(), events });
  }

  #onResult(probeKey: string, result: CheckResult): void {
    if (result.code === 'not_run') {
      const code = result.notRun ?? 'unknown';
      this.#notRun.set(code, (this.#notRun.get(code) ?? 0) + 1);
      this.#notRunSample ??= { probe: probeKey, code, reason: result.reason };
      return;
    }
    let tally = this.#tallies.get(probeKey);
    if (tally === undefined) this.#tallies.set(probeKey, (tally = { codes: {}, latencies: [] }));
    tally.codes[result.code] = (tally.codes[result.code] ?? 0) + 1;
    tally.latencies.push(result.latencyMs);
    const events = this.#tracker.record(probeKey, result, Date.now());
    if (events.length === 0) return;
    let down = false;
    for (const e of events) {
      this.#events.push(e);
      if (e.to === 'down') down = true;
    }
    // A failure goes at once, ahead of whatever routine results are still to come this turn;
    // other transitions (first results, recoveries) at the end of the turn, together.
    if (down) this.flush();
    else this.#soon ??= setImmediate(() => this.flush());
  }

  /** Send what was gathered since the last batch (no-op when nothing was). */
  flush(): void {
    if (this.#soon !== null) clearImmediate(this.#soon);
    this.#soon = null;
    const internalErrors = this.#internalDelta();
    const details = this.#tracker.takeChanges();
    if (this.#events.length === 0 && this.#tallies.size === 0 && this.#notRun.size === 0 && internalErrors.size === 0 && details.probes.length === 0 && details.groups.length === 0) {
      // Counters still move (e.g. late timeouts re-run): send them now and then.
      this.#o.post({ t: 'batch', gen: this.#gen, events: [], details, tallies: new Map(), notRun: new Map(), notRunSample: null, internalErrors, stats: this.#scheduler.stats() });
      return;
    }
    const sample = this.#notRunSample;
    if (sample !== null) this.#throttledNotRun(sample);
    this.#o.post({
      t: 'batch',
      gen: this.#gen,
      events: this.#events,
      details,
      tallies: this.#tallies,
      notRun: this.#notRun,
      notRunSample: sample,
      internalErrors,
      stats: this.#scheduler.stats(),
    });
    this.#events = [];
    this.#tallies = new Map();
    this.#notRun = new Map();
    this.#notRunSample = null;
  }

  /** Abort every check (MISC process groups are killed by their checker), then report `stopped`. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#flushTimer !== null) clearInterval(this.#flushTimer);
    this.#flushTimer = null;
    await this.#scheduler.stop();
    this.#lag.stop();
    this.flush();
    this.#o.post({ t: 'stopped' });
  }

  #internalDelta(): Map<string, number> {
    const delta = new Map<string, number>();
    if (!this.#o.reportInternalErrors) return delta;
    for (const [type, n] of checkInternalErrors()) {
      const sent = this.#internalSent.get(type) ?? 0;
      if (n > sent) delta.set(type, n - sent);
      this.#internalSent.set(type, n);
    }
    return delta;
  }

  #throttledOverload(log: ThreadLog): void {
    const t = Date.now();
    if (t - this.#overloadAt < OVERLOAD_LOG_MS) {
      this.#overloadFolded++;
      return;
    }
    this.#overloadAt = t;
    this.#o.post({ t: 'log', log: { ...log, fields: { ...log.fields, suppressed: this.#overloadFolded } } });
    this.#overloadFolded = 0;
  }

  #throttledNotRun(sample: { probe: string; code: string; reason: string }): void {
    const t = Date.now();
    if (t - this.#notRunAt < NOT_RUN_LOG_MS) {
      this.#notRunFolded++;
      return;
    }
    this.#notRunAt = t;
    this.#o.post({
      t: 'log',
      log: {
        level: 'warn',
        fields: { event: 'check_not_run', code: sample.code, probe: sample.probe, reason: sample.reason, suppressed: this.#notRunFolded },
        msg: 'a check could not run (local resource error); realserver health left unchanged',
      },
    });
    this.#notRunFolded = 0;
  }
}
