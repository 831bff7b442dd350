// Runs every probe of the plan at its interval: one timer for all probes, jitter, abort, concurrency cap.
//
// Why one setTimeout over a DueQueue rather than one per probe: stop() has exactly one handle to
// clear, a reload touches no timers, and it is cheaper. Measured with a no-op check, 1 s interval
// (`node build/bench/run.js timers`, bench/results/timers.md): 10,000 probes 5 % of a core and
// 82 MB RSS vs 8 % and 104 MB for a setTimeout chain per probe; 100,000 probes 9 % / 178 MB vs
// 38 % / 522 MB. See due-queue.ts for why not a binary heap of probes.

import { performance } from 'node:perf_hooks';
import type { CheckResult, CheckStarter, CheckTarget, Checker } from '../checks/types.js';
import { errorMessage } from '../errors.js';
import { DueQueue } from './due-queue.js';
import { SlotQueue } from './slot-queue.js';
import type { LagSource } from '../loop-lag.js';
import type { ProbePlan } from './probe-key.js';

import type { OverloadInfo, SchedulerOptions, SchedulerStats } from './types.js';
import { START_DELAY_BOUNDS_MS } from './types.js';

type Phase = 'waiting' | 'queued' | 'running' | 'removed' | 'done';

interface Probe {
  /** The key string of the latest plan, so consumers keyed by that plan compare it by identity. */
  key: string;
  /** When the next run is due (ms, the scheduler's clock). */
  due: number;
  target: CheckTarget;
  readonly intervalMs: number;
  phase: Phase;
  /** The signal of the running check, from #pool; null while not running. */
  controller: AbortController | null;
  queuedAt: number;
  /** Set for runOnce jobs: receives the result instead of onResult and is never rescheduled. */
  readonly once: ((result: CheckResult) => void) | null;
  /** When the running check started, and the lag source's stall clock then. */
  startedAt: number;
  stalledAtStart: number;
  /** The last result of this probe failed: while it waits for a slot it goes ahead of routine checks. */
  failing: boolean;
  /** Where its checks report, made on its first run and kept: not a closure pair per check. */
  onDone: ((result: CheckResult) => void) | null;
  onThrow: ((err: unknown) => void) | null;
}

const PROBE_REMOVED = new Error('probe removed from the plan');
const SCHEDULER_STOPPED = new Error('scheduler stopped');

function failedResult(reason: string): CheckResult {
  return { up: false, code: 'error', reason, latencyMs: 0 };
}

export class Scheduler {
  readonly #check: Checker;
  readonly #startCheck: CheckStarter | null;
  readonly #max: number;
  readonly #onResult: (probeKey: string, result: CheckResult) => void;
  readonly #onError: (err: unknown, probeKey: string) => void;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #lag: LagSource | null;
  readonly #onOverload: ((info: OverloadInfo) => void) | null;
  readonly #grid: number;

  readonly #probes = new Map<string, Probe>();
  /** Waiting probes by due time; a probe that left the plan stays in it and is skipped when due. */
  readonly #waiting = new DueQueue<Probe>();
  /** Probes waiting for a slot, first come first served; removed ones are skipped lazily. */
  readonly #queue = new SlotQueue<Probe>();
  /**
   * Probes whose last result failed wait here, and get slots first: when lvsd cannot keep up,
   * confirming a failure (the next of `fall` results) goes ahead of routine checks of healthy reals,
   * so detection is what degrades last (issue 21).
   */
  readonly #urgent = new SlotQueue<Probe>();
  /** Jobs of runOnce calls still in progress, so stop() can end them. */
  readonly #batches = new Set<Probe[]>();
  /**
   * Controllers of finished, un-aborted checks, reused by the next checks. An AbortController per
   * run was the largest single cost at 10,000 checks/s, and one per probe costs ~1 KB of heap per
   * probe (EventTarget internals); the pool holds at most maxConcurrent. Reuse is safe because a
   * checker removes its abort listener when it returns (checks/deadline.ts does, in dispose()).
   */
  readonly #pool: AbortController[] = [];

  #timer: ReturnType<typeof setTimeout> | null = null;
  #timerDue = Infinity;
  #stopped = false;
  #idle: (() => void) | null = null;
  /** > 0 while the scheduler is inside a check's start or an abort: a result given then waits for a microtask. */
  #inside = 0;

