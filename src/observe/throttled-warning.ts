// A warning that may fire thousands of times a second (every check hitting EMFILE, every lagging
// timer) logged at most once per period, with how many were folded into it.

import type { Logger } from '../log.js';

export class ThrottledWarning {
  readonly #logger: Logger;
  readonly #periodMs: number;
  readonly #now: () => number;
  #lastAt = -Infinity;
  #suppressed = 0;

  constructor(logger: Logger, periodMs: number, now: () => number = Date.now) {
    this.#logger = logger;
    this.#periodMs = periodMs;
    this.#now = now;
  }

  /** Log now unless one was logged less than a period ago; `fields` gets `suppressed` (folded since). */
  warn(fields: Record<string, unknown>, msg: string): boolean {
    const t = this.#now();
    if (t - this.#lastAt < this.#periodMs) {
      this.#suppressed++;
      return false;
    }
    this.#lastAt = t;
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    this.#logger.warn({ ...fields, suppressed }, msg);
    return true;
  }
}
