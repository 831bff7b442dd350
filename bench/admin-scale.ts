// Admin commands at scale (issue 18): a `run --dry-run` daemon with 2,000 reals and 10,000 files
// in its maintenance directory; `lvsd drain web`, `lvsd enable web` (2,000 reals each) and
// `lvsd admin --json` (every page of 10,001 entries) through the real CLI and control socket.
// Per command: its exit status, its wall time, and the longest event-loop stretch of the daemon
// while it runs, measured inside the daemon (bench/lib/loop-gaps.ts, preloaded: the longest gap
// between two ticks of a 5 ms timer, with the CPU the daemon used in it) and from outside as the
// slowest /healthz round trip (polled back to back; it adds the benchmark's own lateness). Goal: no
// stretch over 50 ms. The figures are printed and saved to bench/results/admin-scale.{json,md};
// tests never assert them.
//
// Usage: node build/bench/run.js admin [--runs N] [--reals N] [--files N] [--before DIR] [--stdout file,pipe] [--cpu-prof DIR]
// --stdout: where the daemon's log goes, each measured in turn (default both): a file, or a pipe this
//   benchmark reads (a synchronous logger waits whenever its reader falls behind, as on a loaded machine).
// --before DIR: another checkout, built (e.g. `git worktree add DIR COMMIT && cd DIR && npx tsc`), measured
//   first in the same run with its own bin/lvsd.js for daemon and CLI: before and after side by side.
// --cpu-prof DIR: the daemon writes a V8 CPU profile into DIR when it stops (where a command's time goes).

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { freePort, lvsdCommand, runLvsd, startDaemon } from '../test/helpers/daemon-process.js';
import type { RunResult } from '../test/helpers/daemon-process.js';
import { resultsDir } from './lib/paths.js';
import { round } from './lib/stats.js';

interface Options {
  runs: number;
  reals: number;
  files: number;
  /** Write the daemon's CPU profile (node --cpu-prof) into this directory. */
  cpuProf: string | null;
  /** Another checkout (built) to measure first, in the same run: its bin/lvsd.js for daemon and CLI. */
  before: string | null;
  /** Where the daemon's stdout (its log) goes: a pipe the benchmark reads, or a file (as fast a reader as there is). */
  stdout: ('pipe' | 'file')[];
}

