// Checks benchmark: N reals on loopback checked every second through the production pipeline,
// for N = 1,000 and 10,000, TCP and HTTP; figures to bench/results/checks.{md,json}.
//
// Options (after `node build/bench/run.js checks`): --reals 1000,10000  --types tcp,http
//   --duration 30 (s, warm-up included)  --warmup 5  --max-concurrent 256  --cpu-prof (profiles
//   of each checking process into bench/results/profiles/)  --node-flags "--max-old-space-size=64"
//   (V8/Node flags for the checking process, e.g. to see what a NODE_OPTIONS in the unit would do).

import { execFileSync, fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CaseConfig, CaseResult } from './lib/check-case.js';
import { benchBuildDir, resultsDir } from './lib/paths.js';
import type { BenchCheckType } from './lib/synthetic.js';
import type { FloorResult } from './lib/tcp-floor.js';

interface Options {
  reals: number[];
  types: BenchCheckType[];
  durationS: number;
  warmupS: number;
  maxConcurrent: number;
  cpuProf: boolean;
  nodeFlags: string[];
}

/** The targets from the brief, printed beside the figures (not asserted). */
function target(type: BenchCheckType, reals: number): { cpuPct: number | null; rssMb: number | null; text: string } {
  if (reals !== 10_000) return { cpuPct: null, rssMb: null, text: '—' };
  return type === 'tcp' ? { cpuPct: 50, rssMb: 150, text: '< 50 % CPU, < 150 MB RSS' } : { cpuPct: 100, rssMb: null, text: '< 100 % CPU' };
}

function parseArgs(args: string[]): Options {
  const o: Options = { reals: [1000, 10_000], types: ['tcp', 'http'], durationS: 30, warmupS: 5, maxConcurrent: 256, cpuProf: false, nodeFlags: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = (): string => {
      const next = args[++i];
      if (next === undefined) throw new Error(`${a} needs a value`);
      return next;
    };
    if (a === '--reals') o.reals = v().split(',').map(Number);
    else if (a === '--types') o.types = v().split(',') as BenchCheckType[];
    else if (a === '--duration') o.durationS = Number(v());
    else if (a === '--warmup') o.warmupS = Number(v());
    else if (a === '--max-concurrent') o.maxConcurrent = Number(v());
    else if (a === '--cpu-prof') o.cpuProf = true;
    else if (a === '--node-flags') o.nodeFlags = v().split(' ').filter(Boolean);
    else throw new Error(`unknown option ${a}`);
  }
  if (!(o.warmupS < o.durationS)) throw new Error('--warmup must be shorter than --duration');
  return o;
}

function nofileLimit(): number {
  // Node cannot raise RLIMIT_NOFILE itself; a child shell inherits (and so reports) our limit.
  return Number(execFileSync('sh', ['-c', 'ulimit -n']).toString().trim());
}

/** Extra figures measured around a case's steady window, outside the checking process. */
interface Around {
  /** CPU % of one core used by the target servers' process over the window. */
  serverCpuPct: number;
  /** Share of the window in which some runnable task waited for a CPU (Linux PSI), if available. */
  cpuPressurePct: number | null;
  loadavg1: number;
}

type Row = CaseResult & Around;

