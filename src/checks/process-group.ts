// Signalling a whole process group (a MISC command and everything it started) and keeping its output tail.
// Shared by the MISC checker (check threads) and the notifier (control thread): the control thread
// imports this file, never misc.ts, so it does not load a checker.

/**
 * How long to wait for the stdout/stderr pipes to close once everything we could find was
 * SIGKILLed. A process we cannot kill (D state, one that scrubbed its environment and left the
 * group) may hold them forever; after this the check reads no more and returns.
 */
export const PIPE_WAIT_MS = 1000;

/**
 * Send `signal` to every process in the group led by `pgid` (the command ran with detached: true,
 * so its pid is its group id). False when nothing is left to signal; never throws.
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    // ESRCH: the group is gone. EPERM cannot happen for our own children; either way nothing to do.
    return false;
  }
}

/** The last `cap` bytes a stream produced; everything older is dropped so memory stays bounded. */
export class OutputTail {
  #kept: Buffer = Buffer.alloc(0);

  constructor(private readonly cap = 4096) {}

  push(chunk: Buffer): void {
    if (chunk.length >= this.cap) this.#kept = Buffer.from(chunk.subarray(chunk.length - this.cap));
    else if (this.#kept.length + chunk.length <= this.cap) this.#kept = Buffer.concat([this.#kept, chunk]);
    else this.#kept = Buffer.concat([this.#kept.subarray(this.#kept.length + chunk.length - this.cap), chunk]);
  }

  /** Last non-empty line, control characters replaced, clipped for a log line or metric reason. */
  lastLine(max = 200): string {
    const lines = this.#kept.toString('utf8').split(/\r?\n|\r/);
    for (let i = lines.length - 1; i >= 0; i -= 1) {
      const line = lines[i]!.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
      if (line !== '') return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
    }
    return '';
  }
}
