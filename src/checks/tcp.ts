// The checker of type tcp. Every tcp check is a dialogue: connect, then a list of send/expect steps,
// all inside the check's one deadline; up when every step has passed.
//
// - no steps (no send, expect or dialogue): connect and close, the hot path. It runs on libuv's raw
//   handle (tcp-connect.ts) where Node has it, and here otherwise;
// - `send`/`expect`: one step, reported in the words of a plain check ("reply matches /^220/");
// - `dialogue`: its steps (SMTP banner, HELO, 250, QUIT; POP, IMAP, FTP), reported per step.
//
// Each `expect` is matched against what the server sent since the previous match (at most
// TCP_MAX_READ bytes), so a step sees the answer to its own `send`. A step without `expect` is
// done once its bytes are written; a step without `send` only waits (the banner).
// A dialogue's patterns are multi-line (`^` and `$` match at every line): line protocols answer in
// lines, and the rest of a multi-line reply (SMTP's "250-..." after EHLO) may arrive after its first
// line matched, ahead of the next answer, so "^221" must still find the 221 line. The single
// `expect` keeps its plain flags, as it always had.

import type { Socket } from 'node:net';
import { formatHost } from '../config/endpoint.js';
import type { DialogueStep, TcpCheckSpec } from '../config/model.js';
import { guard, internalErrorText, netConnect } from './boundary.js';
import type { Boundary } from './boundary.js';
import { startDeadline, stoppedResult } from './deadline.js';
import type { Deadline, StopCause } from './deadline.js';
import { localErrno, notRunResult } from './local-error.js';
import { classifyNetError, closeSocket, compilePattern, excerpt } from './socket-util.js';
import { checkTcpConnect, isPlainConnect, startTcpConnect } from './tcp-connect.js';
import type { CheckReasonCode, CheckResult, Checker, CheckTarget } from './types.js';

/** Most bytes read while waiting for an `expect`; banners and short replies fit well inside. */
export const TCP_MAX_READ = 4096;

export const checkTcp: Checker = (target, signal) => {
  const spec = target.spec;
  if (spec.type !== 'tcp') return Promise.reject(new TypeError(`checkTcp given a ${spec.type} check`));
  // Plain connect (the common case, thousands a second): the raw handle, no net.Socket.
  if (isPlainConnect(spec)) return checkTcpConnect(target, spec, signal);
  return runDialogue(target, spec, signal);
};

/** The plain connect by callback (checks/index.ts startCheck); false for a check with steps. */
export function startTcp(target: CheckTarget, signal: AbortSignal, done: (result: CheckResult) => void): boolean {
  const spec = target.spec;
  if (spec.type !== 'tcp' || !isPlainConnect(spec)) return false;
  startTcpConnect(target, spec, signal, done);
  return true;
}

async function runDialogue(target: CheckTarget, spec: TcpCheckSpec, signal: AbortSignal): Promise<CheckResult> {
  const probe = new DialogueProbe(target, spec, signal);
  try {
    return await probe.run();
  } finally {
    probe.close();
  }
}

/** A step ready to run: its compiled pattern, and its bytes once first sent. */
interface Step {
  readonly expect: RegExp | null;
  /** The step as written (its `send` is read when the step runs). */
  readonly source: DialogueStep;
  bytes: Buffer | null;
}

/** A spec's steps: its dialogue, or its send/expect as one step, or none (plain connect). */
function stepsOf(spec: TcpCheckSpec): { steps: readonly DialogueStep[]; dialogue: boolean } {
  if (spec.dialogue !== undefined) return { steps: spec.dialogue, dialogue: true };
  const send = spec.send !== null && spec.send.length > 0 ? spec.send : null;
  return { steps: send === null && spec.expect === null ? [] : [{ send, expect: spec.expect }], dialogue: false };
}

const compiled = new WeakMap<TcpCheckSpec, readonly Step[]>();

