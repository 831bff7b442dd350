// The reconcile loop's counters and its retry state: passes, failures in a row (and the backoff
// they give), operations and ipvsadm runs by kind, the last success and error. What stats()
// reports and each pass publishes; only the reconciler writes them.

import type { IpvsOp } from '../ipvs/model.js';
import { ZERO_OPS } from './pass-report.js';
import type { ExecKind, OpKind, ReconcilerStats } from './pass-report.js';

export interface PassCountersOptions {
  readonly now: () => number;
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
}

/** The loop's own part of the stats (the pass loop and the kernel cache add theirs). */
export type LoopStats = Pick<ReconcilerStats, 'started' | 'passRunningSince' | 'passDeadlineMs' | 'lastReadAt'>;

export class PassCounters {
  readonly #o: PassCountersOptions;
  #passes = 0;
  #failures = 0;
  #consecutiveFailures = 0;
  #opsApplied: Record<OpKind, number> = { ...ZERO_OPS };
  #execs: Record<ExecKind, number> = { read: 0, counters: 0, apply: 0 };
  #lastSuccessAt: number | null = null;
  #lastError: string | null = null;
  #passesOverdue = 0;
  /** Runner itself failing (ipvsadm missing, cannot read): triggers wait until then. */
  #blockedUntil = 0;
  /** Removed reals held at weight 0 (the last committed pass's). */
  draining = 0;

  constructor(options: PassCountersOptions) {
    this.#o = options;
  }

  get consecutiveFailures(): number {
    return this.#consecutiveFailures;
  }

  get blockedUntil(): number {
    return this.#blockedUntil;
  }

  /** The wait before a retry: doubles with every failure in a row, up to retryMaxMs. */
  backoffMs(): number {
    const initial = this.#o.retryInitialMs ?? 1_000;
    const max = this.#o.retryMaxMs ?? 30_000;
    return Math.min(max, initial * 2 ** Math.min(30, this.#consecutiveFailures - 1));
  }

  passed(): void {
    this.#passes++;
  }

  overdue(): void {
    this.#passesOverdue++;
  }

  exec(kind: ExecKind): void {
    this.#execs[kind]++;
  }

  applied(ops: readonly IpvsOp[]): void {
    for (const op of ops) this.#opsApplied[op.op]++;
  }

  /** The kernel equals desired; returns whether passes had been failing until now. */
  succeeded(): boolean {
    const recovered = this.#consecutiveFailures > 0;
    this.#consecutiveFailures = 0;
    this.#blockedUntil = 0;
    this.#lastSuccessAt = this.#o.now();
    this.#lastError = null;
    return recovered;
  }

  /** `runnerBroken`: the runner itself failed, so triggers wait for the backoff too. */
  failed(message: string, runnerBroken: boolean): void {
    this.#failures++;
    this.#consecutiveFailures++;
    this.#lastError = message;
    this.#blockedUntil = runnerBroken ? this.#o.now() + this.backoffMs() : 0;
  }

  stats(loop: LoopStats): ReconcilerStats {
    return {
      started: loop.started,
      passes: this.#passes,
      failures: this.#failures,
      consecutiveFailures: this.#consecutiveFailures,
      opsApplied: { ...this.#opsApplied },
      lastSuccessAt: this.#lastSuccessAt,
      lastError: this.#lastError,
      draining: this.draining,
      passRunningSince: loop.passRunningSince,
      passDeadlineMs: loop.passDeadlineMs,
      passesOverdue: this.#passesOverdue,
      execs: { ...this.#execs },
      lastReadAt: loop.lastReadAt,
    };
  }
}
