// Soak benchmark (issue 10): `lvsd run --dry-run` on 500 loopback reals checked every second, a
// SIGHUP every 10 s that really changes the config (one weight flips), for 10 minutes. The daemon's
// RSS, open fds and child processes are sampled every 30 s and written to bench/results/soak.md
// and soak.json: they must be flat (a leak in the reload path shows as a slope).
// Options: --minutes N (default 10), --reals N (default 500), --type http|tcp (default http).

import { LVSD_NODE_ENV, LVSD_NODE_FLAGS } from '../src/node-flags.js';
import { fork, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchBuildDir, repoRoot, resultsDir } from './lib/paths.js';
import { round } from './lib/stats.js';

interface Sample {
  readonly atS: number;
  readonly rssMb: number;
  readonly fds: number;
  readonly children: number;
  readonly reloads: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function option(args: readonly string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function startTargets(): Promise<{ proc: ChildProcess; tcpPort: number; httpPort: number }> {
  const proc = fork(join(benchBuildDir, 'lib', 'servers.js'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('message', (m) => resolve({ proc, ...(m as { tcpPort: number; httpPort: number }) }));
  });
}

/** 10 reals per service on distinct 127.0.x.y addresses; `flip` changes one weight. */
function writeServices(dir: string, reals: number, port: number, flip: boolean): void {
  const perService = 10;
  const docs: string[] = [];
  for (let s = 0; s * perService < reals; s++) {
    const lines = [`name: soak-${s}`, `address: 192.0.2.${(s % 250) + 1}:${8000 + Math.floor(s / 250)}`, 'reals:'];
    for (let r = 0; r < perService && s * perService + r < reals; r++) {
      const n = s * perService + r;
      const weight = flip && n === 0 ? 2 : 1;
      lines.push(`  - { address: "127.0.${Math.floor(n / 250) + 1}.${(n % 250) + 1}:${port}", weight: ${weight} }`);
    }
    docs.push(lines.join('\n'));
  }
  writeFileSync(join(dir, 'conf.d', 'soak.yaml'), `${docs.join('\n---\n')}\n`);
}

function sample(pid: number, startedAt: number, reloads: number): Sample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  const fds = readdirSync(`/proc/${pid}/fd`).length;
  let children = 0;
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children++;
    } catch {
      // gone meanwhile
    }
  }
  return { atS: round((Date.now() - startedAt) / 1000, 0), rssMb: round(rssKb / 1024), fds, children, reloads };
}

/** Least-squares slope of y over x (per minute when x is in seconds and scaled). */
function slopePerMin(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60;
}

export async function run(args: string[]): Promise<void> {
  const minutes = Number(option(args, 'minutes', '10'));
  const reals = Number(option(args, 'reals', '500'));
  const type = option(args, 'type', 'http');
  const targets = await startTargets();
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-soak-'));
  mkdirSync(join(dir, 'conf.d'));
  const listen = await freePort();
  writeFileSync(join(dir, 'lvsd.yaml'), [
    `listen: 127.0.0.1:${listen}`,
    'log_level: warn',
    'defaults:',
    '  forwarding: masq',
    `  check: { type: ${type}, interval: 1s, timeout: 900ms, rise: 1, fall: 2 }`,
    '',
  ].join('\n'));
  const port = type === 'http' ? targets.httpPort : targets.tcpPort;
  let flip = false;
  writeServices(dir, reals, port, flip);

  const daemon = spawn(process.execPath, [...LVSD_NODE_FLAGS, join(repoRoot, 'bin', 'lvsd.js'), 'run', '--dry-run', '-c', dir], { env: { ...process.env, ...LVSD_NODE_ENV }, stdio: ['ignore', 'ignore', 'inherit'] });
  const pid = daemon.pid!;
  const startedAt = Date.now();
  const samples: Sample[] = [];
  let reloads = 0;
  console.log(`soak: ${reals} ${type} reals at 1 s, SIGHUP every 10 s, ${minutes} min; sampling every 30 s (pid ${pid})`);
  try {
    const end = startedAt + minutes * 60_000;
    let nextHup = startedAt + 10_000;
    let nextSample = startedAt + 30_000;
    await sleep(2000);
    samples.push(sample(pid, startedAt, reloads));
    while (Date.now() < end) {
      if (daemon.exitCode !== null || daemon.signalCode !== null) throw new Error(`lvsd exited (${daemon.exitCode ?? daemon.signalCode}) during the soak`);
      const now = Date.now();
      if (now >= nextHup) {
        flip = !flip;
        writeServices(dir, reals, port, flip);
        daemon.kill('SIGHUP');
        reloads++;
        nextHup += 10_000;
      }
      if (now >= nextSample) {
        const s = sample(pid, startedAt, reloads);
        samples.push(s);
        console.log(`  t=${s.atS}s rss=${s.rssMb} MB fds=${s.fds} children=${s.children} reloads=${s.reloads}`);
        nextSample += 30_000;
      }
      await sleep(250);
    }
    samples.push(sample(pid, startedAt, reloads));
  } finally {
    daemon.kill('SIGTERM');
    targets.proc.kill();
    rmSync(dir, { recursive: true, force: true });
  }

  // Flatness over the second half (the first minutes include JIT warm-up and heap growth).
  const half = samples.filter((s) => s.atS >= (minutes * 60) / 2);
  const summary = {
    reals,
    type,
    minutes,
    reloads,
    rssFirstMb: samples[0]?.rssMb ?? NaN,
    rssLastMb: samples.at(-1)?.rssMb ?? NaN,
    rssMaxMb: Math.max(...samples.map((s) => s.rssMb)),
    rssSlopeSecondHalfMbPerMin: round(slopePerMin(half.map((s) => s.atS), half.map((s) => s.rssMb)), 2),
    fdsFirst: samples[0]?.fds ?? NaN,
    fdsLast: samples.at(-1)?.fds ?? NaN,
    fdsMax: Math.max(...samples.map((s) => s.fds)),
    childrenMax: Math.max(...samples.map((s) => s.children)),
  };
  const md = [
    '# Soak: reloads under load',
    '',
    `Command: \`npm run build && node build/bench/run.js soak\` (${new Date().toISOString().slice(0, 10)}).`,
    `${reals} ${type} reals on loopback, checked every 1 s, \`lvsd run --dry-run\`; SIGHUP every 10 s with one weight flipped (a real reload), ${minutes} minutes, ${reloads} reloads.`,
    '',
    `RSS ${summary.rssFirstMb} -> ${summary.rssLastMb} MB (max ${summary.rssMaxMb}); slope over the second half ${summary.rssSlopeSecondHalfMbPerMin} MB/min.`,
    `Open fds ${summary.fdsFirst} -> ${summary.fdsLast} (max ${summary.fdsMax}); child processes at most ${summary.childrenMax}.`,
    '',
    '| t (s) | RSS MB | open fds | children | reloads |',
    '|---:|---:|---:|---:|---:|',
    ...samples.map((s) => `| ${s.atS} | ${s.rssMb} | ${s.fds} | ${s.children} | ${s.reloads} |`),
    '',
  ].join('\n');
  await writeFile(join(resultsDir, 'soak.md'), md);
  await writeFile(join(resultsDir, 'soak.json'), `${JSON.stringify({ summary, samples }, null, 2)}\n`);
  console.log(md);
}
