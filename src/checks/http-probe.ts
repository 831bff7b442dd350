// What HTTP/HTTPS probes share (prepared request, connect, error mapping, results), and the status-only
// probe: write a prebuilt request, read just the status line, close. No body is ever read.

import type { Socket } from 'node:net';
import type { HttpCheckSpec } from '../config/model.js';
import { internalErrorText, netConnect, tlsConnect } from './boundary.js';
import type { Boundary } from './boundary.js';
import { startDeadline, stoppedResult } from './deadline.js';
import type { Deadline, StopCause } from './deadline.js';
import { localErrno, notRunResult } from './local-error.js';
import { classifyNetError, closeSocket, excerpt } from './socket-util.js';
import type { CheckReasonCode, CheckResult } from './types.js';

/** Most body bytes read for `expect_body`; the rest is never read (the socket is reset). */
export const HTTP_MAX_BODY = 64 * 1024;

/** Everything about a check that does not change between runs, computed once per target. */
export interface Prepared {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** "HTTP GET http://10.0.0.2:80/health", the prefix of every reason. */
  readonly label: string;
  /** SNI: spec.host without a port, unless it is an IP literal (RFC 6066 forbids those). */
  readonly servername: string | undefined;
  /** For undici: origin and a flat [name, value, ...] header list. */
  readonly origin: URL;
  readonly headers: string[];
  /** For the status-only probe: the whole request, serialised once. */
  readonly request: Buffer;
  readonly expectBody: RegExp | null;
  /** A config problem found while preparing (bad header, bad pattern); the check reports it. */
  readonly invalid: string | null;
}

/** Socket, deadline and result plumbing for one HTTP check; subclasses speak the protocol. */
export abstract class HttpProbeBase implements Boundary {
  protected readonly p: Prepared;
  protected readonly spec: HttpCheckSpec;
  readonly #signal: AbortSignal;
  readonly #start = performance.now();
  protected socket: Socket | null = null;
  #deadline: Deadline | null = null;
  #resolve: ((r: CheckResult) => void) | null = null;
  /** The first system error on the socket (ECONNRESET, ...): it explains a later generic one. */
  protected socketError: Error | null = null;
  protected tcpConnected = false;
  protected tlsDone = false;
  /** Final status once known; 0 before. */
  protected status = 0;
  protected bodyBytes = 0;

  constructor(prepared: Prepared, spec: HttpCheckSpec, signal: AbortSignal) {
    this.p = prepared;
    this.spec = spec;
    this.#signal = signal;
  }

  get checkType(): string {
    return this.spec.type;
  }

  caught(err: unknown): void {
    this.finish(false, 'error', internalErrorText(err));
  }

