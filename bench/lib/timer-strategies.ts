// Measures the scheduler's timer strategy against the obvious alternative, with a no-op check so
// only timer and bookkeeping cost shows: (a) the Scheduler (DueQueue + one re-armed setTimeout),
// (b) one setTimeout chain per probe with the same fixed-rate rule. Each runs in its own process.

import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { CheckResult, CheckTarget } from '../../src/checks/types.js';
import { buildProbePlan } from '../../src/scheduler/probe-key.js';
import type { ProbePlan } from '../../src/scheduler/probe-key.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { resultsDir } from './paths.js';
import { mb, round } from './stats.js';
import { syntheticSnapshot } from './synthetic.js';

type Strategy = 'due-queue' | 'per-probe';
interface Figures {
  strategy: Strategy;
  probes: number;
  runsPerS: number;
  cpuPct: number;
  rssMb: number;
  heapMb: number;
}

const OK: CheckResult = { up: true, code: 'ok', reason: 'ok', latencyMs: 0 };
const noopCheck = (_t: CheckTarget, _s: AbortSignal): Promise<CheckResult> => Promise.resolve(OK);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The alternative: every probe owns a setTimeout chain (fixed rate from the scheduled start). */
function perProbe(plan: ProbePlan, onResult: () => void): () => void {
  const timers = new Set<NodeJS.Timeout>();
  for (const [, entry] of plan) {
    const interval = entry.target.spec.intervalMs;
    let due = performance.now() + Math.random() * interval;
    let timer: NodeJS.Timeout;
    const controller = new AbortController(); // one per probe, as the Scheduler does
    const fire = (): void => {
      timers.delete(timer);
      void noopCheck(entry.target, controller.signal).then(() => {
        onResult();
        const t = performance.now();
        due = Math.max(due + interval, t);
        timer = setTimeout(fire, due - t);
        timers.add(timer);
      });
    };
    timer = setTimeout(fire, due - performance.now());
    timers.add(timer);
  }
  return () => timers.forEach(clearTimeout);
}

async function measure(strategy: Strategy, probes: number, seconds: number): Promise<Figures> {
  const plan = buildProbePlan(syntheticSnapshot({ type: 'tcp', reals: probes, port: 9, intervalMs: 1000, maxConcurrentChecks: 256 }));
  let runs = 0;
  let stop: () => void;
  if (strategy === 'due-queue') {
    const s = new Scheduler({ check: noopCheck, maxConcurrent: 256, onResult: () => runs++ });
    s.update(plan);
    stop = () => void s.stop();
  } else {
    stop = perProbe(plan, () => runs++);
  }
  await sleep(2000);
  const runs0 = runs;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const cpu = process.cpuUsage(cpu0);
  const ms = performance.now() - t0;
  const mem = process.memoryUsage();
  stop();
  return {
    strategy,
    probes,
    runsPerS: Math.round((runs - runs0) / (ms / 1000)),
    cpuPct: round(((cpu.user + cpu.system) / 1000 / ms) * 100, 2),
    rssMb: mb(mem.rss),
    heapMb: mb(mem.heapUsed),
  };
}

function child(strategy: Strategy, probes: number, seconds: number): Promise<Figures> {
  const p = fork(fileURLToPath(import.meta.url), ['--timer-child', strategy, String(probes), String(seconds)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    p.once('message', (m: Figures) => resolve(m));
    p.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`timer child exited with ${code}`))));
  });
}

export async function run(args: string[]): Promise<void> {
  const seconds = Number(args[0] ?? 10);
  const all: Figures[] = [];
  for (const probes of [10_000, 100_000]) {
    for (const strategy of ['due-queue', 'per-probe'] as const) {
      const f = await child(strategy, probes, seconds);
      all.push(f);
      console.log(`${f.strategy.padEnd(10)} ${String(f.probes).padStart(7)} probes @1 s: ${f.runsPerS} runs/s, CPU ${f.cpuPct} % of one core, RSS ${f.rssMb} MB, heap ${f.heapMb} MB`);
    }
  }
  const meta = { date: new Date().toISOString(), node: process.version, cores: availableParallelism(), 'window (s)': seconds };
  const md = [
    '# Scheduler timer strategy',
    '',
    'No-op check, 1 s interval, each strategy in its own process; figures over the window after a 2 s warm-up.',
    '`due-queue` is the Scheduler as shipped (one setTimeout over a DueQueue, concurrency cap 256);',
    '`per-probe` is one setTimeout chain per probe with the same fixed-rate rule.',
    '',
    ...Object.entries(meta).map(([k, v]) => `- ${k}: ${v}`),
    '',
    '| strategy | probes | runs/s | CPU % of 1 core | RSS MB | heap MB |',
    '|---|---:|---:|---:|---:|---:|',
    ...all.map((f) => `| ${f.strategy} | ${f.probes} | ${f.runsPerS} | ${f.cpuPct} | ${f.rssMb} | ${f.heapMb} |`),
  ];
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, 'timers.md'), `${md.join('\n')}\n`);
  writeFileSync(join(resultsDir, 'timers.json'), `${JSON.stringify({ ...meta, results: all }, null, 2)}\n`);
  console.log(`wrote ${join(resultsDir, 'timers.md')} and timers.json`);
}

if (process.argv[2] === '--timer-child') {
  const [, , , strategy, probes, seconds] = process.argv;
  measure(strategy as Strategy, Number(probes), Number(seconds)).then(
    (f) => process.send!(f, () => process.exit(0)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
