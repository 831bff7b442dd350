// Benchmark of the pure reconcile core: desiredTable and diffTables over 1,000 services x 10 reals.

import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { GlobalConfig, RealConfig, ServiceConfig, Snapshot } from '../src/config/model.js';
import type { IpvsReal, IpvsService, IpvsTable } from '../src/ipvs/model.js';
import { desiredTable } from '../src/reconcile/desired.js';
import type { HealthView } from '../src/reconcile/desired.js';
import { diffTables } from '../src/reconcile/diff.js';
import { pairId, realKey, serviceKey } from '../src/model/keys.js';
import type { PairId } from '../src/model/keys.js';
import { resultsDir } from './lib/paths.js';
import { percentile } from './lib/stats.js';

export interface BenchFigure {
  readonly name: string;
  readonly unit: 'ms';
  readonly median: number;
  /** Median CPU time (user+system) of one run: steadier than wall time on a busy machine. */
  readonly cpuMedian: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
  /** Upper bound the figure should stay under, when there is one. */
  readonly target?: number;
}

export interface BenchResult {
  readonly name: string;
  readonly params: Readonly<Record<string, number | string>>;
  readonly figures: readonly BenchFigure[];
}

const SERVICES = 1_000;
const REALS = 10;
const DEFAULT_RUNS = 51;
const WARMUP = 5;
const DIFF_TARGET_MS = 20;

const GLOBAL: GlobalConfig = {
  listen: { host: '127.0.0.1', port: 0 },
  ipvsadm: '/usr/sbin/ipvsadm',
  resyncIntervalMs: 30_000,
  drainTimeoutMs: 60_000,
  cleanStop: true,
  logLevel: 'info',
  stateDir: '/nonexistent',
  maxConcurrentChecks: 100,
  checkThreads: null,
  controlSocket: '/nonexistent/control.sock',
  maintenanceDir: null, dnsStateFile: null, announce: null,
  syncDaemon: null,
};
const POS = { file: 'bench.yaml', line: 1, col: 1 };