  run(): Promise<CheckResult> {
    return new Promise<CheckResult>((resolve) => {
      this.#resolve = resolve;
      if (this.p.invalid !== null) {
        this.finish(false, 'error', this.p.invalid);
        return;
      }
      this.#deadline = startDeadline(this.#signal, this.spec.timeoutMs, (cause) => this.#onStop(cause), this);
      if (this.#deadline.cause === null) this.begin();
    });
  }

  /** Start the protocol; called once, with the deadline running. */
  protected abstract begin(): void;

  /** Idempotent; runs as soon as the result is known and again from the checker's `finally`. */
  close(): void {
    this.#deadline?.dispose();
    if (this.socket !== null) closeSocket(this.socket);
  }

  protected get settled(): boolean {
    return this.#resolve === null;
  }

  /** Opens the TCP (and TLS) connection; `onReady` runs once it can carry HTTP. */
  protected openSocket(onReady: (socket: Socket) => void): Socket {
    const p = this.p;
    const socket = p.tls
      ? tlsConnect(this, {
          host: p.host,
          port: p.port,
          servername: p.servername,
          rejectUnauthorized: this.spec.tlsVerify,
          ALPNProtocols: ['http/1.1'],
        })
      : netConnect(this, { host: p.host, port: p.port });
    this.socket = socket;
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // Only the kernel's errors (they carry a syscall): undici also destroys sockets with its own.
      if (err.syscall !== undefined) this.socketError ??= err;
      this.onSocketError(err);
    });
    socket.once('connect', () => {
      this.tcpConnected = true;
      if (!p.tls) onReady(socket);
    });
    if (p.tls) {
      socket.once('secureConnect', () => {
        this.tlsDone = true;
        onReady(socket);
      });
    }
    return socket;
  }

  protected abstract onSocketError(err: Error): void;

  /** Maps an error to a result, using the socket's own errno and the phase it failed in. */
  protected fail(err: Error): void {
    const cause = this.socketError ?? err;
    const errno = localErrno(cause);
    if (errno !== null) return this.settle(notRunResult(this.p.label, errno, performance.now() - this.#start));
    const known = classifyNetError(cause);
    if (this.p.tls && this.tcpConnected && !this.tlsDone && (known === null || known.code === 'reset')) {
      // Whatever breaks between TCP connect and a finished handshake is a TLS problem to the operator.
      this.finish(false, 'tls', `TLS handshake failed: ${known?.text ?? cause.message}`);
    } else if (known !== null) {
      this.finish(false, known.code, this.status > 0 ? `status ${this.status}, then ${known.text}` : known.text);
    } else {
      this.finish(false, 'error', cause.message);
    }
  }

  #onStop(cause: StopCause): void {
    const r = stoppedResult(cause, this.p.label, this.spec.timeoutMs, performance.now() - this.#start);
    if (cause === 'timeout' && this.status > 0) {
      // Headers came but the body never matched in time; say how far it got.
      this.settle({ ...r, reason: `${r.reason} (status ${this.status}, ${this.bodyBytes} body bytes read)` });
    } else if (cause === 'timeout' && this.tcpConnected) {
      const phase = this.p.tls && !this.tlsDone ? 'in the TLS handshake' : 'waiting for the response';
      this.settle({ ...r, reason: `${r.reason} (connected, ${phase})` });
    } else {
      this.settle(r);
    }
  }

  protected finish(up: boolean, code: CheckReasonCode, text: string): void {
    this.settle({ up, code, reason: `${this.p.label}: ${text}`, latencyMs: performance.now() - this.#start });
  }

  protected settle(result: CheckResult): void {
    const resolve = this.#resolve;
    if (resolve === null) return;
    this.#resolve = null;
    resolve(result);
    // Close at once, not after the awaiting code resumes: nothing more is read, and no library
    // gets to close the socket its own way first (FIN instead of RST, see closeSocket).
    this.close();
  }
}

/** Judge a final status against the configured ranges. */
export function inRanges(status: number, ranges: HttpCheckSpec['expectStatus']): boolean {
  for (const [lo, hi] of ranges) if (status >= lo && status <= hi) return true;
  return false;
}

/** Status line and interim (1xx) heads are read into at most this much. */
const MAX_HEAD = 16 * 1024;
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: |$)/;

/** What the response head says once its final status line is in. */
export interface HeadVerdict {
  readonly up: boolean;
  readonly code: CheckReasonCode;
  readonly text: string;
  /** The final status; 0 when the head was not HTTP. */
  readonly status: number;
}

/**
 * Reads a response up to its final status line, skipping interim 1xx heads (103 Early Hints);
 * shared by the status-only probes on a net.Socket (StatusProbe, HTTPS) and on the raw handle
 * (http-raw.ts).
 */
export class StatusHead {
  /** Response bytes so far (Latin-1, one char per byte) and where the current head starts. */
  #head = '';
  #headStart = 0;

  /** Feed bytes: the verdict once the final status line is in (or the answer cannot be HTTP), else null. */
  push(chunk: Uint8Array, expectStatus: HttpCheckSpec['expectStatus']): HeadVerdict | null {
    const room = MAX_HEAD - this.#head.length;
    this.#head += Buffer.from(chunk.buffer, chunk.byteOffset, Math.min(chunk.length, room)).toString('latin1');
    for (;;) {
      const eol = this.#head.indexOf('\r\n', this.#headStart);
      if (eol < 0) break;
      const line = this.#head.slice(this.#headStart, eol);
      const m = STATUS_LINE.exec(line);
      if (m === null) return { up: false, code: 'error', text: `not an HTTP/1.x status line: ${excerpt(line)}`, status: 0 };
      const status = Number(m[1]);
      if (status < 100 || status >= 200 || status === 101) {
        return inRanges(status, expectStatus)
          ? { up: true, code: 'ok', text: `status ${status}`, status }
          : { up: false, code: 'bad_status', text: `status ${status}`, status };
      }
      // Interim response: its head ends with an empty line, then the next status line follows.
      const end = this.#head.indexOf('\r\n\r\n', eol);
      if (end < 0) break;
      this.#headStart = end + 4;
    }
    if (this.#head.length >= MAX_HEAD) {
      return { up: false, code: 'error', text: `no final status line in the first ${MAX_HEAD} bytes: ${excerpt(this.#head)}`, status: 0 };
    }
    return null;
  }

  /** The reason text when the server closed before a final status line. */
  closedText(): string {
    const got = this.#head.length === 0 ? 'nothing' : `${this.#head.length} bytes: ${excerpt(this.#head)}`;
    return `connection closed by server before a status line (read ${got})`;
  }
}

/**
 * The probe for checks without `expect_body`, the common case and the hot path (10,000 a second):
 * the request is a prebuilt buffer, the response is read only up to its status line, skipping
 * interim 1xx heads (103 Early Hints), and the socket is reset right after. Going through undici
 * here cost about twice the CPU on loopback (Client, Request, parser and error objects per check)
 * for a job that needs one line of the response. Plain HTTP runs on the raw handle (http-raw.ts)
 * where Node has it; this class serves HTTPS and the fallback.
 */
export class StatusProbe extends HttpProbeBase {
  readonly #head = new StatusHead();

  protected begin(): void {
    const socket = this.openSocket((s) => s.write(this.p.request));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.once('end', () => this.finish(false, 'reset', this.#head.closedText()));
  }

  protected onSocketError(err: Error): void {
    this.fail(err);
  }

  #onData(chunk: Buffer): void {
    if (this.settled) return;
    const v = this.#head.push(chunk, this.spec.expectStatus);
    if (v === null) return;
    this.status = v.status;
    this.finish(v.up, v.code, v.text);
  }
}
