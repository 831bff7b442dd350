// DNS checker: one query to the real over UDP or TCP, judged on id, question, rcode and answers.

import { randomInt } from 'node:crypto';
import { formatEndpoint } from '../config/endpoint.js';
import type { DnsCheckSpec, Family } from '../config/model.js';
import { guard, internalErrorText, netConnect, udpSocket } from './boundary.js';
import type { Boundary } from './boundary.js';
import { startDeadline } from './deadline.js';
import type { Deadline } from './deadline.js';
import { encodeQuery } from './dns-query.js';
import { judgeResponse, readResponse } from './dns-response.js';
import type { Exchange, SentQuery } from './dns-response.js';
import { localErrno, notRunResult } from './local-error.js';
import { classifyNetError, closeSocket } from './socket-util.js';
import type { Checker, CheckReasonCode, CheckResult } from './types.js';

interface Query extends SentQuery {
  readonly bytes: Buffer;
}

interface Peer {
  readonly host: string;
  readonly family: Family;
  readonly port: number;
}

/** The check's deadline plus a signal that aborts with it, shared by the UDP try and the TCP retry. */
interface Stop {
  readonly deadline: Deadline;
  /** The check's failure boundary: a throw in any callback aborts `signal` and becomes the result. */
  readonly boundary: Boundary;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
}

/**
 * Choices an operator can rely on (the docs state them):
 * - RD (recursion desired) is set, as dig and stub resolvers do: authoritative servers ignore it,
 *   while a recursive resolver behind LVS needs it to answer names it has not cached.
 * - A UDP answer with TC (truncated) set is asked again over TCP within the same timeout, as a
 *   resolver would; the TCP answer then decides, and a failing TCP retry is a failing check.
 * - A message with a foreign id is ignored (stale or spoofed, it must not count) and the wait goes
 *   on; bytes that do not decode as DNS at all are dns_bad_response.
 * - `expect_answer` is an unanchored regex tested against each answer-section record rendered as
 *   "NAME TTL CLASS TYPE DATA" (dns-render.ts); one matching record is enough.
 */