  // A counter, not a Set of running probes: a Set churning at 10,000 adds/deletes a second
  // showed up in profiles, and stop() finds running probes through #probes and #batches anyway.
  #inFlight = 0;
  #started = 0;
  #completed = 0;
  #aborted = 0;
  #queued = 0;
  #maxQueueDepth = 0;
  #queuedTotal = 0;
  #queueWaitMsTotal = 0;
  #overruns = 0;
  #delayed = 0;
  #lateTimeouts = 0;
  readonly #startDelayCounts = new Float64Array(START_DELAY_BOUNDS_MS.length + 1);
  #startDelaySumMs = 0;
  #startDelayCount = 0;

  constructor(options: SchedulerOptions) {
    this.#check = options.check;
    this.#startCheck = options.start ?? null;
    this.#max = Math.max(1, Math.floor(options.maxConcurrent));
    this.#onResult = options.onResult;
    this.#onError =
      options.onError ??
      ((err) => {
        process.nextTick(() => {
          throw err;
        });
      });
    this.#now = options.now ?? (() => performance.now());
    this.#random = options.random ?? Math.random;
    this.#lag = options.lag ?? null;
    this.#onOverload = options.onOverload ?? null;
    this.#grid = Math.max(0, options.coalesceMs ?? 0);
  }

  /**
   * Adopt a new plan. Probes whose key survives keep their phase (a reload does not reset or
   * bunch up the timers); new probes start at a random point of their first interval; removed
   * probes stop and their running check is aborted (its result is discarded).
   */
  update(plan: ProbePlan): void {
    if (this.#stopped) throw new Error('scheduler is stopped');
    for (const [key, probe] of this.#probes) if (!plan.has(key)) this.#remove(probe);
    const t = this.#now();
    for (const [key, entry] of plan) {
      const existing = this.#probes.get(key);
      if (existing) {
        // Same key = same check on the wire; the context (service name) may still have changed.
        existing.target = entry.target;
        existing.key = key;
        continue;
      }
      const intervalMs = Math.max(1, entry.target.spec.intervalMs);
      const probe = newProbe(key, entry.target, intervalMs, null);
      probe.due = t + this.#random() * intervalMs;
      this.#probes.set(key, probe);
      this.#waiting.push(probe);
    }
    this.#arm();
  }

  /**
   * Run every probe of `plan` once, concurrently under the same cap, and resolve with every result
   * keyed by probe key in plan order (for `lvsd probe` and `lvsd plan`). Does not call onResult.
   */
  async runOnce(plan: ProbePlan): Promise<Map<string, CheckResult>> {
    if (this.#stopped) throw new Error('scheduler is stopped');
    const got = new Map<string, CheckResult>();
    const batch: Probe[] = [];
    this.#batches.add(batch);
    try {
      await new Promise<void>((resolve) => {
        let left = plan.size;
        if (left === 0) return resolve();
        for (const [key, entry] of plan) {
          batch.push(
            newProbe(key, entry.target, entry.target.spec.intervalMs, (result) => {
              got.set(key, result);
              if (--left === 0) resolve();
            }),
          );
        }
        for (const probe of batch) this.#acquire(probe);
      });
    } finally {
      this.#batches.delete(batch);
    }
    const ordered = new Map<string, CheckResult>();
    for (const key of plan.keys()) ordered.set(key, got.get(key)!);
    return ordered;
  }

  /**
   * Abort every check, clear the timer and the queue. Idempotent. The promise settles once every
   * aborted check has returned (checkers honour the signal promptly), so a caller can await a
   * clean shutdown; runOnce jobs never started resolve as "not run", running ones with what their
   * check returned.
   */
  stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      if (this.#timer !== null) clearTimeout(this.#timer);
      this.#timer = null;
      this.#timerDue = Infinity;
      for (const probe of this.#probes.values()) this.#remove(probe);
      for (const batch of this.#batches) {
        for (const probe of batch) {
          if (probe.phase === 'running') this.#abort(probe, SCHEDULER_STOPPED);
          else if (probe.phase === 'queued' || probe.phase === 'waiting') {
            probe.phase = 'done';
            probe.once!(failedResult('not run: scheduler stopped'));
          }
        }
      }
      this.#waiting.clear();
      this.#queue.clear();
      this.#urgent.clear();
      this.#queued = 0;
    }
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const prev = this.#idle;
      this.#idle = () => {
        prev?.();
        resolve();
      };
    });
  }

