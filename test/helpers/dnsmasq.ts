// A real dnsmasq on 127.0.0.1 that answers only from the records a test gives it and never forwards.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export const DNSMASQ = '/usr/sbin/dnsmasq';

export interface Dnsmasq {
  readonly host: string;
  readonly port: number;
  /** Stops dnsmasq and the children it forks for TCP connections; waits until it has exited. */
  stop(): Promise<void>;
}

/**
 * Start dnsmasq with `recordArgs` (e.g. "--address=/www.example.test/10.0.0.5") as its only data.
 * Isolation: no config file, no /etc/hosts, no resolv.conf (so no upstream to forward to), no DHCP
 * (no --dhcp-range), listening on 127.0.0.1 only. Retries on another port if the one picked was taken.
 */
export async function startDnsmasq(recordArgs: readonly string[]): Promise<Dnsmasq> {
  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const port = await freeTcpPort();
    const child = spawn(
      DNSMASQ,
      [
        '--keep-in-foreground',
        '--conf-file=/dev/null',
        '--no-resolv',
        '--no-hosts',
        '--no-poll',
        '--bind-interfaces',
        '--listen-address=127.0.0.1',
        `--port=${port}`,
        '--pid-file=',
        '--user=root',
        '--group=root',
        '--log-facility=-',
        '--cache-size=0',
        '--local-ttl=300',
        ...recordArgs,
      ],
      // Own process group: stop() also reaches the per-connection TCP children dnsmasq forks.
      { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    const started = await waitStarted(child);
    if (started === true) return { host: '127.0.0.1', port, stop: () => stopGroup(child) };
    lastError = started;
    if (!/in use/i.test(started)) break;
  }
  throw new Error(`dnsmasq did not start: ${lastError}`);
}

/** true once dnsmasq logs "started" (its sockets are bound by then), else its stderr when it exits. */
function waitStarted(child: ChildProcess): Promise<true | string> {
  return new Promise((resolve) => {
    let log = '';
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      if (/: started, version/.test(log)) {
        child.stderr?.off('data', onData);
        child.stderr?.resume(); // keep draining later log lines
        child.off('exit', onExit);
        resolve(true);
      }
    };
    const onExit = (code: number | null): void => resolve(`exit ${code}: ${log.trim()}`);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', (err) => resolve(err.message));
  });
}

async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  await exited;
  try {
    process.kill(-child.pid, 'SIGKILL'); // any TCP child still finishing a connection
  } catch {
    // none left
  }
}

function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