export const checkDns: Checker = async (target, signal) => {
  const started = performance.now();
  const spec = target.spec;
  const result = (up: boolean, code: CheckReasonCode, reason: string): CheckResult => ({
    up,
    code,
    reason,
    latencyMs: performance.now() - started,
  });
  if (spec.type !== 'dns') return result(false, 'error', `DNS checker given a ${spec.type} check`);

  const peer: Peer = { host: target.address.host, family: target.address.family, port: spec.port };
  const label = `DNS ${spec.queryType} ${spec.query} @${formatEndpoint(peer)}/${spec.transport}`;
  const query = buildQuery(spec);
  if (typeof query === 'string') return result(false, 'error', `${label}: ${query}`);

  const stopper = new AbortController();
  let thrown: { readonly err: unknown } | null = null;
  const boundary: Boundary = {
    checkType: 'dns',
    caught: (err) => {
      thrown ??= { err };
      stopper.abort();
    },
  };
  const deadline = startDeadline(signal, spec.timeoutMs, (cause) => stopper.abort(cause), boundary);
  const stop: Stop = { deadline, boundary, signal: stopper.signal, timeoutMs: spec.timeoutMs };
  try {
    let exchange =
      spec.transport === 'udp' ? await exchangeUdp(peer, query, stop) : await exchangeTcp(peer, query, stop);
    let via = '';
    if (thrown === null && exchange.ok && exchange.truncated && spec.transport === 'udp') {
      via = 'truncated over UDP, retried over TCP: ';
      exchange = await exchangeTcp(peer, query, stop);
    }
    if (thrown !== null) return result(false, 'error', `${label}: ${via}${internalErrorText((thrown as { err: unknown }).err)}`);
    if (!exchange.ok && exchange.notRun !== undefined) return notRunResult(label, exchange.notRun, performance.now() - started);
    if (!exchange.ok) return result(false, exchange.code, `${label}: ${via}${exchange.detail}`);
    if (exchange.message === null) return result(false, 'dns_bad_response', `${label}: ${via}undecodable response`);
    const judged = judgeResponse(spec.expectRcode, spec.expectAnswer, exchange.message, exchange.rcode);
    return result(judged.up, judged.code, `${label}: ${via}${judged.detail}`);
  } catch (err) {
    // A socket that could not even be created (EMFILE from a synchronous bind) is not the real's fault.
    const errno = localErrno(err);
    if (errno !== null) return notRunResult(label, errno, performance.now() - started);
    // Only a bug gets here; it is still a result, never a throw.
    return result(false, 'error', `${label}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    deadline.dispose();
  }
};

function buildQuery(spec: DnsCheckSpec): Query | string {
  const id = randomInt(0, 0x10000);
  const q = encodeQuery(spec.query, spec.queryType, id);
  return typeof q === 'string' ? q : { id, bytes: q.bytes, name: q.name, type: spec.queryType };
}

async function exchangeUdp(peer: Peer, query: Query, stop: Stop): Promise<Exchange> {
  const socket = udpSocket(stop.boundary, peer.family === 6 ? 'udp6' : 'udp4');
  let ignored = 0;
  let settle: (e: Exchange) => void = () => {};
  const done = new Promise<Exchange>((resolve) => (settle = resolve));
  const onAbort = guard(stop.boundary, (): void => settle(stopped(stop, ignored)));
  // Stays attached after close(): a late error must never become an uncaught exception.
  socket.on('error', (err) => settle(socketFailure(err, 'udp')));
  socket.on('message', (msg) => {
    const verdict = readResponse(msg, query, 'udp');
    if ('kind' in verdict) ignored += 1;
    else settle(verdict);
  });
  stop.signal.addEventListener('abort', onAbort, { once: true });
  try {
    if (stop.signal.aborted) return stopped(stop, ignored);
    // connect() so ICMP port-unreachable comes back as ECONNREFUSED and only the real's replies arrive.
    socket.connect(peer.port, peer.host, () => {
      try {
        socket.send(query.bytes, guard(stop.boundary, (err) => {
          if (err) settle(socketFailure(err, 'udp'));
        }));
      } catch (err) {
        settle(socketFailure(err, 'udp'));
      }
    });
    return await done;
  } finally {
    stop.signal.removeEventListener('abort', onAbort);
    socket.close();
  }
}

async function exchangeTcp(peer: Peer, query: Query, stop: Stop): Promise<Exchange> {
  if (stop.signal.aborted) return stopped(stop, 0);
  // allowHalfOpen: a peer's FIN must not make Node shut down our side by itself; closeSocket's RST
  // (SO_LINGER 0) fails with EINVAL after a shutdown and then leaks the handle (libuv forbids mixing them).
  const socket = netConnect(stop.boundary, { host: peer.host, port: peer.port, family: peer.family, allowHalfOpen: true });
  let ignored = 0;
  let received = 0;
  let pending: Buffer = Buffer.alloc(0);
  let settle: (e: Exchange) => void = () => {};
  const done = new Promise<Exchange>((resolve) => (settle = resolve));
  const onAbort = guard(stop.boundary, (): void => settle(stopped(stop, ignored)));
  socket.on('error', (err) => settle(socketFailure(err, 'tcp')));
  socket.on('connect', () => {
    const frame = Buffer.alloc(2 + query.bytes.length);
    frame.writeUInt16BE(query.bytes.length, 0);
    query.bytes.copy(frame, 2);
    socket.write(frame);
  });
  // Messages are length-prefixed and may arrive split across chunks or several to a chunk.
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 2) {
      const size = pending.readUInt16BE(0);
      if (pending.length < 2 + size) return;
      const verdict = readResponse(pending.subarray(2, 2 + size), query, 'tcp');
      pending = pending.subarray(2 + size);
      if (!('kind' in verdict)) {
        settle(verdict);
        return;
      }
      ignored += 1;
    }
  });
  const onClosed = (): void =>
    settle(
      bad(received === 0 ? 'connection closed without a response' : `connection closed mid-response after ${received} bytes`),
    );
  socket.on('end', onClosed);
  socket.on('close', onClosed);
  stop.signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await done;
  } finally {
    stop.signal.removeEventListener('abort', onAbort);
    closeSocket(socket);
  }
}

function stopped(stop: Stop, ignored: number): Exchange {
  if (stop.deadline.cause === 'cancelled') return { ok: false, code: 'error', detail: 'cancelled' };
  const note = ignored > 0 ? ` (ignored ${ignored} response${ignored === 1 ? '' : 's'} with a foreign id)` : '';
  return { ok: false, code: 'timeout', detail: `timed out after ${stop.timeoutMs} ms${note}` };
}

function socketFailure(err: unknown, transport: 'udp' | 'tcp'): Exchange {
  const errno = localErrno(err);
  if (errno !== null) return { ok: false, code: 'not_run', detail: errno, notRun: errno };
  const known = classifyNetError(err);
  if (known === null) return { ok: false, code: 'error', detail: err instanceof Error ? err.message : String(err) };
  // Over UDP "refused" means an ICMP port unreachable came back on the connected socket.
  const udpRefused = transport === 'udp' && known.code === 'refused';
  return { ok: false, code: known.code, detail: udpRefused ? 'port unreachable (connection refused)' : known.text };
}

function bad(detail: string): Exchange {
  return { ok: false, code: 'dns_bad_response', detail };
}
