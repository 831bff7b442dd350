// The level-triggered pass loop: triggers coalesced into one pass, at most one pass at a time (the
// triggers that arrive during a pass cause exactly one more), at most one pass begun per coalescing
// window (a lone trigger runs at once, a storm is coalesced), one timer for whatever is due next
// (retry, resync, drain poll, slow-start step: the owner says), each pass with its own abort and
// deadline, and a stop that aborts the running pass. What a pass does is the owner's.

import type { LoopTimers } from './loop-timers.js';

export interface NextPass {
  readonly delayMs: number;
  readonly reason: string;
}

export interface PassLoopOptions<R> {
  /** What a pass is called in errors ("reconcile pass"). */
  readonly name: string;
  readonly timers: LoopTimers;
  readonly now: () => number;
  /**
   * At most one pass begins within this many ms. A trigger while idle, outside the window of the
   * last pass's start, runs a pass on the next turn of the event loop (the triggers of the same turn
   * are one pass); triggers inside the window, or during a pass, wait for the window's end (or the
   * pass's, if later) and are one pass. null: at once, synchronously, whatever ran before.
   */
  readonly coalesceMs: number | null;
  /** The pass; `signal` ends with stop() and at the deadline. */
  readonly run: (reasons: readonly string[], signal: AbortSignal) => Promise<R>;
  /** After a pass: when the next one is due without a trigger; null: none. */
  readonly next: () => NextPass | null;
  /** A pass's deadline, read when it starts; absent: none. */
  readonly deadlineMs?: () => number;
  /** A pass ran past its deadline (it is aborted next). */
  readonly onOverdue?: (deadlineMs: number, reasons: readonly string[]) => void;
  /** Triggers wait until this time (the runner itself is broken: its backoff); default none. */
  readonly blockedUntil?: () => number;
}

export class PassLoop<R> {
  readonly #o: PassLoopOptions<R>;
  #started = false;
  #stopped = false;
  #running: Promise<R> | null = null;
  #dirty = false;
  readonly #reasons = new Set<string>();
  #timer: unknown = undefined;
  #timerDue = 0;
  #abort: AbortController | null = null;
  #runningSince: number | null = null;
  #deadline = 0;
  /** When the last pass began (the coalescing window counts from it). */
  #lastStart = -Infinity;

  constructor(options: PassLoopOptions<R>) {
    this.#o = options;
  }

  get started(): boolean {
    return this.#started;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** When the running pass began; null while none runs. */
  get runningSince(): number | null {
    return this.#runningSince;
  }

  /** The running (or last) pass's deadline, 0 before the first. */
  get deadline(): number {
    return this.#deadline;
  }

  /** Ask for a pass; before start() the reason is only remembered. */
  trigger(reason: string): void {
    this.#reasons.add(reason);
    if (!this.#started || this.#stopped) return;
    if (this.#running) {
      this.#dirty = true;
      return;
    }
    if (this.#o.coalesceMs === null) {
      this.#clearTimer();
      void this.#runPass();
      return;
    }
    this.#schedule(this.#waitMs());
  }

  /**
   * How long a pass asked for now waits: the rest of the coalescing window of the last pass's
   * start, and the runner's backoff; 0 (the next turn) when neither holds it back.
   */
  #waitMs(): number {
    const now = this.#o.now();
    return Math.max(0, this.#lastStart + (this.#o.coalesceMs ?? 0) - now, (this.#o.blockedUntil?.() ?? 0) - now);
  }

  /** Begin: run a pass now (reason `reason`), then keep the loop going. */
  start(reason: string): Promise<R> {
    this.#started = true;
    this.#reasons.add(reason);
    this.#clearTimer();
    return this.#runPass();
  }

  /** No more passes; the running one is aborted. Resolves once it ended. */
  async stop(why: Error): Promise<void> {
    this.#stopped = true;
    this.#clearTimer();
    this.#abort?.abort(why);
    await this.settled();
  }

  /** Resolves once no pass is running. */
  async settled(): Promise<void> {
    while (this.#running) await this.#running.catch(() => undefined);
  }

  /** One timer serves triggers and whatever is due next: the earliest due wins. */
  #schedule(delayMs: number, reason?: string): void {
    const due = this.#o.now() + delayMs;
    if (this.#timer !== undefined && this.#timerDue <= due) return;
    this.#clearTimer();
    this.#timerDue = due;
    this.#timer = this.#o.timers.setTimeout(() => {
      this.#timer = undefined;
      if (reason !== undefined && this.#reasons.size === 0) this.#reasons.add(reason);
      void this.#runPass();
    }, delayMs);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#o.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #runPass(): Promise<R> {
    if (this.#running) {
      this.#dirty = true;
      return this.#running;
    }
    const reasons = [...this.#reasons];
    this.#reasons.clear();
    this.#dirty = false;
    this.#lastStart = this.#o.now();
    const running = this.#pass(reasons).finally(() => {
      this.#running = null;
      if (!this.#stopped) this.#scheduleNext();
    });
    this.#running = running;
    return running;
  }

  #scheduleNext(): void {
    const next = this.#o.next();
    if (this.#dirty && this.#o.coalesceMs === null) {
      this.#clearTimer();
      void this.#runPass();
      return;
    }
    let delay = next?.delayMs ?? Infinity;
    let reason = next?.reason ?? 'trigger';
    // Triggers that arrived during the pass are already in #reasons. A pass that took longer than
    // the window is followed at once: those triggers have waited for it already.
    if (this.#dirty) {
      const ms = this.#waitMs();
      if (ms < delay) [delay, reason] = [ms, 'trigger'];
    }
    if (delay === Infinity) {
      this.#clearTimer();
      return;
    }
    this.#schedule(delay, reason);
  }

  /** One pass with its own abort: stop() and the deadline end it. */
  async #pass(reasons: readonly string[]): Promise<R> {
    const abort = new AbortController();
    this.#abort = abort;
    this.#runningSince = this.#o.now();
    const deadlineMs = this.#o.deadlineMs?.();
    let deadline: unknown;
    if (deadlineMs !== undefined) {
      this.#deadline = deadlineMs;
      deadline = this.#o.timers.setTimeout(() => {
        this.#o.onOverdue?.(deadlineMs, reasons);
        abort.abort(new Error(`${this.#o.name} deadline of ${deadlineMs} ms`));
      }, deadlineMs);
    }
    try {
      return await this.#o.run(reasons, abort.signal);
    } finally {
      if (deadline !== undefined) this.#o.timers.clearTimeout(deadline);
      this.#abort = null;
      this.#runningSince = null;
    }
  }
}
