// The HTTP probe on a net.Socket or a TLS socket: HTTPS, and plain HTTP where the raw handle is not
// to be had (http-raw.ts). Connects, writes the prebuilt request, feeds what arrives to the one
// response reader (http-response.ts), and maps socket errors, the TLS handshake and the deadline to
// results. A new connection per check; redirects are never followed (a 301 is just a status).

import type { Socket } from 'node:net';
import type { HttpCheckSpec } from '../config/model.js';
import { internalErrorText, netConnect, tlsConnect } from './boundary.js';
import type { Boundary } from './boundary.js';
import { startDeadline, stoppedResult } from './deadline.js';
import type { Deadline, StopCause } from './deadline.js';
import { reasonOf } from './http-prepare.js';
import type { Prepared } from './http-prepare.js';
import type { ResponseReader, Verdict } from './http-response.js';
import { localErrno, notRunResult } from './local-error.js';
import { classifyNetError, closeSocket } from './socket-util.js';
import type { CheckResult } from './types.js';

export async function checkHttpSocket(p: Prepared, spec: HttpCheckSpec, reader: ResponseReader, signal: AbortSignal): Promise<CheckResult> {
  const probe = new SocketProbe(p, spec, reader, signal);
  try {
    return await probe.run();
  } finally {
    probe.close();
  }
}

class SocketProbe implements Boundary {
  readonly #p: Prepared;
  readonly #spec: HttpCheckSpec;
  readonly #reader: ResponseReader;
  readonly #signal: AbortSignal;
  readonly #start = performance.now();
  #socket: Socket | null = null;
  #deadline: Deadline | null = null;
  #resolve: ((r: CheckResult) => void) | null = null;
  /** The first system error on the socket (ECONNRESET, ...): it explains a later generic one. */
  #socketError: Error | null = null;
  #tcpConnected = false;
  #tlsDone = false;

  constructor(p: Prepared, spec: HttpCheckSpec, reader: ResponseReader, signal: AbortSignal) {
    this.#p = p;
    this.#spec = spec;
    this.#reader = reader;
    this.#signal = signal;
  }

  get checkType(): string {
    return this.#spec.type;
  }

  caught(err: unknown): void {
    this.#finish({ up: false, code: 'error', text: internalErrorText(err) });
  }

  run(): Promise<CheckResult> {
    return new Promise<CheckResult>((resolve) => {
      this.#resolve = resolve;
      if (this.#p.invalid !== null) return this.#finish({ up: false, code: 'error', text: this.#p.invalid });
      this.#deadline = startDeadline(this.#signal, this.#spec.timeoutMs, (cause) => this.#onStop(cause), this);
      if (this.#deadline.cause === null) this.#open();
    });
  }

  /** Idempotent; runs as soon as the result is known and again from the checker's `finally`. */
  close(): void {
    this.#deadline?.dispose();
    if (this.#socket !== null) closeSocket(this.#socket);
  }

  #open(): void {
    const p = this.#p;
    const socket = p.tls
      ? tlsConnect(this, { host: p.host, port: p.port, servername: p.servername, rejectUnauthorized: this.#spec.tlsVerify, ALPNProtocols: ['http/1.1'] })
      : netConnect(this, { host: p.host, port: p.port });
    this.#socket = socket;
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.syscall !== undefined) this.#socketError ??= err;
      this.#fail(err);
    });
    socket.once('connect', () => {
      this.#tcpConnected = true;
      if (!p.tls) socket.write(p.request);
    });
    if (p.tls) {
      socket.once('secureConnect', () => {
        this.#tlsDone = true;
        socket.write(p.request);
      });
    }
    socket.on('data', (chunk: Buffer) => {
      if (this.#resolve === null) return;
      const v = this.#reader.push(chunk);
      if (v !== null) this.#finish(v);
    });
    socket.once('end', () => this.#finish(this.#reader.end()));
  }

  /** Maps an error to a result, using the socket's own errno and the phase it failed in. */
  #fail(err: Error): void {
    const cause = this.#socketError ?? err;
    const errno = localErrno(cause);
    if (errno !== null) return this.#settle(notRunResult(this.#p.label, errno, performance.now() - this.#start));
    const known = classifyNetError(cause);
    if (this.#p.tls && this.#tcpConnected && !this.#tlsDone && (known === null || known.code === 'reset')) {
      // Whatever breaks between TCP connect and a finished handshake is a TLS problem to the operator.
      this.#finish({ up: false, code: 'tls', text: `TLS handshake failed: ${known?.text ?? cause.message}` });
    } else if (known !== null) {
      const status = this.#reader.status;
      this.#finish({ up: false, code: known.code, text: status > 0 ? `status ${status}, then ${known.text}` : known.text });
    } else {
      this.#finish({ up: false, code: 'error', text: cause.message });
    }
  }

  #onStop(cause: StopCause): void {
    const r = stoppedResult(cause, this.#p.label, this.#spec.timeoutMs, performance.now() - this.#start);
    const progress = this.#reader.progress();
    if (cause === 'timeout' && progress !== null) {
      // Headers came but the body never decided in time; say how far it got.
      this.#settle({ ...r, reason: `${r.reason} (${progress})` });
    } else if (cause === 'timeout' && this.#tcpConnected) {
      const phase = this.#p.tls && !this.#tlsDone ? 'in the TLS handshake' : 'waiting for the response';
      this.#settle({ ...r, reason: `${r.reason} (connected, ${phase})` });
    } else {
      this.#settle(r);
    }
  }

  #finish(v: Verdict): void {
    this.#settle({ up: v.up, code: v.code, reason: reasonOf(this.#p, v.text), latencyMs: performance.now() - this.#start });
  }

  #settle(result: CheckResult): void {
    const resolve = this.#resolve;
    if (resolve === null) return;
    this.#resolve = null;
    resolve(result);
    // Close at once, not after the awaiting code resumes: nothing more is read (FIN instead of RST, see closeSocket).
    this.close();
  }
}