/** Deterministic pseudo-random numbers so every run measures the same tables. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

function buildInputs(): { snapshot: Snapshot; health: HealthView; actual: IpvsTable; differences: number } {
  const rand = lcg(42);
  const services: ServiceConfig[] = [];
  const down = new Set<PairId>();
  for (let i = 0; i < SERVICES; i++) {
    const vip = { host: `192.0.${Math.floor(i / 250)}.${(i % 250) + 1}`, family: 4 as const, port: 80 };
    const key = serviceKey({ kind: 'address', protocol: 'tcp', vip });
    const reals: RealConfig[] = [];
    for (let j = 0; j < REALS; j++) {
      const address = { host: `10.${Math.floor(i / 250)}.${i % 250}.${j + 1}`, family: 4 as const, port: 8080 };
      const rk = realKey(address);
      reals.push({
        key: rk,
        address,
        weight: 100,
        forwarding: 'masq',
        check: { type: 'none', intervalMs: 1000, timeoutMs: 500, rise: 1, fall: 1, port: 8080 },
        slowStartMs: 0,
        pos: POS,
      });
      if (rand() < 0.02) down.add(pairId(key, rk));
    }
    services.push({
      kind: 'address',
      name: `svc-${i}`,
      key,
      family: 4,
      vip,
      protocol: 'tcp',
      scheduler: 'wlc',
      persistence: null,
      quiescent: i % 2 === 0,
      quorum: 1,
      hysteresis: 0,
      notify: { commands: {}, timeoutMs: 10_000 },
      reals,
      sorry: [],
      pos: POS,
    });
  }
  const snapshot: Snapshot = { global: GLOBAL, services, files: [], hash: 'bench' };
  const health: HealthView = (s, r) => ({ state: down.has(pairId(s, r)) ? 'down' : 'up' });

  // The kernel as it was before: all reals up at weight 100, then ~5% of the reals perturbed
  // (weight changed, missing, or a stray extra real) and a few scheduler changes.
  const kernel = new Map<string, IpvsService>();
  let differences = 0;
  for (const svc of services) {
    if (svc.kind !== 'address') continue;
    const reals = new Map<string, IpvsReal>();
    for (const r of svc.reals) {
      const x = rand();
      if (x < 0.02) {
        differences++;
        continue; // missing
      }
      const weight = x < 0.04 ? 50 : 100;
      if (weight !== 100) differences++;
      reals.set(r.key, { key: r.key, address: r.address, forwarding: 'masq', weight, upperThreshold: 0, lowerThreshold: 0 });
    }
    if (rand() < 0.1) {
      differences++;
      const address = { host: `10.255.${kernel.size % 250}.1`, family: 4 as const, port: 8080 };
      const key = realKey(address);
      reals.set(key, { key, address, forwarding: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 });
    }
    const scheduler = rand() < 0.01 ? 'rr' : 'wlc';
    kernel.set(svc.key, { ...svc, scheduler, extraArgs: [], reals });
  }
  return { snapshot, health, actual: { services: kernel }, differences };
}

function measure(name: string, runs: number, fn: () => unknown, target?: number): BenchFigure {
  for (let i = 0; i < WARMUP; i++) fn();
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const round = (n: number): number => Math.round(n * 1000) / 1000;
  return {
    name,
    unit: 'ms',
    median: round(percentile(times, 50)),
    cpuMedian: round(percentile(cpu, 50)),
    min: round(times[0]!),
    max: round(times[times.length - 1]!),
    runs,
    ...(target === undefined ? {} : { target }),
  };
}

function markdown(result: BenchResult): string {
  const rows = result.figures.map(
    (f) =>
      `| ${f.name} | ${f.median} | ${f.cpuMedian} | ${f.min} | ${f.max} | ${f.target === undefined ? '' : `< ${f.target}`} | ${
        f.target === undefined ? '' : f.median < f.target ? 'ok' : 'OVER'
      } |`,
  );
  return [
    '# reconcile: desiredTable and diffTables',
    '',
    `${SERVICES} services x ${REALS} reals (${SERVICES * REALS} reals); kernel table with ` +
      `${result.params.differences} differences (weights, missing reals, stray reals, schedulers) ` +
      `plus ~2% reals down; the diff yields ${result.params.ops} ops. Median of ${result.params.runs} runs after ${WARMUP} warm-up runs.`,
    '',
    `Node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} CPUs, load average ` +
      `${result.params.loadAverage} at the start, ${new Date().toISOString()}.`,
    '',
    '| figure | median ms | CPU median ms | min ms | max ms | target ms | |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

/** Measure desiredTable and diffTables on the synthetic 10,000-real tables. */
export function reconcileFigures(runs = DEFAULT_RUNS): BenchResult {
  const loadAverage = Math.round(loadavg()[0]! * 100) / 100;
  const { snapshot, health, actual, differences } = buildInputs();
  const owned = new Set(snapshot.services.map((s) => s.key));
  const desired = desiredTable(snapshot, { health }, undefined, actual);
  const ops = diffTables(desired, actual, owned).length;
  const figures = [
    measure('diffTables, 10,000 reals', runs, () => diffTables(desired, actual, owned), DIFF_TARGET_MS),
    measure('desiredTable, 10,000 reals', runs, () => desiredTable(snapshot, { health }, undefined, actual)),
    measure('desiredTable + diffTables (one pass, no I/O)', runs, () =>
      diffTables(desiredTable(snapshot, { health }, undefined, actual), actual, owned),
    ),
  ];
  return {
    name: 'reconcile',
    params: { services: SERVICES, realsPerService: REALS, differences, ops, runs, loadAverage },
    figures,
  };
}

/** bench/run.ts entry: `reconcile [--runs N]`; prints the figures, writes bench/results/reconcile.{md,json}. */
export async function run(args: string[] = []): Promise<void> {
  const i = args.indexOf('--runs');
  const runs = i >= 0 ? Math.max(1, Number(args[i + 1]) || DEFAULT_RUNS) : DEFAULT_RUNS;
  const result = reconcileFigures(runs);
  await mkdir(resultsDir, { recursive: true });
  await writeFile(join(resultsDir, 'reconcile.json'), `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(join(resultsDir, 'reconcile.md'), markdown(result));
  for (const f of result.figures) {
    const verdict =
      f.target === undefined ? '' : ` (target < ${f.target} ms: ${f.median < f.target ? 'ok' : 'OVER'})`;
    console.log(`${f.name}: median ${f.median} ms (CPU ${f.cpuMedian} ms), min ${f.min}, max ${f.max}${verdict}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run(process.argv.slice(2));
}
