// The process-wide policy for what nothing handled (a bug): log it at fatal with code
// LVSD_INTERNAL and the stack, stop checks and the listener, leave the kernel table as it is, and
// exit 1 within a bounded time whatever happens. Never silent, never a hang.
//
// Why the table is kept (like SIGUSR2) rather than cleaned: the shipped unit restarts lvsd
// (Restart=on-failure, 2 s) and the new daemon adopts the table without a flap, where a clean stop
// would take every service down until the new daemon's first check round.

import { errorMessage } from './errors.js';
import type { Logger } from './log.js';

export interface FatalOptions {
  readonly logger: Logger;
  /** An orderly stop that leaves the table (the daemon's stop with clean: false). */
  stop(reason: string): Promise<unknown>;
  readonly exit?: (code: number) => void;
  /** Longest the orderly part may take before exit(1) regardless (default 5 s). */
  readonly graceMs?: number;
}

export const FATAL_EXIT_MS = 5_000;

/** A handler for 'uncaughtException' / 'unhandledRejection' named `kind`; the first one wins. */
export function fatalHandlers(options: FatalOptions): { readonly uncaughtException: (err: unknown) => void; readonly unhandledRejection: (err: unknown) => void } {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let fatal = false;
  const handler = (kind: string) => (err: unknown): void => {
    // Every one is logged (a second bug while stopping is worth knowing), only the first stops.
    options.logger.fatal(
      { code: 'LVSD_INTERNAL', kind, err: errorMessage(err), stack: err instanceof Error ? err.stack : undefined },
      `internal error (${kind}); exiting, the IPVS table is left as it is`,
    );
    if (fatal) return;
    fatal = true;
    const timer = setTimeout(() => exit(1), options.graceMs ?? FATAL_EXIT_MS);
    timer.unref?.();
    let stopping: Promise<unknown>;
    try {
      stopping = options.stop(kind);
    } catch (e) {
      stopping = Promise.reject(e);
    }
    stopping.then(
      () => {
        clearTimeout(timer);
        exit(1);
      },
      () => {
        clearTimeout(timer);
        exit(1);
      },
    );
  };
  return { uncaughtException: handler('uncaughtException'), unhandledRejection: handler('unhandledRejection') };
}

/** Install the handlers on `process`; returns the uninstaller. */
export function installFatalHandlers(options: FatalOptions): () => void {
  const h = fatalHandlers(options);
  process.on('uncaughtException', h.uncaughtException);
  process.on('unhandledRejection', h.unhandledRejection);
  return () => {
    process.off('uncaughtException', h.uncaughtException);
    process.off('unhandledRejection', h.unhandledRejection);
  };
}
