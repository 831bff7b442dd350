// The gdnsd extfile writer (lvsd.yaml `dns_state_file`): rewrites the file atomically when its
// content changes. Writes are serialised; a burst of passes writes at most once more, the latest.
// A failed write is logged (throttled) and retried at the next pass; it never stops the daemon.
// It lives in announce/ (not observe/, which only reads) because the file moves DNS traffic.

import { writeFileAtomic } from '../atomic-file.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { ThrottledWarning } from '../throttled-warning.js';

export class DnsStateFile {
  readonly #log: Logger;
  readonly #warning: ThrottledWarning;
  /** "path\0body" last written successfully. */
  #written: string | null = null;
  #pending: { path: string; body: string } | null = null;
  #running: Promise<void> | null = null;

  constructor(logger: Logger) {
    this.#log = logger;
    this.#warning = new ThrottledWarning(logger, 10_000);
  }

  /** Ask for `path` to hold `body`; no-op when it already does (as far as lvsd wrote it). */
  update(path: string, body: string): void {
    if (this.#written === `${path}\0${body}` && !this.#running) return;
    this.#pending = { path, body };
    this.#running ??= this.#drain();
  }

  /** Resolves once no write is in flight (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#pending) {
        const { path, body } = this.#pending;
        this.#pending = null;
        const id = `${path}\0${body}`;
        if (id === this.#written) continue;
        try {
          await writeFileAtomic(path, body);
          this.#written = id;
          this.#log.info({ event: 'dns_state_written', path, vips: body.split('\n').filter(Boolean) }, 'DNS state file written');
        } catch (err) {
          this.#warning.warn({ event: 'dns_state_write_failed', path, err: errorMessage(err) }, 'cannot write the DNS state file; retried at the next reconcile pass');
        }
      }
    } finally {
      this.#running = null;
    }
  }
}
