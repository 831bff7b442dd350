// A log line that may fire thousands of times a second (every check hitting EMFILE, every lagging
// timer, every connection past a socket's cap, a state file that cannot be written on every pass)
// logged at most once per period, with how many were folded into it.

import type { Logger } from './log.js';

export type ThrottledLevel = 'info' | 'warn' | 'error';

export class ThrottledWarning {
  readonly #logger: Logger;
  readonly #periodMs: number;
  readonly #now: () => number;
  readonly #level: ThrottledLevel;
  #lastAt = -Infinity;
  #suppressed = 0;

  constructor(logger: Logger, periodMs: number, now: () => number = Date.now, level: ThrottledLevel = 'warn') {
    this.#logger = logger;
    this.#periodMs = periodMs;
    this.#now = now;
    this.#level = level;
  }

  /**
   * Log now (at the level given to the constructor) unless one was logged less than a period ago;
   * `fields` gets `suppressed` (how many were folded since the last line).
   */
  log(fields: Record<string, unknown>, msg: string): boolean {
    const t = this.#now();
    if (t - this.#lastAt < this.#periodMs) {
      this.#suppressed++;
      return false;
    }
    this.#lastAt = t;
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    this.#logger[this.#level]({ ...fields, suppressed }, msg);
    return true;
  }

  /** The first users' name for log() (warn level by default). */
  warn(fields: Record<string, unknown>, msg: string): boolean {
    return this.log(fields, msg);
  }

  /** Occurrences folded since the last line (not logged yet). */
  get suppressed(): number {
    return this.#suppressed;
  }

  /** Whether a line was logged since the last reset (the condition is ongoing). */
  get active(): boolean {
    return this.#lastAt !== -Infinity;
  }

  /** The condition is over: the next occurrence logs at once. Returns what was folded and not logged. */
  reset(): number {
    const folded = this.#suppressed;
    this.#lastAt = -Infinity;
    this.#suppressed = 0;
    return folded;
  }
}
