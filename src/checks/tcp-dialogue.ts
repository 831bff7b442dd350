// TCP dialogue check: connect, then a list of send/expect steps (SMTP banner, HELO, 250, QUIT; POP,
// IMAP, FTP), all inside the check's one deadline. Up when every step has passed.
//
// Each `expect` is matched against what the server sent since the previous match (at most
// TCP_MAX_READ bytes), so a step sees the answer to its own `send`. A step without `expect` is
// done once its bytes are written; a step without `send` only waits (the banner).
// The patterns are multi-line (`^` and `$` match at every line): line protocols answer in lines,
// and the rest of a multi-line reply (SMTP's "250-..." after EHLO) may arrive after its first line
// matched, ahead of the next answer, so "^221" must still find the 221 line.

import type { Socket } from 'node:net';
import { formatHost } from '../config/endpoint.js';
import type { DialogueStep, TcpCheckSpec } from '../config/model.js';
import { guard, internalErrorText, netConnect } from './boundary.js';
import type { Boundary } from './boundary.js';
import { startDeadline, stoppedResult } from './deadline.js';
import type { Deadline, StopCause } from './deadline.js';
import { localErrno, notRunResult } from './local-error.js';
import { classifyNetError, closeSocket, excerpt } from './socket-util.js';
import { checkTcp, TCP_MAX_READ } from './tcp.js';
import type { CheckReasonCode, CheckResult, Checker, CheckTarget } from './types.js';

export const checkTcpDialogue: Checker = async (target, signal) => {
  const spec = target.spec;
  if (spec.type !== 'tcp' || spec.dialogue === undefined) throw new TypeError('checkTcpDialogue given a check without dialogue');
  const probe = new DialogueProbe(target, spec, spec.dialogue, signal);
  try {
    return await probe.run();
  } finally {
    probe.close();
  }
};

/** The checker for type tcp: a dialogue here, anything else on the plain tcp hot path (tcp.ts). */
export const checkTcpAny: Checker = (target, signal) =>
  target.spec.type === 'tcp' && target.spec.dialogue !== undefined ? checkTcpDialogue(target, signal) : checkTcp(target, signal);

const compiled = new WeakMap<readonly DialogueStep[], (RegExp | null)[]>();

/** The steps' patterns with the `m` flag, compiled once per spec (no `g`: test() keeps no state). */
function patternsOf(steps: readonly DialogueStep[]): (RegExp | null)[] {
  let list = compiled.get(steps);
  if (list === undefined) {
    list = steps.map((s) => (s.expect === null ? null : new RegExp(s.expect, 'm')));
    compiled.set(steps, list);
  }
  return list;
}

/** Bytes of a step's `send`: Latin-1 keeps "\x00".."\xff" byte-exact; anything wider is UTF-8. */
function bytesOf(text: string): Buffer {
  return Buffer.from(text, /[^\x00-\xff]/.test(text) ? 'utf8' : 'latin1');
}

class DialogueProbe implements Boundary {
  readonly checkType = 'tcp';
  readonly #target: CheckTarget;
  readonly #spec: TcpCheckSpec;
  readonly #steps: readonly DialogueStep[];
  readonly #signal: AbortSignal;
  readonly #start = performance.now();
  readonly #label: string;
  #patterns: (RegExp | null)[] = [];
  #socket: Socket | null = null;
  #deadline: Deadline | null = null;
  #step = 0;
  /** Unmatched bytes since the last match, one char per byte (Latin-1). */
  #received = '';
  #resolve: ((r: CheckResult) => void) | null = null;

  constructor(target: CheckTarget, spec: TcpCheckSpec, steps: readonly DialogueStep[], signal: AbortSignal) {
    this.#target = target;
    this.#spec = spec;
    this.#steps = steps;
    this.#signal = signal;
    this.#label = `TCP dialogue ${formatHost(target.address)}:${spec.port}`;
  }

  run(): Promise<CheckResult> {
    return new Promise<CheckResult>((resolve) => {
      this.#resolve = resolve;
      try {
        this.#patterns = patternsOf(this.#steps);
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
      socket.once('connect', () => this.#runStep());
    });
  }

  close(): void {
    this.#deadline?.dispose();
    if (this.#socket !== null) closeSocket(this.#socket);
  }

  caught(err: unknown): void {
    // Not #where(): it reads the step, which may be what threw.
    this.#finish(false, 'error', `step ${this.#step + 1} of ${this.#steps.length}: ${internalErrorText(err)}`);
  }

  /** "step 2 (send "HELO x\r\n"): " for reasons; empty once every step passed. */
  #where(): string {
    const s = this.#steps[this.#step];
    if (s === undefined) return '';
    const what = s.send !== null ? `send ${excerpt(s.send, 40)}` : `expect /${s.expect}/`;
    return `step ${this.#step + 1} of ${this.#steps.length} (${what}): `;
  }

  /** Start the current step: write its bytes, then wait for its pattern (or move on). */
  #runStep(): void {
    if (this.#resolve === null) return;
    const step = this.#steps[this.#step];
    if (step === undefined) {
      this.#finish(true, 'ok', `${this.#steps.length} step(s) done`);
      return;
    }
    const afterSend = (): void => {
      if (this.#patterns[this.#step] === null) {
        this.#step++;
        this.#runStep();
      } else {
        this.#test();
      }
    };
    if (step.send !== null && step.send.length > 0) {
      // A failed write also emits 'error', which carries the errno and ends the check.
      this.#socket!.write(bytesOf(step.send), guard(this, (err) => {
        if (!err) afterSend();
      }));
    } else {
      afterSend();
    }
  }

  #onData(chunk: Buffer): void {
    if (this.#resolve === null) return;
    const room = TCP_MAX_READ - this.#received.length;
    this.#received += chunk.toString('latin1', 0, Math.min(chunk.length, room));
    // Bytes that arrive while a step is still writing wait for its pattern.
    if (this.#patterns[this.#step] !== null && this.#patterns[this.#step] !== undefined) this.#test();
  }

  #test(): void {
    const re = this.#patterns[this.#step];
    if (re === null || re === undefined) return;
    if (re.test(this.#received)) {
      this.#received = '';
      this.#step++;
      this.#runStep();
    } else if (this.#received.length >= TCP_MAX_READ) {
      this.#finish(false, 'banner_mismatch', `${this.#where()}no match in the first ${TCP_MAX_READ} bytes: ${excerpt(this.#received)}`);
    }
  }

  #onEnd(): void {
    if (this.#step >= this.#steps.length) return;
    const got = this.#received.length === 0 ? 'nothing' : excerpt(this.#received);
    this.#finish(false, 'banner_mismatch', `${this.#where()}closed by server (received ${got})`);
  }

  #onStop(cause: StopCause): void {
    if (cause === 'timeout' && this.#socket !== null && !this.#socket.connecting) {
      const got = this.#received.length === 0 ? 'nothing' : excerpt(this.#received);
      const code: CheckReasonCode = this.#received.length > 0 ? 'banner_mismatch' : 'timeout';
      this.#finish(false, code, `${this.#where()}no match within ${this.#spec.timeoutMs} ms (received ${got})`);
    } else {
      this.#settle(stoppedResult(cause, this.#label, this.#spec.timeoutMs, performance.now() - this.#start));
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
