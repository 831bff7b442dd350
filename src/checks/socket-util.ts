// Socket helpers shared by the socket checkers (TCP, HTTP, DNS): errno -> reason code, closing without TIME_WAIT,
// and cached regexes with printable excerpts for banner/body mismatch messages.

import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { CheckReasonCode } from './types.js';

export interface Classified {
  readonly code: CheckReasonCode;
  readonly text: string;
}

/** Reason code and short text for a socket-level error; `null` when the errno is not a network one. */
export function classifyNetError(err: unknown): Classified | null {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return { code: 'refused', text: 'connection refused' };
    case 'ECONNRESET':
      return { code: 'reset', text: 'connection reset by peer' };
    case 'EPIPE':
      return { code: 'reset', text: 'connection closed by peer while writing (EPIPE)' };
    case 'EHOSTUNREACH':
      return { code: 'unreachable', text: 'host unreachable' };
    case 'EHOSTDOWN':
      return { code: 'unreachable', text: 'host down' };
    case 'ENETUNREACH':
      return { code: 'unreachable', text: 'network unreachable' };
    case 'ETIMEDOUT':
      // The kernel gave up (SYN retries) before our own deadline did.
      return { code: 'timeout', text: 'connection timed out (ETIMEDOUT)' };
    default:
      return null;
  }
}

/**
 * Closes a check's socket now. A connected TCP socket is closed with RST (SO_LINGER 0 via
 * `resetAndDestroy`): closing with FIN leaves one TIME_WAIT entry per check on the director for 60 s,
 * ~600,000 entries at 10,000 checks/s, past the kernel's tcp_max_tw_buckets. The check has its
 * answer by then, so the abortive close loses nothing; the realserver just sees ECONNRESET on a
 * connection it was done with, and neither side keeps TIME_WAIT.
 * Plain `destroy()` instead when:
 * - still connecting: closing the fd abandons the SYN (`resetAndDestroy` would wait for the connect);
 * - our side already sent FIN (the peer closed first and Node auto-ended): then the peer holds the
 *   TIME_WAIT, and Node 20 cannot reset a socket it shut down (libuv refuses, and the handle is
 *   then never closed: a leaked fd that kept the process alive in a trial);
 * - TLS: Node cannot reset a TLSWrap handle (ERR_INVALID_HANDLE_TYPE), and resetting the TCP
 *   socket under a TLSSocket crashed Node 20 in a trial. HTTPS checks therefore close with FIN.
 */
export function closeSocket(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.connecting || socket.writableEnded || (socket as TLSSocket).encrypted === true) socket.destroy();
  else socket.resetAndDestroy();
}

const MAX_CACHED_PATTERNS = 1024;
const patterns = new Map<string, RegExp>();

/**
 * The compiled RegExp for a config pattern, cached: checks run thousands of times a second with a
 * handful of distinct patterns. No `g`/`y` flag, so `test()` keeps no state and sharing is safe.
 * Throws SyntaxError on an invalid pattern (config validation should have caught it).
 */
export function compilePattern(source: string): RegExp {
  let re = patterns.get(source);
  if (re === undefined) {
    re = new RegExp(source);
    // Patterns only come from config; a bound keeps many reloads from growing the map forever.
    if (patterns.size >= MAX_CACHED_PATTERNS) patterns.clear();
    patterns.set(source, re);
  }
  return re;
}

/** A short, single-line, quoted rendering of bytes a server sent, for a reason text. */
export function excerpt(text: string, max = 80): string {
  const cut = text.length > max ? text.slice(0, max) : text;
  // JSON escaping shows \r, \n, \u0000 and friends instead of breaking the log line; it leaves DEL
  // and the C1 controls (0x7f-0x9f) as they are, so those are escaped the same way here (found by
  // the fuzz tests: a reason is also a notify command's LVSD_REASON and a terminal's line).
  return JSON.stringify(cut).replace(/[\x7f-\x9f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + (text.length > max ? '...' : '');
}
