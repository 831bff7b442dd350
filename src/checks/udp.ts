// UDP check: send one datagram on a connected socket; a reply matching `expect` is up, and without
// `expect` the real is up unless the port answers ICMP port unreachable within the timeout.
//
// A connected UDP socket is what makes the negative answer visible: the kernel reports the ICMP
// port unreachable of the realserver as ECONNREFUSED on that socket (an unconnected one never
// learns of it). Silence is not proof of life, but it is all UDP offers without a payload the
// service answers (keepalived's UDP_CHECK and ldirectord's connect check on UDP decide the same).

import type { Socket } from 'node:dgram';
import { formatHost } from '../config/endpoint.js';
import type { UdpCheckSpec } from '../config/model.js';
import { guard, internalErrorText, udpSocket } from './boundary.js';
import type { Boundary } from './boundary.js';
import { startDeadline, stoppedResult } from './deadline.js';
import type { StopCause } from './deadline.js';
import { localErrno, notRunResult } from './local-error.js';
import { classifyNetError, compilePattern, excerpt } from './socket-util.js';
import type { CheckReasonCode, CheckResult, Checker } from './types.js';

const payloads = new WeakMap<UdpCheckSpec, Buffer>();

/** `send` as bytes: Latin-1 keeps "\x00".."\xff" byte-exact; anything wider is UTF-8 (as tcp's send). */
export function udpPayload(spec: UdpCheckSpec): Buffer {
  let buf = payloads.get(spec);
  if (buf === undefined) {
    buf = Buffer.from(spec.send, /[^\x00-\xff]/.test(spec.send) ? 'utf8' : 'latin1');
    payloads.set(spec, buf);
  }
  return buf;
}

export const checkUdp: Checker = (target, signal) => {
  const spec = target.spec;
  if (spec.type !== 'udp') throw new TypeError(`checkUdp given a ${spec.type} check`);
  const label = `UDP ${formatHost(target.address)}:${spec.port}`;
  const start = performance.now();
  return new Promise<CheckResult>((resolve) => {
    let socket: Socket | null = null;
    let done = false;
    const settle = (r: CheckResult): void => {
      if (done) return;
      done = true;
      deadline.dispose();
      if (socket !== null) {
        const s = socket;
        socket = null;
        try {
          s.close();
        } catch {
          // already closed by a failed bind/connect
        }
      }
      resolve(r);
    };
    const finish = (up: boolean, code: CheckReasonCode, text: string): void =>
      settle({ up, code, reason: `${label}: ${text}`, latencyMs: performance.now() - start });

    let expect: RegExp | null = null;
    const onStop = (cause: StopCause): void => {
      if (cause === 'timeout' && expect === null && socket !== null) {
        finish(true, 'ok', `no ICMP port unreachable within ${spec.timeoutMs} ms (no reply expected)`);
      } else if (cause === 'timeout' && socket !== null) {
        finish(false, 'timeout', `no reply matching ${expect} within ${spec.timeoutMs} ms`);
      } else {
        settle(stoppedResult(cause, label, spec.timeoutMs, performance.now() - start));
      }
    };
    const boundary: Boundary = { checkType: 'udp', caught: (err) => finish(false, 'error', internalErrorText(err)) };
    const deadline = startDeadline(signal, spec.timeoutMs, onStop, boundary);
    if (deadline.cause !== null) return;
    try {
      expect = spec.expect === null ? null : compilePattern(spec.expect);
    } catch (err) {
      finish(false, 'error', `invalid expect pattern: ${(err as Error).message}`);
      return;
    }
    const payload = udpPayload(spec);
    const s = udpSocket(boundary, target.address.family === 6 ? 'udp6' : 'udp4');
    socket = s;
    s.on('error', (err: NodeJS.ErrnoException) => {
      // EMFILE, ENOBUFS...: the director could not run the check; health must not move.
      const errno = localErrno(err);
      if (errno !== null) settle(notRunResult(label, errno, performance.now() - start));
      else if (err.code === 'ECONNREFUSED') finish(false, 'refused', 'port unreachable (ICMP)');
      else {
        const known = classifyNetError(err);
        finish(false, known?.code ?? 'error', known?.text ?? err.message);
      }
    });
    s.on('message', (msg: Buffer) => {
      const text = msg.toString('latin1');
      if (expect === null) finish(true, 'ok', `reply of ${msg.length} bytes`);
      else if (expect.test(text)) finish(true, 'ok', `reply matches ${expect}`);
      else finish(false, 'banner_mismatch', `reply does not match ${expect}: ${excerpt(text)}`);
    });
    s.connect(spec.port, target.address.host, () => {
      if (done) return;
      s.send(payload, guard(boundary, () => {
        // A failed send also emits 'error' with the errno; nothing more to do here.
      }));
    });
  });
};
