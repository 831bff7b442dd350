// A real PowerDNS authoritative server (Debian pdns-server + pdns-backend-bind) on 127.0.0.1, as a
// non-daemon child with its own config and socket dir, serving one zone file the test gives it
// (LUA records enabled), plus a one-question UDP client built on dns-packet.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, encode } from 'dns-packet';
import { eventually, freePort } from './daemon-process.js';

export const PDNS_SERVER = '/usr/sbin/pdns_server';

export interface PowerDns {
  readonly port: number;
  /** What pdns_server printed so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Start pdns_server for `zone` from `zoneText`. Caches are off (packet and query cache) so an
 * answer reflects the LUA record's current evaluation; LUA health checks run every second.
 */
export async function startPowerDns(zone: string, zoneText: string): Promise<PowerDns> {
  const dir = await mkdtemp(join(tmpdir(), 'lvsd-pdns-'));
  await writeFile(join(dir, 'pdns.conf'), '');
  await writeFile(join(dir, 'zone'), zoneText);
  await writeFile(join(dir, 'named.conf'), `zone "${zone}" { type master; file "${join(dir, 'zone')}"; };\n`);
  const port = await freePort();
  const child: ChildProcess = spawn(
    PDNS_SERVER,
    [
      `--config-dir=${dir}`,
      `--socket-dir=${dir}`,
      '--launch=bind',
      `--bind-config=${join(dir, 'named.conf')}`,
      '--enable-lua-records=yes',
      '--lua-health-checks-interval=1',
      '--local-address=127.0.0.1',
      `--local-port=${port}`,
      '--disable-syslog',
      '--daemon=no',
      '--guardian=no',
      '--write-pid=no',
      '--webserver=no',
      '--api=no',
      '--cache-ttl=0',
      '--query-cache-ttl=0',
      '--negquery-cache-ttl=0',
      '--loglevel=6',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // Ready once it answers for its zone (SOA); a bounded poll, no fixed sleep.
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`pdns_server exited ${child.exitCode}: ${log}`);
      const r = await queryUdp(port, zone, 'SOA');
      return r.rcode === 0 ? true : undefined;
    }, 'PowerDNS answering', 30_000);
  } catch (err) {
    await stop();
    throw new Error(`${String(err)}\n${log}`);
  }
  return { port, log: () => log, stop };
}

export interface DnsReply {
  /** Numeric rcode from the header (0 NOERROR). */
  readonly rcode: number;
  /** A/AAAA data of the answer section, sorted. */
  readonly addresses: readonly string[];
}

/** One question over UDP to 127.0.0.1:port; rejects after timeoutMs without a reply. */
export function queryUdp(port: number, name: string, type: 'A' | 'AAAA' | 'SOA', timeoutMs = 2_000): Promise<DnsReply> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const id = Math.floor(Math.random() * 65_535);
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no DNS reply for ${name} ${type} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('message', (msg) => {
      const p = decode(msg);
      if (p.id !== id) return;
      clearTimeout(timer);
      socket.close();
      const addresses = (p.answers ?? [])
        .filter((a) => a.type === 'A' || a.type === 'AAAA')
        .map((a) => String((a as { data: unknown }).data))
        .sort();
      resolve({ rcode: msg.readUInt16BE(2) & 0x0f, addresses });
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    });
    socket.send(encode({ type: 'query', id, flags: 0, questions: [{ type, name, class: 'IN' }] }), port, '127.0.0.1');
  });
}
