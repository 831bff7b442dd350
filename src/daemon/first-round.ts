// The first-round gate: never change the kernel before the first results are in. It opens once
// every (service, real) pair has a first result, or when the slowest first check must have
// finished; opening logs the first-round summary and starts the reconciler and the sync daemon.

import type { Snapshot } from '../config/model.js';
import { buildProbePlan } from '../scheduler/probe-key.js';
import type { ProbePlan } from '../scheduler/probe-key.js';
import type { Logger } from '../log.js';
import { firstRoundCounts, logFirstRound } from './log.js';

/** A real's first check may take its whole interval (first runs are spread) plus its timeout. */
export function firstRoundDeadlineMs(plan: ProbePlan): number {
  let max = 0;
  for (const { target } of plan.values()) max = Math.max(max, target.spec.intervalMs + target.spec.timeoutMs);
  return max + 1000;
}

export interface FirstRoundGateOptions {
  readonly logger: Logger;
  /** Pairs without a first result yet. */
  readonly unknownCount: () => number;
  /** A pair's health state, for the summary. */
  readonly state: (serviceKey: string, realKey: string) => string | undefined;
  /** The snapshot in force, for the summary. */
  readonly snapshot: () => Snapshot;
  /** A stop has begun: the gate stays shut. */
  readonly stopping: () => boolean;
  /** What opening starts (the reconciler, the sync daemon). */
  readonly open: () => void;
}

export class FirstRoundGate {
  readonly #o: FirstRoundGateOptions;
  #timer: NodeJS.Timeout | null = null;
  #open = false;
  #closed = false;

  constructor(options: FirstRoundGateOptions) {
    this.#o = options;
  }

  /** Once open, first results are ordinary transitions (logged at info, not debug). */
  get isOpen(): boolean {
    return this.#open;
  }

  /**
   * Start waiting: open at once when nothing waits, else at the deadline of the slowest first
   * check, counted from when the checks can run (`checking`: the check threads are up). Counted
   * from the daemon's start instead, a thread that took seconds to load (QEMU, a loaded host) ate
   * the checks' time and the gate opened with every real unknown (kernel tier, scenarios-operate).
   */
  arm(snapshot: Snapshot, checking: Promise<void> = Promise.resolve()): void {
    if (this.#open) return;
    if (this.#o.unknownCount() === 0) {
      this.#opened('no reals to wait for');
      return;
    }
    const deadlineMs = firstRoundDeadlineMs(buildProbePlan(snapshot));
    void checking.then(() => {
      if (this.#open || this.#closed) return;
      this.#timer = setTimeout(() => this.#opened('first-round deadline'), deadlineMs);
      this.#timer.unref();
    });
  }

  /** After health events: open once every pair has a first result. */
  check(): void {
    if (!this.#open && this.#o.unknownCount() === 0) this.#opened('all reals checked');
  }

  /** A stop: no more waiting. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #opened(why: string): void {
    if (this.#open || this.#o.stopping()) return;
    this.close();
    this.#open = true;
    logFirstRound(this.#o.logger, why, firstRoundCounts(this.#o.snapshot(), this.#o.state));
    this.#o.open();
  }
}