/** The steps with their bytes and patterns, made once per spec (no `g`: test() keeps no state). Throws on a bad pattern. */
function compile(spec: TcpCheckSpec, steps: readonly DialogueStep[], dialogue: boolean): readonly Step[] {
  let list = compiled.get(spec);
  if (list === undefined) {
    list = steps.map((s): Step => ({
      expect: s.expect === null ? null : dialogue ? new RegExp(s.expect, 'm') : compilePattern(s.expect),
      source: s,
      bytes: null,
    }));
    compiled.set(spec, list);
  }
  return list;
}

/** Bytes of a `send`: Latin-1 keeps "\x00".."\xff" byte-exact; anything wider is UTF-8. */
function bytesOf(text: string): Buffer {
  return Buffer.from(text, /[^\x00-\xff]/.test(text) ? 'utf8' : 'latin1');
}

class DialogueProbe implements Boundary {
  readonly checkType = 'tcp';
  readonly #target: CheckTarget;
  readonly #spec: TcpCheckSpec;
  readonly #signal: AbortSignal;
  readonly #start = performance.now();
  readonly #label: string;
  /** Written as `dialogue` (reasons name the step) rather than as send/expect. */
  readonly #dialogue: boolean;
  readonly #written: readonly DialogueStep[];
  #steps: readonly Step[] = [];
  #socket: Socket | null = null;
  #deadline: Deadline | null = null;
  #connected = false;
  #step = 0;
  /** Unmatched bytes since the last match, one char per byte (Latin-1), so a pattern sees the wire bytes. */
  #received = '';
  #resolve: ((r: CheckResult) => void) | null = null;

  constructor(target: CheckTarget, spec: TcpCheckSpec, signal: AbortSignal) {
    this.#target = target;
    this.#spec = spec;
    this.#signal = signal;
    const { steps, dialogue } = stepsOf(spec);
    this.#written = steps;
    this.#dialogue = dialogue;
    this.#label = `TCP ${dialogue ? 'dialogue' : 'connect'} ${formatHost(target.address)}:${spec.port}`;
  }