/** Cumulative µs in which some task waited for a CPU, from /proc/pressure/cpu; null without PSI. */
function cpuStallUs(): number | null {
  if (!existsSync('/proc/pressure/cpu')) return null;
  const m = /^some .*total=(\d+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
  return m ? Number(m[1]) : null;
}

interface Servers {
  child: ChildProcess;
  tcpPort: number;
  httpPort: number;
}

function serverCpuUs(servers: Servers): Promise<number> {
  return new Promise((resolve) => {
    servers.child.once('message', (m: { cpu: NodeJS.CpuUsage }) => resolve(m.cpu.user + m.cpu.system));
    servers.child.send('cpu');
  });
}

function startServers(): Promise<Servers> {
  const child = fork(join(benchBuildDir, 'lib', 'servers.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bench servers exited with ${code}`)));
    child.once('message', (m: { tcpPort: number; httpPort: number }) => resolve({ child, ...m }));
  });
}

function runCase(cfg: CaseConfig, o: Options, servers: Servers): Promise<Row> {
  const prof = ['--cpu-prof', `--cpu-prof-dir=${join(resultsDir, 'profiles')}`, `--cpu-prof-name=${cfg.type}-${cfg.reals}.cpuprofile`];
  const execArgv = [...o.nodeFlags, ...(o.cpuProf ? prof : [])];
  const child = fork(join(benchBuildDir, 'lib', 'check-case.js'), [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    let result: CaseResult | null = null;
    let start: Promise<{ server: number; stall: number | null; t: number }> | null = null;
    let end: Promise<{ server: number; stall: number | null; t: number }> | null = null;
    const edge = async () => ({ server: await serverCpuUs(servers), stall: cpuStallUs(), t: performance.now() });
    child.on('message', (m: CaseResult | 'window-start') => {
      if (m === 'window-start') start = edge();
      else {
        result = m;
        end = edge();
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (!result || !start || !end) return reject(new Error(`case ${cfg.type} x ${cfg.reals} exited with ${code}`));
      const r = result;
      Promise.all([start, end]).then(([a, b]) => {
        const us = (b.t - a.t) * 1000;
        resolve({
          ...r,
          serverCpuPct: Math.round(((b.server - a.server) / us) * 1000) / 10,
          cpuPressurePct: a.stall === null || b.stall === null ? null : Math.round(((b.stall - a.stall) / us) * 1000) / 10,
          loadavg1: Number(loadavg()[0]!.toFixed(2)),
        });
      }, reject);
    });
    child.send(cfg);
  });
}

function tcpFloor(port: number): Promise<FloorResult> {
  const child = fork(join(benchBuildDir, 'lib', 'tcp-floor.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m: FloorResult) => resolve(m));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`tcp floor exited with ${code}`))));
    child.send({ port, n: 20_000, concurrency: 64 });
  });
}

/** CPU time per completed check, µs: comparable across rates, unlike CPU %. */
function cpuUsPerCheck(r: CaseResult): number {
  return r.checksPerS > 0 ? Math.round((r.cpuPctOneCore / 100) * 1e6 / r.checksPerS) : NaN;
}

/** Met only if the rate was achieved too: low CPU at a fraction of the rate proves nothing. */
function verdict(r: CaseResult): string {
  const t = target(r.type, r.reals);
  if (t.cpuPct === null) return '';
  const missed: string[] = [];
  if (r.checksPerS < 0.95 * r.expectedPerS) missed.push(`rate ${Math.round((100 * r.checksPerS) / r.expectedPerS)} % of expected`);
  if (r.cpuPctOneCore >= t.cpuPct) missed.push('CPU');
  if (t.rssMb !== null && r.peakRssMb >= t.rssMb) missed.push('RSS');
  return missed.length === 0 ? 'met' : `MISSED (${missed.join(', ')})`;
}

function markdown(results: Row[], meta: Record<string, string | number>): string {
  const lines = [
    '# Checks benchmark',
    '',
    'N reals on distinct loopback addresses (127.0.x.y), one check each per interval, through the',
    'production pipeline: buildProbePlan -> Scheduler -> runCheck -> HealthTracker. Target servers run',
    'in a separate process; CPU and RSS are those of the checking process only. CPU % is of one core,',
    'over the steady window (warm-up excluded); latency is the checker-measured check duration.',
    'On loopback the kernel runs much of the handshake (both ends) in the connecting process, so its',
    'CPU time includes kernel TCP work a real network would spread over the realservers.',
    '"CPU pressure" is the share of the window in which some runnable task waited for a CPU',
    '(/proc/pressure/cpu): well above 0 means the machine was busy and rate/latency are understated.',
    '',
    ...Object.entries(meta).map(([k, v]) => `- ${k}: ${v}`),
    '',
    '| check | reals | interval | checks/s (expected) | failed | p50 ms | p99 ms | CPU % of 1 core | CPU µs/check | peak RSS MB | end RSS MB | loop delay p99 ms | max queue | servers CPU % | CPU pressure % | target | verdict |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|',
  ];
  for (const r of results) {
    lines.push(
      `| ${r.type} | ${r.reals} | ${r.intervalMs / 1000} s | ${r.checksPerS} (${r.expectedPerS}) | ${r.failed} | ${r.p50Ms} | ${r.p99Ms} | ${r.cpuPctOneCore} | ${cpuUsPerCheck(r)} | ${r.peakRssMb} | ${r.endRssMb} | ${r.eventLoopDelayP99Ms} | ${r.maxQueueDepth} | ${r.serverCpuPct} | ${r.cpuPressurePct ?? 'n/a'} | ${target(r.type, r.reals).text} | ${verdict(r)} |`,
    );
  }
  const failures = results.filter((r) => r.failed > 0);
  if (failures.length) {
    lines.push('', 'Failed checks by reason code:', '');
    for (const r of failures) lines.push(`- ${r.type} x ${r.reals}: ${JSON.stringify(r.failureCodes)}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const nofile = nofileLimit();
  // Each in-flight check holds one socket; leave headroom for everything else in the process.
  const maxConcurrent = Math.max(1, Math.min(o.maxConcurrent, nofile - 256));
  const meta: Record<string, string | number> = {
    date: new Date().toISOString(),
    node: process.version,
    cores: `${availableParallelism()} (${cpus()[0]?.model.trim() ?? 'unknown'})`,
    'ulimit -n': nofile,
    'max concurrent checks': maxConcurrent,
    'duration / warm-up': `${o.durationS} s / ${o.warmupS} s`,
    'node flags of the checking process': o.nodeFlags.join(' ') || 'none',
    // Other work on the machine shows in latency and achieved rate, far less in our own CPU time.
    'load average at start (1/5/15 min)': loadavg().map((x) => x.toFixed(2)).join(' '),
  };
  console.log(`checks benchmark: ${JSON.stringify(meta)}`);

  const servers = await startServers();
  const results: Row[] = [];
  try {
    if (o.types.includes('tcp')) {
      const floor = await tcpFloor(servers.tcpPort);
      const text =
        `${floor.cpuUsPerConnect} µs CPU per connection, ${floor.perS} connections/s at most, peak RSS ${floor.peakRssMb} MB ` +
        '(bare connect + RST loop, 64 at a time, no lvsd code)';
      Object.assign(meta, { 'Node TCP floor on this machine': text });
      console.log(`TCP floor: ${text}`);
    }
    for (const type of o.types) {
      for (const reals of o.reals) {
        const port = type === 'tcp' ? servers.tcpPort : servers.httpPort;
        const cfg: CaseConfig = { type, reals, port, intervalMs: 1000, durationS: o.durationS, warmupS: o.warmupS, maxConcurrent };
        const r = await runCase(cfg, o, servers);
        results.push(r);
        console.log(
          `${type.padEnd(4)} ${String(reals).padStart(6)} reals: ${r.checksPerS} checks/s (expected ${r.expectedPerS}), ` +
            `failed ${r.failed}, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, CPU ${r.cpuPctOneCore} % of one core, ` +
            `RSS peak ${r.peakRssMb} MB / end ${r.endRssMb} MB, up ${r.upAtEnd}/${reals}, ` +
            `servers CPU ${r.serverCpuPct} %, CPU pressure ${r.cpuPressurePct ?? 'n/a'} %` +
            (target(type, reals).cpuPct === null ? '' : `  [target ${target(type, reals).text}: ${verdict(r)}]`),
        );
      }
    }
  } finally {
    servers.child.disconnect();
  }

  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, 'checks.json'), `${JSON.stringify({ ...meta, results }, null, 2)}\n`);
  writeFileSync(join(resultsDir, 'checks.md'), markdown(results, meta));
  console.log(`wrote ${join(resultsDir, 'checks.md')} and checks.json`);
}
