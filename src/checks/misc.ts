// MISC checker: run an operator's command (argv, no shell) in its own process group; its exit code is the verdict.

import type { ChildProcess } from 'node:child_process';
import { formatEndpoint } from '../config/endpoint.js';
import { internalErrorText, spawnChild } from './boundary.js';
import type { Boundary } from './boundary.js';
import { startDeadline } from './deadline.js';
import { killTagged, newRunTag, RUN_TAG_VAR } from './escapees.js';
import { localErrno, notRunResult } from './local-error.js';
import { OutputTail, PIPE_WAIT_MS, signalGroup } from './process-group.js';
import type { Checker, CheckReasonCode, CheckResult, CheckTarget } from './types.js';

/** How long a timed-out command gets between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 1000;
/** How long to wait for a SIGKILLed process to be reaped before giving up on it (D state, ...). */
const REAP_WAIT_MS = 5000;
const TAIL_BYTES = 4096;

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * - Exit 0 = up (configured weight). With dynamic_weight, exit 2..255 = up with weight (code - 2);
 *   exit 1 (or any non-zero without dynamic_weight) = down, code exit_code; death by signal likewise.
 * - stdout/stderr are drained continuously; only their last 4 KiB are kept, for the reason text.
 * - On timeout the group gets SIGTERM, then SIGKILL after KILL_GRACE_MS; on cancellation (shutdown)
 *   SIGKILL at once. When the command exits on its own, whatever it left running in its group is
 *   SIGKILLed: a check runs every few seconds and must not pile up background processes.
 * - Descendants that left the group (setsid) are found by the LVSD_CHECK_RUN tag in their
 *   environment (escapees.ts) and SIGKILLed at the same points.
 * - The output pipes get at most PIPE_WAIT_MS to close after those kills (and never past the
 *   deadline): a grandchild that ignores TERM and holds them cannot wedge the check.
 */
export const checkMisc: Checker = async (target, signal) => {
  const started = performance.now();
  const spec = target.spec;
  const real = formatEndpoint({ ...target.address, port: spec.port });
  const label = spec.type === 'misc' ? `MISC ${clip(spec.command.join(' '), 120)} @${real}` : `MISC @${real}`;
  const result = (up: boolean, code: CheckReasonCode, detail: string, weight?: number): CheckResult => ({
    up,
    code,
    reason: `${label}: ${detail}`,
    latencyMs: performance.now() - started,
    ...(weight === undefined ? {} : { weight }),
  });
  if (spec.type !== 'misc') return result(false, 'error', `MISC checker given a ${spec.type} check`);
  const [command, ...args] = spec.command;
  if (command === undefined) return result(false, 'spawn_failed', 'empty command');

  const stopper = new AbortController();
  // A throw in any callback (the child's events, its pipes' data) stops the wait; the command is then killed like a timed-out one.
  let thrown: { readonly err: unknown } | null = null;
  const boundary: Boundary = {
    checkType: target.spec.type,
    caught: (err) => {
      thrown ??= { err };
      stopper.abort();
    },
  };
  const internal = (): { readonly err: unknown } | null => thrown;
  const deadline = startDeadline(signal, spec.timeoutMs, (cause) => stopper.abort(cause), boundary);
  const stdout = new OutputTail(TAIL_BYTES);
  const stderr = new OutputTail(TAIL_BYTES);
  const lastLine = (): string => stderr.lastLine() || stdout.lastLine();
  const withOutput = (text: string): string => (lastLine() ? `${text}: ${lastLine()}` : text);
  let child: ChildProcess | undefined;
  const tag = newRunTag();
  try {
    if (stopper.signal.aborted) return result(false, 'error', 'cancelled');
    try {
      child = spawnChild(boundary, command, args, {
        detached: true, // own session and process group, so the whole tree can be killed
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...commandEnv(target), [RUN_TAG_VAR]: tag },
      });
    } catch (err) {
      const errno = localErrno(err);
      if (errno !== null) return notRunResult(label, errno, performance.now() - started);
      return result(false, 'spawn_failed', `cannot run ${command}: ${errText(err)}`);
    }
    const proc = child;
    const exited = new Promise<Exit>((resolve) => proc.once('exit', (code, sig) => resolve({ code, signal: sig })));
    const closed = new Promise<void>((resolve) => proc.once('close', () => resolve()));
    // Attaching 'data' right away keeps the pipes drained, so a chatty command never blocks on write.
    proc.stdout?.on('data', (c: Buffer) => stdout.push(c));
    proc.stderr?.on('data', (c: Buffer) => stderr.push(c));
    const spawnError = await new Promise<Error | null>((resolve) => {
      proc.once('spawn', () => resolve(null));
      proc.once('error', resolve);
    });
    // A later 'error' (a failed kill) must not become an uncaught exception; outcomes come from 'exit'.
    proc.on('error', () => {});
    if (spawnError !== null || proc.pid === undefined) {
      // fork() hitting a process or fd limit (EAGAIN, EMFILE, ENOMEM) says nothing about the real.
      const errno = localErrno(spawnError);
      if (errno !== null) return notRunResult(label, errno, performance.now() - started);
      return result(false, 'spawn_failed', `cannot run ${command}: ${errText(spawnError)}`);
    }
    const pgid = proc.pid;

    const stop = abortPromise(stopper.signal);
    const first = await Promise.race([exited, stop.promise.then(() => null)]).finally(stop.release);

    const threw = internal();
    if (threw !== null) {
      signalGroup(pgid, 'SIGKILL');
      await killTagged(tag, pgid);
      await waitMs(exited, REAP_WAIT_MS);
      return result(false, 'error', internalErrorText(threw.err));
    }

    if (first !== null) {
      signalGroup(pgid, 'SIGKILL'); // leftovers of a finished command
      await killTagged(tag, pgid); // and those that left its group
      // Read the output to its end, unless time is up or something unkillable holds the pipes.
      await waitMs(settleWithin(closed, stopper.signal), PIPE_WAIT_MS);
      const late = internal();
      if (late !== null) return result(false, 'error', internalErrorText(late.err));
      return judgeExit(first, spec.dynamicWeight, result, withOutput);
    }

    if (deadline.cause === 'cancelled') {
      signalGroup(pgid, 'SIGKILL');
      await killTagged(tag, pgid);
      await waitMs(exited, REAP_WAIT_MS);
      return result(false, 'error', 'cancelled');
    }

    signalGroup(pgid, 'SIGTERM');
    const ended = await graceOver(Promise.all([exited, closed]), KILL_GRACE_MS, signal);
    signalGroup(pgid, 'SIGKILL'); // anything that ignored SIGTERM, or outlived the leader
    await killTagged(tag, pgid);
    await waitMs(exited, REAP_WAIT_MS);
    await waitMs(closed, PIPE_WAIT_MS);
    const how = ended ? 'terminated with SIGTERM' : `killed with SIGKILL after ${KILL_GRACE_MS} ms grace`;
    return result(false, 'timeout', withOutput(`timed out after ${spec.timeoutMs} ms (${how})`));
  } catch (err) {
    // Only a bug gets here; it is still a result, never a throw.
    return result(false, 'error', errText(err));
  } finally {
    deadline.dispose();
    // Safety net for a path that returned (or threw) while the command still ran.
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      signalGroup(child.pid, 'SIGKILL');
      void killTagged(tag, child.pid);
    }
    child?.stdout?.destroy();
    child?.stderr?.destroy();
  }
};

