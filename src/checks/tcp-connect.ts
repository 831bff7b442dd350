// The plain TCP check (connect, then close with RST) on libuv's own TCP handle: the hot path of a
// director with thousands of TCP reals, so it skips net.Socket altogether.
//
// Why not net.connect: a net.Socket is a Duplex stream and an EventEmitter; creating, connecting
// and destroying one costs more CPU than the kernel's whole loopback handshake. Measured on this
// project's 2-core machine, 1,000 connect+RST a second batched every 10 ms: net.connect 61-85 us
// of CPU per check, this handle 50 us (user time 2.6-5.1 % -> 1.4-1.6 %; the kernel's share, about
// 35 us, is the same for both and for HAProxy's checks). The handle is the one net.Socket wraps,
// reached through `process.binding` (deprecated in the documentation since Node 10, still served
// for compatibility; raw-tcp.ts checks its shape and falls back to net.connect when it is missing,
// looks different, or would print a warning); its calls are the ones node:net makes.

import { formatHost } from '../config/endpoint.js';
import type { TcpCheckSpec } from '../config/model.js';
import { internalErrorText, report } from './boundary.js';
import type { Boundary } from './boundary.js';
import { startDeadline, stoppedResult } from './deadline.js';
import type { Deadline, StopCause } from './deadline.js';
import { localErrno, notRunResult } from './local-error.js';
import { classifyNetError } from './socket-util.js';
import type { CheckResult, CheckTarget } from './types.js';
import { errnoName, rawConnect, rawTcp } from './raw-tcp.js';
import type { ConnectReq, RawTcp } from './raw-tcp.js';

const binding = rawTcp;

/** True when plain connect checks run on the raw handle (else tcp.ts uses net.connect). */
export const rawTcpAvailable = binding !== null;

/** The per-target constants, computed once per probe target (the scheduler keeps the object). */
interface Prepared {
  readonly label: string;
  readonly okReason: string;
}
const preparedByTarget = new WeakMap<CheckTarget, Prepared>();

function prepare(target: CheckTarget, port: number): Prepared {
  let p = preparedByTarget.get(target);
  if (p === undefined) {
    const label = `TCP connect ${formatHost(target.address)}:${port}`;
    p = { label, okReason: `${label}: connected` };
    preparedByTarget.set(target, p);
  }
  return p;
}

/** Is `spec` a plain connect check this file can run? */
export function isPlainConnect(spec: TcpCheckSpec): boolean {
  return binding !== null && spec.expect === null && (spec.send === null || spec.send.length === 0) && spec.dialogue === undefined;
}

/** Connect, close with RST, report: the same results as tcp.ts gives for a check without send/expect. */
export function checkTcpConnect(target: CheckTarget, spec: TcpCheckSpec, signal: AbortSignal): Promise<CheckResult> {
  return new Promise<CheckResult>((resolve) => {
    new ConnectProbe(target, spec, resolve).start(signal);
  });
}

/** The same check by callback: `done` exactly once (the scheduler's hot path, no promise). */
export function startTcpConnect(target: CheckTarget, spec: TcpCheckSpec, signal: AbortSignal, done: (r: CheckResult) => void): void {
  new ConnectProbe(target, spec, done).start(signal);
}

// libuv calls this from C++: a throw would be uncaught, so it ends inside the probe's boundary.
function onComplete(status: number, _handle: RawTcp, req: ConnectReq): void {
  const probe = req.owner as ConnectProbe | null;
  req.owner = null;
  try {
    probe?.connected(status);
  } catch (err) {
    if (probe) report(probe, err);
  }
}

class ConnectProbe implements Boundary {
  readonly checkType = 'tcp';
  readonly #target: CheckTarget;
  readonly #spec: TcpCheckSpec;
  readonly #p: Prepared;
  readonly #start = performance.now();
  #resolve: ((r: CheckResult) => void) | null;
  #handle: RawTcp | null = null;
  #req: ConnectReq | null = null;
  #deadline: Deadline | null = null;

  constructor(target: CheckTarget, spec: TcpCheckSpec, resolve: (r: CheckResult) => void) {
    this.#target = target;
    this.#spec = spec;
    this.#p = prepare(target, spec.port);
    this.#resolve = resolve;
  }

  /** Never throws once the probe exists: a throw here is this check's failed result, settled once. */
  start(signal: AbortSignal): void {
    try {
      const deadline = startDeadline(signal, this.#spec.timeoutMs, this.#onStop, this);
      this.#deadline = deadline;
      if (deadline.cause !== null) return;
      const c = rawConnect(binding!, this.#target.address.family, this.#target.address.host, this.#spec.port, this, onComplete);
      if (typeof c === 'number') return this.#failed(c);
      this.#handle = c.handle;
      this.#req = c.req;
    } catch (err) {
      report(this, err);
    }
  }

  /** The connect finished (status 0) or failed (a negative errno). */
  connected(status: number): void {
    const handle = this.#handle!;
    this.#handle = null;
    this.#req = null;
    if (status === 0) {
      // RST, not FIN: no TIME_WAIT per check on the director (see socket-util.ts closeSocket).
      if (handle.reset() !== 0) handle.close();
      this.#settle({ up: true, code: 'ok', reason: this.#p.okReason, latencyMs: performance.now() - this.#start });
    } else {
      handle.close();
      this.#failed(status);
    }
  }

  caught(err: unknown): void {
    const handle = this.#handle;
    this.#handle = null;
    if (this.#req !== null) this.#req.owner = null;
    this.#req = null;
    handle?.close();
    this.#settle({ up: false, code: 'error', reason: `${this.#p.label}: ${internalErrorText(err)}`, latencyMs: performance.now() - this.#start });
  }

  #failed(status: number): void {
    const name = errnoName(status);
    const label = this.#p.label;
    const latencyMs = performance.now() - this.#start;
    const err = { code: name };
    const local = localErrno(err);
    if (local !== null) return this.#settle(notRunResult(label, local, latencyMs));
    const known = classifyNetError(err);
    const text = known !== null ? known.text : `connect ${name} ${formatHost(this.#target.address)}:${this.#spec.port}`;
    this.#settle({ up: false, code: known !== null ? known.code : 'error', reason: `${label}: ${text}`, latencyMs });
  }

  /** Timeout or the caller's abort: abandon the connect (closing the fd drops the SYN). */
  readonly #onStop = (cause: StopCause): void => {
    const handle = this.#handle;
    if (handle !== null) {
      // libuv then calls oncomplete with ECANCELED; the request no longer points here.
      this.#req!.owner = null;
      this.#handle = null;
      this.#req = null;
      handle.close();
    }
    this.#settle(stoppedResult(cause, this.#p.label, this.#spec.timeoutMs, performance.now() - this.#start));
  };

  #settle(result: CheckResult): void {
    const resolve = this.#resolve;
    if (resolve === null) return;
    this.#resolve = null;
    this.#deadline?.dispose();
    resolve(result);
  }
}
