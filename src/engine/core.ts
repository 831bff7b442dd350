// The check engine itself, on the thread that runs the checks: scheduler, rise/fall tracker and the
// loop-lag clock of THIS thread (lateness and "late timeouts are re-run" are judged where the timers
// run), and the batching of what goes to the control thread (protocol.ts). It imports no logger,
// metrics or config parser: a worker thread running it loads the checkers and little else.

import type { CheckResult, CheckStarter, Checker } from '../checks/types.js';
import { checkInternalErrors } from '../checks/boundary.js';
import { HealthTracker } from '../health/tracker.js';
import type { HealthEvent } from '../health/tracker.js';
import { LoopLagMonitor } from '../loop-lag.js';
import type { ProbePlan } from '../scheduler/probe-key.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { RESULT_CODES } from './protocol.js';
import type { FromThread, Results, ThreadLog } from './protocol.js';

const CODE_INDEX = new Map<string, number>(RESULT_CODES.map((c, i) => [c, i]));
const ERROR_CODE = CODE_INDEX.get('error')!;

/** Results gathered for the next batch, in plain arrays (small integers stay unboxed). */
class ResultLog {
  probe: number[] = [];
  code: number[] = [];
  latencyMs: number[] = [];

  get size(): number {
    return this.probe.length;
  }

  /** As typed arrays whose buffers can be handed over without a copy; empties the log. */
  take(): Results {
    const out = { probe: Uint32Array.from(this.probe), code: Uint8Array.from(this.code), latencyMs: Float64Array.from(this.latencyMs) };
    this.probe = [];
    this.code = [];
    this.latencyMs = [];
    return out;
  }
}

export interface CoreOptions {
  readonly check: Checker;
  /** The hot paths by callback (checks/index.ts startCheck); without it every check runs through `check`. */
  readonly start?: CheckStarter;
  readonly maxConcurrent: number;
  readonly coalesceMs: number;
  readonly flushMs: number;
  /**
   * Where messages go: the thread's port, or the control side directly (check_threads: 0).
   * `transfer`: buffers the message may hand over instead of copying.
   */
  readonly post: (message: FromThread, transfer?: ArrayBuffer[]) => void;
  /**
   * Send the checkers' caught exceptions along (a worker thread: its counts are its own). False on
   * the control thread, whose counts the metrics read directly.
   */
  readonly reportInternalErrors: boolean;
}

/** Overload warnings at most this often per thread. */
const OVERLOAD_LOG_MS = 10_000;
const NO_DETAILS = Object.freeze({ probes: [], groups: [] });
const NOT_RUN_LOG_MS = 10_000;

export class EngineCore {
  readonly #o: CoreOptions;
  readonly #tracker = new HealthTracker();
  readonly #lag = new LoopLagMonitor();
  readonly #scheduler: Scheduler;
  #gen = 0;
  #events: HealthEvent[] = [];
  /** Probe key -> its place in the current plan (what a result is sent as). */
  #index = new Map<string, number>();
  readonly #results = new ResultLog();
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
    this.#lag.start();
    this.#scheduler = new Scheduler({
      check: options.check,
      ...(options.start === undefined ? {} : { start: options.start }),
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
    const index = new Map<string, number>();
    for (const key of plan.keys()) index.set(key, index.size);
    this.#index = index;
    this.#o.post({ t: 'planned', gen, details: this.#tracker.details(), events });
  }

  /** The health of every pair, for /status (routine results' details are not sent otherwise). */
  details(): void {
    this.#o.post({ t: 'details', gen: this.#gen, details: this.#tracker.details() });
  }

  #onResult(probeKey: string, result: CheckResult): void {
    if (result.code === 'not_run') {
      const code = result.notRun ?? 'unknown';
      this.#notRun.set(code, (this.#notRun.get(code) ?? 0) + 1);
      this.#notRunSample ??= { probe: probeKey, code, reason: result.reason };
      return;
    }
    const at = this.#index.get(probeKey);
    if (at !== undefined) {
      this.#results.probe.push(at);
      this.#results.code.push(CODE_INDEX.get(result.code) ?? ERROR_CODE);
      this.#results.latencyMs.push(result.latencyMs);
    }
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

  /** Send what was gathered since the last batch (counters alone when nothing else moved). */
  flush(): void {
    if (this.#soon !== null) clearImmediate(this.#soon);
    this.#soon = null;
    const sample = this.#notRunSample;
    if (sample !== null) this.#throttledNotRun(sample);
    const events = this.#events;
    const results = this.#results.take();
    this.#o.post(
      {
        t: 'batch',
        gen: this.#gen,
        events,
        details: events.length === 0 ? NO_DETAILS : this.#tracker.detailsOf(events),
        results,
        notRun: this.#notRun,
        notRunSample: sample,
        internalErrors: this.#internalDelta(),
        stats: this.#scheduler.stats(),
      },
      [results.probe.buffer, results.code.buffer, results.latencyMs.buffer] as ArrayBuffer[],
    );
    this.#events = [];
    if (this.#notRun.size > 0) this.#notRun = new Map();
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
