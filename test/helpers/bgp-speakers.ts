// Debian's BIRD 2 and ExaBGP 4.2 as child processes for tests, on loopback only: BIRD is a passive
// BGP router on 127.0.0.2:PORT with its own control socket and no kernel protocol (it never touches
// the host's routing table); ExaBGP peers with it from 127.0.0.1 and runs an API process.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { eventually } from './daemon-process.js';

export interface Speaker {
  readonly child: ChildProcess;
  log(): string;
  /** SIGTERM, SIGKILL after 10 s; resolves once exited. */
  stop(): Promise<void>;
}

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Speaker {
  const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    log: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Run a command to completion: stdout, or a rejection with its output. */
function capture(file: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${file} ${args.join(' ')}: exit ${code}: ${out}`))));
  });
}

export interface Bird extends Speaker {
  readonly dir: string;
  /** `birdc show route all` output. */
  routes(): Promise<string>;
  /** `birdc show protocols` output. */
  protocols(): Promise<string>;
  remove(): Promise<void>;
}

/** A passive BIRD router, AS 65000 on 127.0.0.2:port, accepting AS 65001 from 127.0.0.1. */
export async function startBird(port: number): Promise<Bird> {
  const dir = await mkdtemp(join(tmpdir(), 'lvsd-bird-'));
  const ctl = join(dir, 'bird.ctl');
  const conf = join(dir, 'bird.conf');
  await writeFile(
    conf,
    [
      'router id 127.0.0.2;',
      'protocol device {}',
      'protocol bgp director {',
      `  local 127.0.0.2 port ${port} as 65000;`,
      '  neighbor 127.0.0.1 as 65001;',
      '  passive on;',
      '  multihop;',
      '  ipv4 { import all; export none; };',
      '}',
      '',
    ].join('\n'),
  );
  const speaker = run('bird', ['-f', '-c', conf, '-s', ctl, '-P', join(dir, 'bird.pid')]);
  const birdc = (...args: string[]): Promise<string> => capture('birdc', ['-s', ctl, ...args]);
  await eventually(async () => ((await birdc('show', 'status')).includes('Daemon is up') ? true : undefined), 'BIRD answering on its control socket', 30_000).catch(
    (err: unknown) => {
      throw new Error(`${String(err)}\nbird output:\n${speaker.log()}`);
    },
  );
  return {
    ...speaker,
    dir,
    routes: () => birdc('show', 'route', 'all'),
    protocols: () => birdc('show', 'protocols'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface Exabgp extends Speaker {
  readonly dir: string;
  remove(): Promise<void>;
}

const shellQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * ExaBGP peering with startBird's router (connects to 127.0.0.2:port), running `argv` as its API
 * process `lvsd` (text encoder, acks on: ExaBGP 4.2's default). It keeps the test's user, as the
 * README says the bridge must (lvsd's socket is 0600, its owner's only).
 */
export async function startExabgp(port: number, argv: readonly string[]): Promise<Exabgp> {
  const dir = await mkdtemp(join(tmpdir(), 'lvsd-exabgp-'));
  const script = join(dir, 'bridge.sh');
  await writeFile(script, `#!/bin/sh\nexec ${argv.map(shellQuote).join(' ')}\n`);
  await chmod(script, 0o755);
  const conf = join(dir, 'exabgp.conf');
  await writeFile(
    conf,
    [
      'process lvsd {',
      `  run ${script};`,
      '  encoder text;',
      '}',
      'neighbor 127.0.0.2 {',
      '  router-id 127.0.0.1;',
      '  local-address 127.0.0.1;',
      '  local-as 65001;',
      '  peer-as 65000;',
      '  api { processes [ lvsd ]; }',
      '}',
      '',
    ].join('\n'),
  );
  const speaker = run('exabgp', [conf], {
    'exabgp.tcp.port': String(port),
    // The user running the test (root on CI): ExaBGP would otherwise drop to "nobody".
    'exabgp.daemon.user': userInfo().username,
    'exabgp.daemon.daemonize': 'false',
    'exabgp.api.cli': 'false',
    'exabgp.log.destination': 'stdout',
  });
  return { ...speaker, dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
