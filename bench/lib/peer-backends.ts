// What the check benchmarks run against and read: the N loopback "realservers" (a second HAProxy
// or a Node process), a free port, and one metric family read from lvsd's /metrics/NAME.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchBuildDir } from './paths.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Servers {
  child: ChildProcess;
  tcpPort: number;
  httpPort: number;
  stop(): Promise<void>;
}

/**
 * The N "realservers": one listener on 0.0.0.0 per check type, answering every 127.0.x.y.
 * `haproxy` (default): a second HAProxy that accepts and holds (TCP) or answers 200 (HTTP), in C,
 * two threads. `node`: a Node process (bench/lib/servers.ts); it overflows its accept queue from
 * about 5,000 connections a second on this machine (TcpExtListenOverflows), the SYNs it drops come
 * back a second later, and with them the checks: that measured the backend, not the checkers.
 */
export async function startServers(kind: 'haproxy' | 'node'): Promise<Servers> {
  if (kind === 'haproxy') {
    const [tcpPort, httpPort] = [await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), 'lvsd-peer-backend-'));
    const cfg = [
      'global', '  maxconn 8000', '  nbthread 2',
      'defaults', '  timeout client 10s', '  timeout server 5s', '  timeout connect 1s',
      // Accept and hold until the checker closes (it resets at once): an immediate reject would
      // reset the connection before the checker saw it complete.
      'frontend tcp_reals', '  mode tcp', `  bind 0.0.0.0:${tcpPort} backlog 8192`,
      '  tcp-request inspect-delay 10s', '  tcp-request content accept if WAIT_END', '  default_backend nowhere',
      'backend nowhere', '  mode tcp',
      'frontend http_reals', '  mode http', `  bind 0.0.0.0:${httpPort} backlog 8192`,
      '  http-request return status 200 content-type text/plain string ok',
    ].join('\n');
    writeFileSync(join(dir, 'backend.cfg'), `${cfg}\n`);
    const child = spawn('haproxy', ['-db', '-f', join(dir, 'backend.cfg')], { stdio: ['ignore', 'ignore', 'inherit'] });
    await waitListening(tcpPort);
    await waitListening(httpPort);
    return {
      child, tcpPort, httpPort,
      stop: async () => {
        child.kill('SIGTERM');
        if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const child = fork(join(benchBuildDir, 'lib', 'servers.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ports = await new Promise<{ tcpPort: number; httpPort: number }>((resolve, reject) => {
    child.once('message', (m: { tcpPort: number; httpPort: number }) => resolve(m));
    child.once('exit', (code) => reject(new Error(`bench servers exited with ${code}`)));
  });
  return { child, ...ports, stop: async () => void child.disconnect() };
}

async function waitListening(port: number): Promise<void> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`backend on port ${port} never listened`);
}

export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

// One family per request (/metrics/NAME): the whole /metrics at 10,000 reals is ~25 MB and
// seconds of lvsd's event loop, which would show up as late checks in the very figures read here.
export async function family(port: number, name: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics/${name}`);
  // A build from before /metrics/NAME (--lvsd): the whole text.
  return res.status === 404 ? (await fetch(`http://127.0.0.1:${port}/metrics`)).text() : res.text();
}

export async function metric(port: number, name: string): Promise<number> {
  const text = await family(port, name);
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.slice(name.length + 1));
}
