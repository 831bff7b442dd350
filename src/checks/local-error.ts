// Local resource errors: the check could not run on this director (fds, ports, memory), so its
// result says nothing about the realserver and must never move health.

import type { CheckResult } from './types.js';

/**
 * Errnos that mean "lvsd could not run the check", not "the real is down":
 * - EMFILE / ENFILE: out of file descriptors (the process's or the system's);
 * - ENOBUFS / ENOMEM: the kernel could not allocate socket buffers or memory;
 * - EADDRNOTAVAIL on connect: no free local (ephemeral) port, or the source address is gone;
 * - EAGAIN: fork/spawn hit a process limit, or a socket could not get a kernel resource now.
 */
const LOCAL_ERRNOS: ReadonlySet<string> = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM', 'EADDRNOTAVAIL', 'EAGAIN']);

/** The errno of `err` when it is a local resource error, else null. */
export function localErrno(err: unknown): string | null {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && LOCAL_ERRNOS.has(code) ? code : null;
}

/** The result of a check that could not run: down-looking but marked, so health ignores it. */
export function notRunResult(label: string, errno: string, latencyMs: number): CheckResult {
  return {
    up: false,
    code: 'not_run',
    notRun: errno,
    reason: `${label}: could not run the check (${errno}: ${describe(errno)}); health unchanged`,
    latencyMs,
  };
}

function describe(errno: string): string {
  switch (errno) {
    case 'EMFILE':
      return 'lvsd has too many open files';
    case 'ENFILE':
      return 'the system file table is full';
    case 'ENOBUFS':
    case 'ENOMEM':
      return 'out of kernel memory or buffers';
    case 'EADDRNOTAVAIL':
      return 'no local port or source address available';
    default:
      return 'resource temporarily unavailable';
  }
}
