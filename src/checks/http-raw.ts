// The plain-HTTP status check on libuv's TCP handle (raw-tcp.ts): connect, write the prebuilt
// request, read up to the final status line (StatusHead), close with RST. Same results and reasons
// as StatusProbe on a net.Socket, without the Duplex stream, its events and its buffering per check.
// HTTPS, expect_body, digests and urls keep their net/TLS/undici probes.

import type { HttpCheckSpec } from '../config/model.js';
import { internalErrorText, report } from './boundary.js';
import type { Boundary } from './boundary.js';
import { startDeadline, stoppedResult } from './deadline.js';
import type { Deadline, StopCause } from './deadline.js';
import { StatusHead } from './http-probe.js';
import type { Prepared } from './http-probe.js';
import { localErrno, notRunResult } from './local-error.js';
import { errnoName, rawConnect, rawTcp } from './raw-tcp.js';
import type { ConnectReq, RawTcp, WriteReq } from './raw-tcp.js';
import { classifyNetError } from './socket-util.js';
import type { CheckReasonCode, CheckResult } from './types.js';

/** Can this check run on the raw handle? Plain HTTP status checks only. */
export function rawHttpFits(prepared: Prepared): boolean {
  return rawTcp !== null && !prepared.tls && prepared.invalid === null && prepared.expectBody === null;
}

export function checkHttpRaw(prepared: Prepared, spec: HttpCheckSpec, family: number, signal: AbortSignal): Promise<CheckResult> {
  return new Promise<CheckResult>((resolve) => {
    new RawStatusProbe(prepared, spec, resolve).start(family, signal);
  });
}

// libuv calls these three from C++: a throw would be uncaught, so each ends inside the probe's boundary.
function onConnect(status: number, _handle: RawTcp, req: ConnectReq): void {
  const probe = req.owner as RawStatusProbe | null;
  req.owner = null;
  try {
    probe?.connected(status);
  } catch (err) {
    if (probe) report(probe, err);
  }
}

function onWritten(this: WriteReq, status: number): void {
  const probe = this.owner as RawStatusProbe | null;
  this.owner = null;
  try {
    if (status < 0) probe?.failed(status);
  } catch (err) {
    if (probe) report(probe, err);
  }
}

function onRead(this: RawTcp, buf: ArrayBuffer | undefined): void {
  const probe = this.owner as RawStatusProbe | null | undefined;
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

class RawStatusProbe implements Boundary {
  readonly checkType = 'http';
  readonly #p: Prepared;
  readonly #spec: HttpCheckSpec;
  readonly #start = performance.now();
  readonly #head = new StatusHead();
  #resolve: ((r: CheckResult) => void) | null;
  #handle: RawTcp | null = null;
  #connectReq: ConnectReq | null = null;
  #deadline: Deadline | null = null;
  #connected = false;

  constructor(prepared: Prepared, spec: HttpCheckSpec, resolve: (r: CheckResult) => void) {
    this.#p = prepared;
    this.#spec = spec;
    this.#resolve = resolve;
  }

  start(family: number, signal: AbortSignal): void {
    const deadline = startDeadline(signal, this.#spec.timeoutMs, this.#onStop, this);
    this.#deadline = deadline;
    if (deadline.cause !== null) return;
    const c = rawConnect(rawTcp!, family, this.#p.host, this.#p.port, this, onConnect);
    if (typeof c === 'number') return this.failed(c);
    this.#handle = c.handle;
    this.#connectReq = c.req;
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
    const v = this.#head.push(chunk, this.#spec.expectStatus);
    if (v !== null) this.#finish(v.up, v.code, v.text);
  }

  caught(err: unknown): void {
    this.#finish(false, 'error', internalErrorText(err));
  }

  /** A negative libuv status from connect, write or read (EOF: the server closed first). */
  failed(status: number): void {
    if (this.#resolve === null) return;
    const name = errnoName(status);
    if (name === 'EOF') return this.#finish(false, 'reset', this.#head.closedText());
    const err = { code: name };
    const local = localErrno(err);
    if (local !== null) return this.#settle(notRunResult(this.#p.label, local, performance.now() - this.#start));
    const known = classifyNetError(err);
    if (known !== null) this.#finish(false, known.code, known.text);
    else this.#finish(false, 'error', `${this.#connected ? 'read' : 'connect'} ${name} ${this.#p.host}:${this.#p.port}`);
  }

  readonly #onStop = (cause: StopCause): void => {
    const r = stoppedResult(cause, this.#p.label, this.#spec.timeoutMs, performance.now() - this.#start);
    this.#settle(cause === 'timeout' && this.#connected ? { ...r, reason: `${r.reason} (connected, waiting for the response)` } : r);
  };

  #finish(up: boolean, code: CheckReasonCode, text: string): void {
    this.#settle({ up, code, reason: `${this.#p.label}: ${text}`, latencyMs: performance.now() - this.#start });
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