function judgeExit(
  exit: Exit,
  dynamicWeight: boolean,
  result: (up: boolean, code: CheckReasonCode, detail: string, weight?: number) => CheckResult,
  withOutput: (text: string) => string,
): CheckResult {
  if (exit.code === null) return result(false, 'exit_code', withOutput(`killed by ${exit.signal ?? 'a signal'}`));
  if (exit.code === 0) return result(true, 'ok', 'exit 0');
  if (dynamicWeight && exit.code >= 2) return result(true, 'ok', `exit ${exit.code} (weight ${exit.code - 2})`, exit.code - 2);
  return result(false, 'exit_code', withOutput(`exit ${exit.code}`));
}

function commandEnv(target: CheckTarget): NodeJS.ProcessEnv {
  const ctx = target.context;
  // Every variable is always set (empty when it does not apply) so scripts may use `set -u`.
  return {
    ...process.env,
    LVSD_SERVICE: ctx.serviceName,
    LVSD_PROTOCOL: ctx.protocol,
    LVSD_VIP: ctx.vip?.host ?? '',
    LVSD_VPORT: ctx.vip ? String(ctx.vip.port) : '',
    LVSD_FWMARK: ctx.fwmark === null ? '' : String(ctx.fwmark),
    LVSD_RIP: target.address.host,
    LVSD_RPORT: String(target.spec.port),
  };
}

/** Wait for `p` unless `signal` aborts first; detaches from the signal either way. */
async function settleWithin(p: Promise<unknown>, signal: AbortSignal): Promise<void> {
  const stop = abortPromise(signal);
  try {
    await Promise.race([p, stop.promise]);
  } finally {
    stop.release();
  }
}

/** Wait for `p` at most `ms`. True if `p` settled in time. */
async function waitMs(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The SIGTERM grace: wait for `p` at most `ms`, cut short by the caller's cancellation. */
async function graceOver(p: Promise<unknown>, ms: number, cancel: AbortSignal): Promise<boolean> {
  const stop = abortPromise(cancel);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
      stop.promise.then(() => false),
    ]);
  } finally {
    clearTimeout(timer);
    stop.release();
  }
}

/**
 * Resolves once `signal` aborts; `release()` detaches the listener so a wait that lost a race
 * leaves nothing behind on a signal that lives on (the caller's).
 */
function abortPromise(signal: AbortSignal): { promise: Promise<void>; release: () => void } {
  let release = (): void => {};
  const promise = new Promise<void>((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
    release = () => signal.removeEventListener('abort', onAbort);
  });
  return { promise, release };
}

function errText(err: unknown): string {
  if (err === null || err === undefined) return 'unknown error';
  const code = (err as NodeJS.ErrnoException).code;
  const message = err instanceof Error ? err.message : String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