function parseArgs(args: string[]): Options {
  const o: Options = { runs: 5, reals: 2000, files: 10_000, cpuProf: null, before: null, stdout: ['file', 'pipe'] };
  for (let i = 0; i < args.length; i += 2) {
    const v = Number(args[i + 1]);
    if (args[i] === '--runs') o.runs = v;
    else if (args[i] === '--reals') o.reals = v;
    else if (args[i] === '--files') o.files = v;
    else if (args[i] === '--cpu-prof') o.cpuProf = args[i + 1] ?? null;
    else if (args[i] === '--before') o.before = args[i + 1] ?? null;
    else if (args[i] === '--stdout') o.stdout = (args[i + 1] ?? '').split(',').filter((x): x is 'pipe' | 'file' => x === 'pipe' || x === 'file');
    else throw new Error(`unknown option ${args[i]}`);
  }
  return o;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

// In a worker thread, so the round trips do not wait on the benchmark's own thread (which reads and
// parses every daemon log line): the wait measured is the daemon's and the machine's.
const POLLER = `
const { parentPort, workerData } = require('node:worker_threads');
let running = true;
let maxMs = 0;
parentPort.on('message', () => { running = false; });
(async () => {
  while (running) {
    const t = performance.now();
    try { await (await fetch(workerData.url)).arrayBuffer(); } catch { /* a refused round trip still measured the wait */ }
    maxMs = Math.max(maxMs, performance.now() - t);
  }
  parentPort.postMessage(maxMs);
})();
`;

/** Back-to-back /healthz round trips until stopped; the slowest one is the longest stall seen. */
function pollHealthz(listen: string): { stop(): Promise<number> } {
  const worker = new Worker(POLLER, { eval: true, workerData: { url: `http://${listen}/healthz` } });
  return {
    async stop() {
      const done = once(worker, 'message');
      worker.postMessage('stop');
      const [maxMs] = (await done) as [number];
      await worker.terminate();
      return maxMs;
    },
  };
}

interface Sample {
  status: number | null;
  wallMs: number;
  /** The slowest /healthz round trip (the client's view, its own lateness included). */
  stretchMs: number;
  /** The longest gap between two 5 ms ticks inside the daemon (bench/lib/loop-gaps.ts). */
  loopMs: number;
  /** The most CPU the daemon used within one such gap (its own work, not the machine's load). */
  loopCpuMs: number;
}

interface Variant {
  samples: Record<string, Sample[]>;
  baselineHealthz: number[];
  baselineLoop: number[];
  baselineLoopCpu: number[];
}

const COMMANDS: Record<string, string[]> = { 'lvsd drain web': ['drain', 'web'], 'lvsd enable web': ['enable', 'web'], 'lvsd admin --json': ['admin', '--json'] };

/** `lvsd ARGS` of this build (entry null) or of another checkout's bin/lvsd.js. */
function runCli(entry: string | null, args: readonly string[]): Promise<RunResult> {
  if (entry === null) return runLvsd(args);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/**
 * Of the loop gaps the daemon recorded overlapping [from, to] (epoch ms): the longest, and the most
 * CPU used within one; 0 when none was over 15 ms.
 */
async function longestGap(file: string, from: number, to: number): Promise<{ gap: number; cpu: number }> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const max = { gap: 0, cpu: 0 };
  for (const line of text.split('\n')) {
    const [end, gap, cpu] = line.split(' ').map(Number);
    if (end === undefined || gap === undefined || cpu === undefined || ![end, gap, cpu].every(Number.isFinite)) continue;
    if (end < from || end - gap > to) continue;
    max.gap = Math.max(max.gap, gap);
    max.cpu = Math.max(max.cpu, cpu);
  }
  return max;
}

const QUIET_MS = 500;

/** Resolves once the daemon's log has not grown for QUIET_MS (at most 30 s). */
async function logQuiet(size: () => number): Promise<void> {
  const end = performance.now() + 30_000;
  let seen = size();
  let since = performance.now();
  while (performance.now() < end) {
    await new Promise((res) => setTimeout(res, 50));
    if (size() !== seen) {
      seen = size();
      since = performance.now();
    } else if (performance.now() - since >= QUIET_MS) {
      return;
    }
  }
}

interface BenchDaemon {
  /** How much it has logged (lines or bytes): grows while it works. */
  logSize(): number;
  ready(): Promise<void>;
  stop(): Promise<void>;
}

/** The daemon with its stdout into a file: writes to it never wait for a reader. */
function fileDaemon(dir: string, logFile: string, env: NodeJS.ProcessEnv, nodeArgs: string[], entry: string | null): BenchDaemon {
  const fd = openSync(logFile, 'w');
  const argv = ['run', '-c', dir, '--dry-run'];
  const child = spawn(process.execPath, [...nodeArgs, ...(entry ? [entry, ...argv] : lvsdCommand(argv))], { env: { ...process.env, ...env }, stdio: ['ignore', fd, 'inherit'] });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const size = (): number => {
    try {
      return statSync(logFile).size;
    } catch {
      return 0;
    }
  };
  return {
    logSize: size,
    async ready() {
      for (;;) {
        const text = await readFile(logFile, 'utf8');
        if (text.includes('"event":"first_round"') && text.includes('control socket ready')) return;
        if (child.exitCode !== null) throw new Error(`daemon exited (${child.exitCode}) before it was ready`);
        await new Promise((res) => setTimeout(res, 100));
      }
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The daemon with its stdout into a pipe this benchmark reads (and parses) on its main thread. */
function pipeDaemon(dir: string, env: NodeJS.ProcessEnv, nodeArgs: string[], entry: string | null): BenchDaemon {
  const daemon = startDaemon(dir, ['--dry-run'], env, entry ? { nodeArgs, entry } : { nodeArgs });
  return {
    logSize: () => daemon.logs.length,
    async ready() {
      await daemon.waitForLog((l) => l.event === 'first_round', 'first round');
      await daemon.waitForLog((l) => l.msg === 'control socket ready', 'control socket');
    },
    async stop() {
      await daemon.stop();
    },
  };
}

async function measure(label: string, entry: string | null, stdout: 'pipe' | 'file', dir: string, listen: string, o: Options): Promise<Variant> {
  // Outside the config directory: the daemon watches that one (each appended line was an event).
  const gaps = join(`${dir}-gaps`, `loop-gaps-${label.replace(/\W/g, '-')}.txt`);
  await mkdir(`${dir}-gaps`, { recursive: true });
  const nodeArgs = ['--import', fileURLToPath(new URL('./lib/loop-gaps.js', import.meta.url))];
  if (o.cpuProf) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${o.cpuProf}`);
  const env = { LVSD_BENCH_LOOP_GAPS: gaps };
  const daemon = stdout === 'file' ? fileDaemon(dir, join(`${dir}-gaps`, `log-${label.replace(/\W/g, '-')}.json`), env, nodeArgs, entry) : pipeDaemon(dir, env, nodeArgs, entry);
  const v: Variant = { samples: Object.fromEntries(Object.keys(COMMANDS).map((k) => [k, []])), baselineHealthz: [], baselineLoop: [], baselineLoopCpu: [] };
  try {
    await daemon.ready();
    await logQuiet(daemon.logSize);
    for (let run = 0; run <= o.runs; run++) {
      const quiet = pollHealthz(listen);
      const q0 = Date.now();
      await new Promise((r) => setTimeout(r, 1000));
      const quietMs = await quiet.stop();
      const quietLoop = await longestGap(gaps, q0, Date.now());
      if (run > 0) {
        v.baselineHealthz.push(quietMs);
        v.baselineLoop.push(quietLoop.gap);
        v.baselineLoopCpu.push(quietLoop.cpu);
      }
      for (const [name, argv] of Object.entries(COMMANDS)) {
        const poll = pollHealthz(listen);
        const t = performance.now();
        const t0 = Date.now();
        const r = await runCli(entry, [argv[0]!, '-c', dir, ...argv.slice(1)]);
        const wallMs = performance.now() - t;
        // The daemon applies and logs after replying (its log lines paced over a second or two):
        // the window lasts until its log has been quiet for QUIET_MS, so the next command starts
        // on an idle daemon and no work is left outside the window that caused it.
        await logQuiet(daemon.logSize);
        const stretchMs = await poll.stop();
        const loop = await longestGap(gaps, t0, Date.now());
        // The first run warms up (JIT) and is left out of the medians.
        if (run > 0) v.samples[name]!.push({ status: r.status, wallMs, stretchMs, loopMs: loop.gap, loopCpuMs: loop.cpu });
        else console.log(`  ${label} warm-up ${name}: exit ${r.status}, ${round(wallMs)} ms, longest loop gap ${round(loop.gap)} ms (CPU ${round(loop.cpu)} ms), max /healthz wait ${round(stretchMs)} ms`);
      }
    }
  } finally {
    await daemon.stop();
  }
  return v;
}

function summarise(v: Variant) {
  return {
    baseline_loop_ms: round(median(v.baselineLoop)),
    baseline_loop_cpu_ms: round(median(v.baselineLoopCpu)),
    baseline_healthz_ms: round(median(v.baselineHealthz)),
    commands: Object.fromEntries(
      Object.entries(v.samples).map(([k, xs]) => [
        k,
        {
          exit_codes: [...new Set(xs.map((s) => s.status))],
          command_ms: round(median(xs.map((s) => s.wallMs))),
          loop_gap_ms: round(median(xs.map((s) => s.loopMs))),
          loop_gap_worst_ms: round(Math.max(...xs.map((s) => s.loopMs))),
          loop_gap_cpu_ms: round(median(xs.map((s) => s.loopCpuMs))),
          healthz_ms: round(median(xs.map((s) => s.stretchMs))),
          healthz_worst_ms: round(Math.max(...xs.map((s) => s.stretchMs))),
        },
      ]),
    ),
  };
}

export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const dir = await mkdtemp(join(tmpdir(), 'lvsd-bench-admin-'));
  const listen = `127.0.0.1:${await freePort()}`;
  try {
    await mkdir(join(dir, 'conf.d'));
    await mkdir(join(dir, 'maint'));
    await writeFile(join(dir, 'lvsd.yaml'), `listen: ${listen}\nstate_dir: ${join(dir, 'state')}\ncontrol_socket: ${join(dir, 'control.sock')}\nmaintenance_dir: maint\nlog_level: info\n`);
    let svc = 'name: web\naddress: 192.0.2.10:80\nforwarding: gate\ncheck: { type: none }\nreals:\n';
    for (let i = 0; i < o.reals; i++) svc += `  - { address: 10.0.${Math.floor(i / 250)}.${(i % 250) + 1}:80 }\n`;
    await writeFile(join(dir, 'conf.d', 'web.yaml'), svc);
    for (let i = 0; i < o.files; i++) await writeFile(join(dir, 'maint', `10.9.${Math.floor(i / 250)}.${(i % 250) + 1}`), '');
    const builds: [string, string | null][] = o.before ? [['before', join(o.before, 'bin', 'lvsd.js')], ['after', null]] : [['this build', null]];
    const variants: [string, string | null, 'pipe' | 'file'][] = o.stdout.flatMap((out) => builds.map(([b, entry]): [string, string | null, 'pipe' | 'file'] => [`${b}, log to ${out}`, entry, out]));
    const measured: Record<string, ReturnType<typeof summarise> & { raw: Variant }> = {};
    for (const [label, entry, out] of variants) {
      const v = await measure(label, entry, out, dir, listen, o);
      measured[label] = { ...summarise(v), raw: v };
    }
    const result = { at: new Date().toISOString(), node: process.version, command: `node build/bench/run.js admin ${args.join(' ')}`.trim(), reals: o.reals, files: o.files, runs: o.runs, loadavg: loadavg().map((x) => round(x, 2)), cpus: cpus().length, before: o.before, variants: measured };
    const rows: string[] = [];
    for (const name of Object.keys(COMMANDS)) {
      for (const [label] of variants) {
        const c = measured[label]!.commands[name]!;
        rows.push(`| \`${name}\` | ${label} | ${c.exit_codes.join(', ')} | ${c.command_ms} ms | **${c.loop_gap_ms} ms** | ${c.loop_gap_worst_ms} ms | ${c.loop_gap_cpu_ms} ms | ${c.healthz_ms} ms | ${c.healthz_worst_ms} ms |`);
      }
    }
    const base = variants.map(([label]) => `${label}: loop gap ${measured[label]!.baseline_loop_ms} ms (CPU in a gap ${measured[label]!.baseline_loop_cpu_ms} ms), /healthz ${measured[label]!.baseline_healthz_ms} ms`).join('; ');
    const md = `# Admin commands at ${o.files.toLocaleString('en')} maintenance files x ${o.reals.toLocaleString('en')} reals

Run: \`${result.command}\` (${result.at}, Node ${result.node}, medians of ${o.runs} runs after one warm-up${o.before ? `; "before" is the build in ${o.before}, measured first in the same run` : ''}).
A \`run --dry-run\` daemon, one service of ${o.reals.toLocaleString('en')} reals (check \`none\`), ${o.files.toLocaleString('en')} files in
maintenance_dir naming hosts no service has; each command through the real CLI and control socket. The daemon's
stdout (its JSON log) goes to a file ("log to file": writes never wait) or to a pipe this benchmark reads on its main
thread ("log to pipe": on a loaded machine the reader falls behind, and a logger writing synchronously then waits).

- Longest loop gap: inside the daemon (preloaded bench/lib/loop-gaps.ts), the longest gap between two ticks of a 5 ms
  timer that overlaps the command's window (its start until the daemon's log was quiet for 0.5 s after the CLI exited,
  so paced log lines and the reconcile pass are inside it): how long one stretch of work held
  the daemon's event loop (or the daemon waited for a CPU). The goal is measured here. Beside it, the most CPU the
  daemon used inside one gap (process.cpuUsage, all its threads): a gap much longer than its CPU was the machine's
  load (a busy 2-core machine keeps a process off the CPU for tens of ms), not lvsd's own work. Only gaps over 15 ms
  are recorded: 0 ms means none was.
- Slowest /healthz: back-to-back round trips from a worker thread of the benchmark over the same window; it adds the
  client's own lateness on a loaded machine, so it is an upper bound.

| command | build | exit | whole CLI process | longest loop gap (median) | (worst run) | most CPU in one gap (median) | slowest /healthz (median) | (worst run) |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Baseline without a command (1 s, medians): ${base}.
Goal (issue 18): exit 0, no stretch > 50 ms (in the first report: every command stalled the loop 4-7 s, and drain/enable/admin exited 1 "reply too long").
Load average at the end of the run: ${result.loadavg.join(', ')} on ${result.cpus} cores.
`;
    console.log(md);
    await mkdir(resultsDir, { recursive: true });
    await writeFile(join(resultsDir, 'admin-scale.json'), `${JSON.stringify(result, null, 2)}\n`);
    await writeFile(join(resultsDir, 'admin-scale.md'), md);
  } finally {
    await rm(dir, { recursive: true, force: true });
    await rm(`${dir}-gaps`, { recursive: true, force: true });
  }
}
