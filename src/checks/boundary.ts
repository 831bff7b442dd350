// The failure boundary around every check: each event source a checker opens (sockets, datagram
// sockets, child processes and their pipes, the deadline's timer, the raw TCP handles' callbacks)
// is created or wired through this file, and every callback of it runs inside a try/catch that turns
// a throw into a failed result of that one check and a count per check type
// (lvsd_check_internal_errors_total). Nothing a realserver sends can then reach the process as an
// uncaught exception (issue 18: a 1-byte DNS answer threw from a 'message' handler and killed lvsd).
//
// Why emitters are adopted whole (their `emit` wrapped) rather than each listener: listeners added
// later, by us or by a library on our socket (a TLS socket's own handlers),
// are covered without anyone remembering to wrap them. The throw stops at the emit that ran the
// listener, so the stream or process object stays consistent and the check closes it as usual.

import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket, SocketType } from 'node:dgram';
import type { EventEmitter } from 'node:events';
import { connect as netConnectRaw } from 'node:net';
import type { NetConnectOpts, Socket } from 'node:net';
import { connect as tlsConnectRaw } from 'node:tls';
import type { ConnectionOptions, TLSSocket } from 'node:tls';

/** One check in flight, as the boundary sees it: its type (the metric label) and how it fails. */
export interface Boundary {
  /** "tcp", "http", "dns", ...; "agent" for agent polls. */
  readonly checkType: string;
  /** Settle the check as failed with `internalErrorText(err)`; called once per throw, may be called after it settled. */
  caught(err: unknown): void;
}

const internalErrors = new Map<string, number>();

/** Throws caught by the boundary since start, per check type (read by the metrics). */
export function checkInternalErrors(): ReadonlyMap<string, number> {
  return internalErrors;
}

/** Count a throw of a check of `checkType` that the boundary turned into a result (`n`: a check thread's batch). */
export function countInternalError(checkType: string, n = 1): void {
  internalErrors.set(checkType, (internalErrors.get(checkType) ?? 0) + n);
}

/** The reason text of a caught throw: "internal error: RangeError: ...". */
export function internalErrorText(err: unknown): string {
  let text: string;
  try {
    text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  } catch {
    text = 'an unprintable value was thrown';
  }
  // One line, no control characters: the reason goes to logs, /status and LVSD_REASON.
  return `internal error: ${text.replace(/[\x00-\x1f\x7f-\x9f]+/g, ' ').slice(0, 300)}`;
}

/** Hand `err` to the boundary: count it, then let the check settle. A throw from `caught` itself is counted, not rethrown. */
export function report(b: Boundary, err: unknown): void {
  countInternalError(b.checkType);
  try {
    b.caught(err);
  } catch {
    // The check's own failure path threw as well; the deadline still ends it.
  }
}

/** `fn` inside the boundary, for callbacks that are not emitted events (write/send callbacks, timers, abort listeners). */
export function guard<A extends unknown[]>(b: Boundary, fn: (...args: A) => void): (...args: A) => void {
  return (...args: A): void => {
    try {
      fn(...args);
    } catch (err) {
      report(b, err);
    }
  };
}

/** Every listener of `emitter`, present and future, runs inside the boundary. Returns `emitter`. */
export function adopt<T extends EventEmitter>(b: Boundary, emitter: T): T {
  const emit = emitter.emit;
  emitter.emit = function guardedEmit(this: T, ...args: Parameters<T['emit']>): boolean {
    try {
      return emit.apply(this, args);
    } catch (err) {
      report(b, err);
      return true;
    }
  } as T['emit'];
  return emitter;
}

/** net.connect inside the boundary. */
export function netConnect(b: Boundary, options: NetConnectOpts): Socket {
  return adopt(b, netConnectRaw(options));
}

/** tls.connect inside the boundary. */
export function tlsConnect(b: Boundary, options: ConnectionOptions): TLSSocket {
  return adopt(b, tlsConnectRaw(options));
}

/** dgram.createSocket inside the boundary. */
export function udpSocket(b: Boundary, type: SocketType): UdpSocket {
  return adopt(b, createSocket(type));
}

/** child_process.spawn inside the boundary: the child and its stdio streams. Throws what spawn throws. */
export function spawnChild(b: Boundary, command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const child = adopt(b, spawn(command, args, options));
  // A spawn that failed (EMFILE, ...) has no stdio streams: undefined, not null.
  for (const stream of [child.stdin, child.stdout, child.stderr]) if (stream != null) adopt(b, stream);
  return child;
}
