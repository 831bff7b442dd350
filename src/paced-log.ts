// Log lines that come in bursts of thousands (one admin_change per real when a service of 2,000
// reals is drained, one maintenance_file per file when 10,000 appear): written at most `batch` per
// event-loop turn, a short pause between batches, in order. The logger writes synchronously, and on
// a full pipe (its reader behind) it sleeps 100 ms per retry with the loop held: 2,000 lines in one
// turn held it ~0.8 s. Paced (and slower while the reader is behind), a burst costs no long turn.

/** Lines per turn (~20 x 350 bytes, a ninth of a pipe's 64 KiB). */
export const PACED_LOG_BATCH = 20;
/** The pause between two batches: at most 2,000 lines a second. */
export const PACED_LOG_PAUSE_MS = 10;
/** A batch that took longer than this met a full pipe: the next pause is longer (up to the max). */
const SLOW_BATCH_MS = 20;
const MAX_PAUSE_MS = 160;

/** Wait between two batches of log lines; `ms` longer after a batch that met a full pipe. */
export function logPause(ms = PACED_LOG_PAUSE_MS): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, ms));
}

/** The next pause: doubled after a slow batch (the reader is behind), back to the base after a quick one. */
export function nextPause(pauseMs: number, batchMs: number): number {
  return batchMs > SLOW_BATCH_MS ? Math.min(pauseMs * 2, MAX_PAUSE_MS) : PACED_LOG_PAUSE_MS;
}

export class PacedLog {
  readonly #batch: number;
  readonly #queue: (() => void)[] = [];
  #head = 0;
  #draining: Promise<void> | null = null;

  constructor(batch = PACED_LOG_BATCH) {
    this.#batch = batch;
  }

  /**
   * Write these lines (each a call of the logger) after everything queued before them. While
   * nothing waits and they fit in one batch they are written at once (order with lines logged
   * directly is kept); otherwise one batch now and the rest after pauses.
   */
  write(lines: readonly (() => void)[]): void {
    if (lines.length === 0) return;
    if (this.#draining === null && lines.length <= this.#batch) {
      for (const line of lines) line();
      return;
    }
    this.#queue.push(...lines);
    this.#draining ??= this.#drain();
  }

  /** Resolves once every queued line is written. */
  flushed(): Promise<void> {
    return this.#draining ?? Promise.resolve();
  }

  /** Write every queued line now (at stop: the lines matter more than one long turn then). */
  flushNow(): Promise<void> {
    for (; this.#head < this.#queue.length; this.#head++) this.#queue[this.#head]!();
    return this.flushed();
  }

  async #drain(): Promise<void> {
    let pause = PACED_LOG_PAUSE_MS;
    try {
      for (;;) {
        const t = performance.now();
        const end = Math.min(this.#head + this.#batch, this.#queue.length);
        for (; this.#head < end; this.#head++) this.#queue[this.#head]!();
        if (this.#head >= this.#queue.length) break;
        pause = nextPause(pause, performance.now() - t);
        await logPause(pause);
      }
    } finally {
      this.#queue.length = 0;
      this.#head = 0;
      this.#draining = null;
    }
  }
}