  run(): Promise<CheckResult> {
    return new Promise<CheckResult>((resolve) => {
      this.#resolve = resolve;
      try {
        this.#steps = compile(this.#spec, this.#written, this.#dialogue);
      } catch (err) {
        this.#finish(false, 'error', `invalid expect pattern: ${(err as Error).message}`);
        return;
      }
      this.#deadline = startDeadline(this.#signal, this.#spec.timeoutMs, (cause) => this.#onStop(cause), this);
      if (this.#deadline.cause !== null) return;
      const socket = netConnect(this, { host: this.#target.address.host, port: this.#spec.port });
      this.#socket = socket;
      socket.on('error', (err) => {
        const errno = localErrno(err);
        if (errno !== null) return this.#settle(notRunResult(this.#label, errno, performance.now() - this.#start));
        const known = classifyNetError(err);
        this.#finish(false, known?.code ?? 'error', `${this.#where()}${known?.text ?? err.message}`);
      });
      socket.on('close', () => this.#finish(false, 'reset', `${this.#where()}connection closed`));
      socket.on('data', (chunk: Buffer) => this.#onData(chunk));
      socket.once('end', () => this.#onEnd());
      socket.once('connect', () => {
        this.#connected = true;
        this.#runStep();
      });
    });
  }

  close(): void {
    this.#deadline?.dispose();
    if (this.#socket !== null) closeSocket(this.#socket);
  }

  caught(err: unknown): void {
    // Not #where(): it reads the step, which may be what threw.
    const at = this.#dialogue ? `step ${this.#step + 1} of ${this.#steps.length}: ` : '';
    this.#finish(false, 'error', `${at}${internalErrorText(err)}`);
  }

  /** "step 2 of 4 (send "HELO x\r\n"): " for a dialogue's reasons; empty once every step passed, and for send/expect. */
  #where(): string {
    const s = this.#written[this.#step];
    if (!this.#dialogue || s === undefined) return '';
    const what = s.send !== null ? `send ${excerpt(s.send, 40)}` : `expect /${s.expect}/`;
    return `step ${this.#step + 1} of ${this.#steps.length} (${what}): `;
  }

  /** Start the current step: write its bytes, then wait for its pattern (or move on). */
  #runStep(): void {
    if (this.#resolve === null) return;
    const step = this.#steps[this.#step];
    if (step === undefined) return this.#finish(true, 'ok', this.#doneText());
    const afterSend = (): void => {
      if (step.expect === null) {
        this.#step++;
        this.#runStep();
      } else {
        this.#test();
      }
    };
    const text = step.source.send;
    if (text !== null && text.length > 0) {
      // A failed write also emits 'error', which carries the errno and ends the check.
      this.#socket!.write((step.bytes ??= bytesOf(text)), guard(this, (err) => {
        if (!err) afterSend();
      }));
    } else {
      afterSend();
    }
  }

  #doneText(): string {
    if (this.#dialogue) return `${this.#steps.length} step(s) done`;
    const only = this.#steps[0];
    if (only === undefined) return 'connected';
    return only.expect !== null ? `reply matches ${only.expect}` : `connected, sent ${only.bytes?.length ?? 0} bytes`;
  }

  #onData(chunk: Buffer): void {
    if (this.#resolve === null) return;
    // send/expect reads only for a reply it expects; a dialogue keeps what comes for the next pattern.
    if (!this.#dialogue && this.#steps[this.#step]?.expect == null) return;
    const room = TCP_MAX_READ - this.#received.length;
    this.#received += chunk.toString('latin1', 0, Math.min(chunk.length, room));
    // Bytes that arrive while a step is still writing wait for its pattern.
    if (this.#steps[this.#step]?.expect != null) this.#test();
  }

  #test(): void {
    const re = this.#steps[this.#step]?.expect;
    if (re == null) return;
    if (re.test(this.#received)) {
      this.#received = '';
      this.#step++;
      this.#runStep();
    } else if (this.#received.length >= TCP_MAX_READ) {
      const what = this.#dialogue ? `${this.#where()}no match` : `no match for ${re}`;
      this.#finish(false, 'banner_mismatch', `${what} in the first ${TCP_MAX_READ} bytes: ${excerpt(this.#received)}`);
    }
  }

  #onEnd(): void {
    const step = this.#steps[this.#step];
    if (step === undefined) return;
    if (this.#dialogue) {
      const got = this.#received.length === 0 ? 'nothing' : excerpt(this.#received);
      return this.#finish(false, 'banner_mismatch', `${this.#where()}closed by server (received ${got})`);
    }
    // send/expect: a close only matters to a reply still expected (the write's own outcome decides the rest).
    if (step.expect === null) return;
    const n = this.#received.length;
    this.#finish(
      false,
      'banner_mismatch',
      n === 0
        ? `closed by server before sending anything (expected ${step.expect})`
        : `closed by server after ${n} bytes not matching ${step.expect}: ${excerpt(this.#received)}`,
    );
  }

  #onStop(cause: StopCause): void {
    const timeoutMs = this.#spec.timeoutMs;
    const expect = this.#steps[this.#step]?.expect ?? null;
    if (cause === 'timeout' && this.#dialogue && this.#connected) {
      const got = this.#received.length === 0 ? 'nothing' : excerpt(this.#received);
      const code: CheckReasonCode = this.#received.length > 0 ? 'banner_mismatch' : 'timeout';
      this.#finish(false, code, `${this.#where()}no match within ${timeoutMs} ms (received ${got})`);
    } else if (cause === 'timeout' && !this.#dialogue && this.#received.length > 0) {
      // The server talks but never said what we expect: a mismatch tells the operator more than a timeout.
      this.#finish(false, 'banner_mismatch', `no match for ${expect} within ${timeoutMs} ms: ${excerpt(this.#received)}`);
    } else if (cause === 'timeout' && !this.#dialogue && this.#connected && expect !== null) {
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
    this.close();
  }
}
