// The agent probe (HAProxy agent-check): connect to the realserver's agent port, send the optional
// `send` string, read one line. A leaf like the checkers: a failing agent is a result, never a throw.

import type { Socket } from 'node:net';
import { guard, internalErrorText, netConnect } from './boundary.js';
import type { Boundary } from './boundary.js';

export interface AgentTarget {
  readonly host: string;
  readonly port: number;
  readonly send: string | null;
  readonly timeoutMs: number;
}

export type AgentProbeResult = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly error: string };

/** An agent answers one short line; anything longer is cut here. */
const MAX_REPLY = 1024;

export function probeAgent(target: AgentTarget): Promise<AgentProbeResult> {
  return new Promise((resolve) => {
    const where = `agent ${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
    let socket: Socket;
    let data = '';
    let done = false;
    const finish = (r: AgentProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    // A throw in any callback (socket events, the timer) is this poll's failure, counted as type "agent".
    const boundary: Boundary = { checkType: 'agent', caught: (err) => finish({ ok: false, error: `${where}: ${internalErrorText(err)}` }) };
    const timer = setTimeout(
      guard(boundary, () => finish({ ok: false, error: `${where}: no reply within ${target.timeoutMs} ms` })),
      target.timeoutMs,
    );
    socket = netConnect(boundary, { host: target.host, port: target.port });
    socket.setNoDelay(true);
    socket.once('connect', () => {
      if (target.send !== null) socket.write(target.send);
    });
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      const nl = data.indexOf('\n');
      if (nl >= 0) finish({ ok: true, text: data.slice(0, nl) });
      else if (data.length >= MAX_REPLY) finish({ ok: true, text: data.slice(0, MAX_REPLY) });
    });
    socket.once('end', () => finish(data.length > 0 ? { ok: true, text: data } : { ok: false, error: `${where}: closed without a reply` }));
    socket.once('error', (err: NodeJS.ErrnoException) => finish({ ok: false, error: `${where}: ${err.code ?? err.message}` }));
  });
}
