// The plain-HTTP probe on libuv's TCP handle (raw-tcp.ts): connect, write the prebuilt request, feed
// what arrives to the response reader (http-response.ts) until it decides, close with RST. Same
// results and reasons as the probe on a net.Socket (http-socket.ts), without the Duplex stream, its
// events and its buffering per check. HTTPS runs on the socket.

import type { HttpCheckSpec } from '../config/model.js';
import { internalErrorText, report } from './boundary.js';
import type { Boundary } from './boundary.js';
import { startDeadline, stoppedResult } from './deadline.js';
import type { Deadline, StopCause } from './deadline.js';
import { reasonOf } from './http-prepare.js';
import type { Prepared } from './http-prepare.js';
import type { ResponseReader, Verdict } from './http-response.js';
import { localErrno, notRunResult } from './local-error.js';
import { errnoName, rawConnect, rawTcp } from './raw-tcp.js';
import type { ConnectReq, RawTcp, WriteReq } from './raw-tcp.js';
import { classifyNetError } from './socket-util.js';
import type { CheckResult } from './types.js';

/** Can this check run on the raw handle? Plain HTTP (no TLS) with a request that could be built. */
export function rawHttpFits(prepared: Prepared): boolean {
  return rawTcp !== null && !prepared.tls && prepared.invalid === null;
}

export function checkHttpRaw(prepared: Prepared, spec: HttpCheckSpec, reader: ResponseReader, family: number, signal: AbortSignal): Promise<CheckResult> {
  return new Promise<CheckResult>((resolve) => {
    new RawHttpProbe(prepared, spec, reader, resolve).start(family, signal);
  });
}

/** The same check by callback: `done` exactly once (the scheduler's hot path, no promise). */
export function startHttpRaw(
  prepared: Prepared,
  spec: HttpCheckSpec,
  reader: ResponseReader,
  family: number,
  signal: AbortSignal,
  done: (r: CheckResult) => void,
): void {
  new RawHttpProbe(prepared, spec, reader, done).start(family, signal);
}

// libuv calls these three from C++: a throw would be uncaught, so each ends inside the probe's boundary.
function onConnect(status: number, _handle: RawTcp, req: ConnectReq): void {
  const probe = req.owner as RawHttpProbe | null;
  req.owner = null;
  try {
    probe?.connected(status);
  } catch (err) {
    if (probe) report(probe, err);
  }
}

function onWritten(this: WriteReq, status: number): void {
  const probe = this.owner as RawHttpProbe | null;
  this.owner = null;
  try {
    if (status < 0) probe?.failed(status);
  } catch (err) {
    if (probe) report(probe, err);
  }
}

function onRead(this: RawTcp, buf: ArrayBuffer | undefined): void {
  const probe = this.owner as RawHttpProbe | null | undefined;
  if (probe == null) return;
  try {
    const b = rawTcp!;
    const nread = b.streamBaseState[b.kReadBytesOrError]!;
    if (nread > 0 && buf !== undefined) probe.data(new Uint8Array(buf, b.streamBaseState[b.kArrayBufferOffset]!, nread));
    else if (nread < 0) probe.failed(nread);
  } catch (err) {
    report(probe, err);
  }
}

class RawHttpProbe implements Boundary {
  readonly checkType = 'http';
  readonly #p: Prepared;
  readonly #spec: HttpCheckSpec;
  readonly #reader: ResponseReader;
  readonly #start = performance.now();
  #resolve: ((r: CheckResult) => void) | null;
  #handle: RawTcp | null = null;
  #connectReq: ConnectReq | null = null;
  #deadline: Deadline | null = null;
  #connected = false;

  constructor(prepared: Prepared, spec: HttpCheckSpec, reader: ResponseReader, resolve: (r: CheckResult) => void) {
    this.#p = prepared;
    this.#spec = spec;
    this.#reader = reader;
    this.#resolve = resolve;
  }

  /** Never throws once the probe exists: a throw here is this check's failed result, settled once. */
  start(family: number, signal: AbortSignal): void {
    try {
      const deadline = startDeadline(signal, this.#spec.timeoutMs, this.#onStop, this);
      this.#deadline = deadline;
      if (deadline.cause !== null) return;
      const c = rawConnect(rawTcp!, family, this.#p.host, this.#p.port, this, onConnect);
      if (typeof c === 'number') return this.failed(c);
      this.#handle = c.handle;
      this.#connectReq = c.req;
    } catch (err) {
      report(this, err);
    }
  }

  connected(status: number): void {
    this.#connectReq = null;
    const handle = this.#handle!;
    if (status !== 0) {
      this.#handle = null;
      handle.close();
      return this.failed(status);
    }
    this.#connected = true;
    handle.owner = this;
    handle.onread = onRead;
    const b = rawTcp!;
    const w = new b.WriteWrap();
    w.handle = handle;
    w.oncomplete = onWritten;
    w.async = false;
    w.owner = this;
    let err = handle.writeBuffer(w, this.#p.request);
    if (err === 0 && b.streamBaseState[b.kLastWriteWasAsync] === 0) w.owner = null;
    if (err === 0) err = handle.readStart();
    if (err !== 0) this.failed(err);
  }

  data(chunk: Uint8Array): void {
    if (this.#resolve === null) return;
    const v = this.#reader.push(chunk);
    if (v !== null) this.#finish(v);
  }

  caught(err: unknown): void {
    this.#finish({ up: false, code: 'error', text: internalErrorText(err) });
  }

  /** A negative libuv status from connect, write or read (EOF: the server closed first). */
  failed(status: number): void {
    if (this.#resolve === null) return;
    const name = errnoName(status);
    if (name === 'EOF') return this.#finish(this.#reader.end());
    const err = { code: name };
    const local = localErrno(err);
    if (local !== null) return this.#settle(notRunResult(this.#p.label, local, performance.now() - this.#start));
    const known = classifyNetError(err);
    const got = this.#reader.status;
    if (known !== null) this.#finish({ up: false, code: known.code, text: got > 0 ? `status ${got}, then ${known.text}` : known.text });
    else this.#finish({ up: false, code: 'error', text: `${this.#connected ? 'read' : 'connect'} ${name} ${this.#p.host}:${this.#p.port}` });
  }

  readonly #onStop = (cause: StopCause): void => {
    const r = stoppedResult(cause, this.#p.label, this.#spec.timeoutMs, performance.now() - this.#start);
    const progress = this.#reader.progress();
    if (cause !== 'timeout' || !this.#connected) return this.#settle(r);
    this.#settle({ ...r, reason: `${r.reason} (${progress ?? 'connected, waiting for the response'})` });
  };

  #finish(v: Verdict): void {
    this.#settle({ up: v.up, code: v.code, reason: reasonOf(this.#p, v.text), latencyMs: performance.now() - this.#start });
  }

  #settle(result: CheckResult): void {
    const resolve = this.#resolve;
    if (resolve === null) return;
    this.#resolve = null;
    this.#deadline?.dispose();
    this.#close();
    resolve(result);
  }

  /** RST once connected (no TIME_WAIT, nothing more is read); a pending connect is abandoned. */
  #close(): void {
    const handle = this.#handle;
    if (handle === null) return;
    this.#handle = null;
    if (this.#connectReq !== null) {
      this.#connectReq.owner = null;
      this.#connectReq = null;
      handle.close();
      return;
    }
    handle.owner = null;
    handle.readStop();
    if (handle.reset() !== 0) handle.close();
  }
}