  stats(): SchedulerStats {
    return {
      probes: this.#probes.size,
      started: this.#started,
      completed: this.#completed,
      aborted: this.#aborted,
      inFlight: this.#inFlight,
      queued: this.#queued,
      maxQueueDepth: this.#maxQueueDepth,
      queuedTotal: this.#queuedTotal,
      queueWaitMsTotal: this.#queueWaitMsTotal,
      overruns: this.#overruns,
      delayed: this.#delayed,
      lateTimeouts: this.#lateTimeouts,
      lagMs: this.#lag === null ? 0 : this.#lag.lagMs(),
      startDelay: { counts: this.#startDelayCounts.slice(), sumMs: this.#startDelaySumMs, count: this.#startDelayCount },
    };
  }

  #remove(probe: Probe): void {
    this.#probes.delete(probe.key);
    if (probe.phase === 'queued') this.#queued--;
    // Only a running check listens. abort() with our own reason: the default DOMException captures
    // a stack trace, which made stopping 30,000 probes take seconds.
    else if (probe.phase === 'running') this.#abort(probe, PROBE_REMOVED);
    probe.phase = 'removed';
  }

  /** A check that ends at its abort reports in a microtask, after the loop that aborted it. */
  #abort(probe: Probe, reason: Error): void {
    this.#inside++;
    try {
      probe.controller!.abort(reason);
    } finally {
      this.#inside--;
    }
  }

  /** Keep exactly one timer, armed for the earliest due millisecond. */
  #arm(): void {
    const next = this.#waiting.peekTime();
    if (next === undefined) {
      if (this.#timer !== null) clearTimeout(this.#timer);
      this.#timer = null;
      this.#timerDue = Infinity;
      return;
    }
    const fireAt = this.#grid > 0 ? Math.ceil(next / this.#grid) * this.#grid : next;
    if (this.#timer !== null && this.#timerDue <= fireAt) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timerDue = fireAt;
    this.#timer = setTimeout(this.#onTimer, Math.max(0, Math.ceil(fireAt - this.#now())));
  }

  readonly #onTimer = (): void => {
    const due = this.#timerDue;
    this.#timer = null;
    this.#timerDue = Infinity;
    // Node's timer clock is whole milliseconds and a little behind performance.now(): allow 1 ms
    // (and on a grid, the whole slot the timer was armed for) so a timer firing on the boundary
    // does not re-arm for a sub-millisecond remainder.
    const limit = Math.max(this.#now() + 1, this.#grid > 0 ? due : 0);
    for (let bucket = this.#waiting.takeDue(limit); bucket !== undefined; bucket = this.#waiting.takeDue(limit)) {
      for (let i = 0; i < bucket.length; i++) {
        const probe = bucket[i]!;
        if (probe.phase === 'waiting') this.#acquire(probe);
      }
    }
    this.#arm();
  };

  #overloaded(): void {
    this.#onOverload?.({ lagMs: this.#lag?.lagMs() ?? 0, queued: this.#queued, delayed: this.#delayed, lateTimeouts: this.#lateTimeouts });
  }

  #acquire(probe: Probe): void {
    if (this.#inFlight < this.#max) {
      this.#start(probe);
      return;
    }
    probe.phase = 'queued';
    probe.queuedAt = this.#now();
    if (probe.failing) this.#urgent.push(probe);
    else this.#queue.push(probe);
    this.#queued++;
    this.#queuedTotal++;
    if (this.#queued > this.#maxQueueDepth) this.#maxQueueDepth = this.#queued;
  }

  #start(probe: Probe): void {
    probe.phase = 'running';
    const controller = this.#pool.pop() ?? new AbortController();
    probe.controller = controller;
    this.#inFlight++;
    this.#started++;
    if (this.#lag !== null) {
      const t = this.#now();
      probe.startedAt = t;
      probe.stalledAtStart = this.#lag.stalledMs(t);
      if (probe.once === null) {
        const late = t > probe.due ? t - probe.due : 0;
        let i = 0;
        while (i < START_DELAY_BOUNDS_MS.length && late > START_DELAY_BOUNDS_MS[i]!) i++;
        this.#startDelayCounts[i]!++;
        this.#startDelaySumMs += late;
        this.#startDelayCount++;
        if (late > Math.max(50, probe.intervalMs / 10)) {
          this.#delayed++;
          this.#overloaded();
        }
      }
    }
    const done = (probe.onDone ??= (result) => this.#done(probe, result));
    const start = this.#startCheck;
    if (start !== null) {
      this.#inside++;
      try {
        start(probe.target, controller.signal, done);
      } catch (err) {
        done(failedResult(`check threw: ${errorMessage(err)}`));
      } finally {
        this.#inside--;
      }
      return;
    }
    const threw = (probe.onThrow ??= (err) => this.#done(probe, failedResult(`check threw: ${errorMessage(err)}`)));
    let pending: Promise<CheckResult>;
    try {
      pending = this.#check(probe.target, controller.signal);
    } catch (err) {
      pending = Promise.resolve(failedResult(`check threw: ${errorMessage(err)}`));
    }
    pending.then(done, threw);
  }

  /** A check's result; one given synchronously (inside its start, or an abort) waits for a microtask, as a promise's would. */
  #done(probe: Probe, result: CheckResult): void {
    if (this.#inside > 0) queueMicrotask(() => this.#finish(probe, result));
    else this.#finish(probe, result);
  }

  #finish(probe: Probe, result: CheckResult): void {
    this.#inFlight--;
    const removed = probe.phase === 'removed';
    // We abort only in #remove and stop(), so these flags say whether the controller is still
    // clean, without the brand-checking getters of controller.signal.aborted (measurable here).
    if (!removed && !this.#stopped) this.#pool.push(probe.controller!);
    probe.controller = null;
    if (removed) this.#aborted++;
    else this.#completed++;

    let again = false;
    const late = !removed && !this.#stopped && this.#lateTimeout(probe, result);
    if (!late) probe.failing = !result.up && result.code !== 'not_run';
    if (late) {
      // Not the real's verdict: lvsd was stalled for part of the check. Run it again (behind the
      // probes already waiting); the result is neither reported nor counted against the real.
      this.#lateTimeouts++;
      probe.due = this.#now();
      again = true;
      this.#overloaded();
    } else if (probe.once) {
      probe.phase = 'done';
    } else if (!removed) {
      // Fixed rate from the scheduled start (like ldirectord's checkinterval); an overrun starts
      // the next run right away instead of piling runs up.
      const t = this.#now();
      const next = probe.due + probe.intervalMs;
      if (next <= t) {
        this.#overruns++;
        probe.due = t;
        again = true;
      } else {
        probe.due = next;
        probe.phase = 'waiting';
        this.#waiting.push(probe);
        this.#arm();
      }
    }
    // Probes already waiting for a slot go first; an overrunning probe queues behind them.
    this.#drain();
    if (again) this.#acquire(probe);
    if (this.#inFlight === 0 && this.#idle) {
      const idle = this.#idle;
      this.#idle = null;
      idle();
    }
    if (late) return;

    if (probe.once) {
      // After stop() a running job's result still counts; a job already answered is not answered twice.
      if (!removed) probe.once(result);
    } else if (!removed) {
      try {
        this.#onResult(probe.key, result);
      } catch (err) {
        this.#onError(err, probe.key);
      }
    }
  }

  /**
   * A timeout judged by the time the process actually had: the check's wall time minus lvsd's own
   * stalls (CPU starvation, a long synchronous stretch) while it ran. Short of 90 % of the timeout
   * (the deadline extends itself over stalls, up to a bound), the reply may well have been sitting
   * unread in a socket buffer: not the real's verdict.
   */
  #lateTimeout(probe: Probe, result: CheckResult): boolean {
    if (result.code !== 'timeout' || this.#lag === null) return false;
    const now = this.#now();
    const live = now - probe.startedAt - (this.#lag.stalledMs(now) - probe.stalledAtStart);
    return live < probe.target.spec.timeoutMs * 0.9;
  }

  /** Hand freed slots to waiting probes: failing ones first, each queue first come first served. */
  #drain(): void {
    this.#startFrom(this.#urgent);
    this.#startFrom(this.#queue);
  }

  #startFrom(queue: SlotQueue<Probe>): void {
    while (this.#inFlight < this.#max) {
      const probe = queue.shift();
      if (probe === undefined) return;
      if (probe.phase !== 'queued') continue;
      this.#queued--;
      this.#queueWaitMsTotal += this.#now() - probe.queuedAt;
      this.#start(probe);
    }
  }
}

function newProbe(key: string, target: CheckTarget, intervalMs: number, once: Probe['once']): Probe {
  return { key, due: 0, target, intervalMs, phase: 'waiting', controller: null, queuedAt: 0, once, startedAt: 0, stalledAtStart: 0, failing: false, onDone: null, onThrow: null };
}
