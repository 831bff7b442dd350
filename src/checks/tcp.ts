// TCP check: connect, optionally send bytes and match a regex on the reply (SMTP/POP/IMAP/FTP banners, PING/PONG).

import type { Socket } from 'node:net';
import { formatHost } from '../config/endpoint.js';
import type { TcpCheckSpec } from '../config/model.js';
import { guard, internalErrorText, netConnect } from './boundary.js';
import type { Boundary } from './boundary.js';
import { startDeadline, stoppedResult } from './deadline.js';
import type { Deadline, StopCause } from './deadline.js';
import { localErrno, notRunResult } from './local-error.js';
import { classifyNetError, closeSocket, compilePattern, excerpt } from './socket-util.js';
import { checkTcpConnect, isPlainConnect } from './tcp-connect.js';
import type { CheckReasonCode, CheckResult, Checker, CheckTarget } from './types.js';

/** Most bytes read while waiting for `expect`; banners and short replies fit well inside. */
export const TCP_MAX_READ = 4096;

export const checkTcp: Checker = (target, signal) => {
  const spec = target.spec;
  if (spec.type !== 'tcp') return Promise.reject(new TypeError(`checkTcp given a ${spec.type} check`));
  // Plain connect (the common case, thousands a second): the raw handle, no net.Socket.
  if (isPlainConnect(spec)) return checkTcpConnect(target, spec, signal);
  return checkTcpSocket(target, spec, signal);
};

async function checkTcpSocket(target: CheckTarget, spec: TcpCheckSpec, signal: AbortSignal): Promise<CheckResult> {
  const probe = new TcpProbe(target, spec, signal);
  try {
    return await probe.run();
  } finally {
    probe.close();
  }
}

const sendBuffers = new WeakMap<TcpCheckSpec, Buffer>();

/** `send` as bytes: Latin-1 keeps "\x00".."\xff" escapes byte-exact; anything wider is UTF-8. */
function sendBuffer(spec: TcpCheckSpec, send: string): Buffer {
  let buf = sendBuffers.get(spec);
  if (buf === undefined) {
    buf = Buffer.from(send, /[^\x00-\xff]/.test(send) ? 'utf8' : 'latin1');
    sendBuffers.set(spec, buf);
  }
  return buf;
}

/** One check's state; a class so the socket and timer are plain fields that `close()` can reach. */
class TcpProbe implements Boundary {
  readonly checkType = 'tcp';
  readonly #target: CheckTarget;
  readonly #spec: TcpCheckSpec;
  readonly #signal: AbortSignal;
  readonly #start = performance.now();
  readonly #label: string;
  #expect: RegExp | null = null;
  #socket: Socket | null = null;
  #deadline: Deadline | null = null;
  #connected = false;
  /** Bytes read so far, one char per byte (Latin-1), so the regex sees the wire bytes. */
  #received = '';
  #resolve: ((r: CheckResult) => void) | null = null;

  constructor(target: CheckTarget, spec: TcpCheckSpec, signal: AbortSignal) {
    this.#target = target;
    this.#spec = spec;
    this.#signal = signal;
    this.#label = `TCP connect ${formatHost(target.address)}:${spec.port}`;
  }

  run(): Promise<CheckResult> {
    return new Promise<CheckResult>((resolve) => {
      this.#resolve = resolve;
      if (this.#spec.expect !== null) {
        try {
          this.#expect = compilePattern(this.#spec.expect);
        } catch (err) {
          this.#finish(false, 'error', `invalid expect pattern: ${(err as Error).message}`);
          return;
        }
      }
      this.#deadline = startDeadline(this.#signal, this.#spec.timeoutMs, (cause) => this.#onStop(cause), this);
      if (this.#deadline.cause !== null) return;
      const socket = netConnect(this, { host: this.#target.address.host, port: this.#spec.port });
      this.#socket = socket;
      socket.on('error', (err) => this.#onError(err));
      socket.on('close', () => this.#finish(false, 'reset', 'connection closed'));
      socket.once('connect', () => this.#onConnect(socket));
      if (this.#expect !== null) {
        socket.on('data', (chunk: Buffer) => this.#onData(chunk));
        socket.once('end', () => this.#onEnd());
      }
    });
  }

  close(): void {
    this.#deadline?.dispose();
    if (this.#socket !== null) closeSocket(this.#socket);
  }

  caught(err: unknown): void {
    this.#finish(false, 'error', internalErrorText(err));
    this.close();
  }

  #onConnect(socket: Socket): void {
    this.#connected = true;
    const send = this.#spec.send;
    if (send !== null && send.length > 0) {
      const buf = sendBuffer(this.#spec, send);
      socket.write(buf, guard(this, (err) => {
        // A failed write also emits 'error', which carries the better errno.
        if (!err && this.#expect === null) this.#finish(true, 'ok', `connected, sent ${buf.length} bytes`);
      }));
    } else if (this.#expect === null) {
      this.#finish(true, 'ok', 'connected');
    }
  }

  #onData(chunk: Buffer): void {
    const room = TCP_MAX_READ - this.#received.length;
    this.#received += chunk.toString('latin1', 0, Math.min(chunk.length, room));
    const re = this.#expect!;
    if (re.test(this.#received)) {
      this.#finish(true, 'ok', `reply matches ${re}`);
    } else if (this.#received.length >= TCP_MAX_READ) {
      this.#finish(false, 'banner_mismatch', `no match for ${re} in the first ${TCP_MAX_READ} bytes: ${excerpt(this.#received)}`);
    }
  }

  #onEnd(): void {
    const n = this.#received.length;
    this.#finish(
      false,
      'banner_mismatch',
      n === 0
        ? `closed by server before sending anything (expected ${this.#expect})`
        : `closed by server after ${n} bytes not matching ${this.#expect}: ${excerpt(this.#received)}`,
    );
  }

  #onError(err: Error): void {
    const errno = localErrno(err);
    if (errno !== null) return this.#settle(notRunResult(this.#label, errno, performance.now() - this.#start));
    const known = classifyNetError(err);
    if (known !== null) this.#finish(false, known.code, known.text);
    else this.#finish(false, 'error', err.message);
  }

  #onStop(cause: StopCause): void {
    const timeoutMs = this.#spec.timeoutMs;
    if (cause === 'timeout' && this.#received.length > 0) {
      // The server talks but never said what we expect: a mismatch tells the operator more than a timeout.
      this.#finish(false, 'banner_mismatch', `no match for ${this.#expect} within ${timeoutMs} ms: ${excerpt(this.#received)}`);
    } else if (cause === 'timeout' && this.#connected && this.#expect !== null) {
      this.#finish(false, 'timeout', `connected, no matching reply within ${timeoutMs} ms`);
    } else {
      this.#settle(stoppedResult(cause, this.#label, timeoutMs, performance.now() - this.#start));
    }
  }

  #finish(up: boolean, code: CheckReasonCode, text: string): void {
    this.#settle({ up, code, reason: `${this.#label}: ${text}`, latencyMs: performance.now() - this.#start });
  }

  #settle(result: CheckResult): void {
    const resolve = this.#resolve;
    if (resolve === null) return;
    this.#resolve = null;
    resolve(result);
  }
}
