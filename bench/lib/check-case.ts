// One checks-benchmark case, run in a fresh child process so its CPU and RSS are its own:
// the production pipeline (buildProbePlan -> Scheduler -> runCheck -> HealthTracker) on N reals.

import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { runCheck, startCheck } from '../../src/checks/index.js';
import { HealthTracker } from '../../src/health/tracker.js';
import { buildProbePlan } from '../../src/scheduler/probe-key.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { Samples, mb, percentile, round } from './stats.js';
import { syntheticSnapshot } from './synthetic.js';
import type { BenchCheckType } from './synthetic.js';

export interface CaseConfig {
  readonly type: BenchCheckType;
  readonly reals: number;
  readonly port: number;
  readonly intervalMs: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly maxConcurrent: number;
}

export interface CaseResult {
  readonly type: BenchCheckType;
  readonly reals: number;
  readonly intervalMs: number;
  readonly windowS: number;
  readonly checksPerS: number;
  readonly expectedPerS: number;
  readonly failed: number;
  readonly failureCodes: Record<string, number>;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly cpuPctOneCore: number;
  readonly peakRssMb: number;
  readonly endRssMb: number;
  readonly heapUsedMb: number;
  readonly heapTotalMb: number;
  readonly externalMb: number;
  readonly eventLoopDelayP99Ms: number;
  readonly upAtEnd: number;
  readonly maxQueueDepth: number;
  readonly overruns: number;
  readonly maxConcurrent: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runCase(cfg: CaseConfig): Promise<CaseResult> {
  const snapshot = syntheticSnapshot({ type: cfg.type, reals: cfg.reals, port: cfg.port, intervalMs: cfg.intervalMs, maxConcurrentChecks: cfg.maxConcurrent });
  const plan = buildProbePlan(snapshot);
  const tracker = new HealthTracker();
  tracker.update(plan, Date.now()); // the same plan object as the scheduler, as the daemon wires it

  let measuring = false;
  const latencies = new Samples(cfg.reals * cfg.durationS);
  let completed = 0;
  let failed = 0;
  const failureCodes: Record<string, number> = {};
  const scheduler = new Scheduler({
    check: runCheck,
    start: startCheck, // the check engine's hot paths by callback, as its threads run them (engine/thread-entry.ts)
    maxConcurrent: cfg.maxConcurrent,
    coalesceMs: 10, // as the daemon runs it (daemon.ts)
    onResult: (key, result) => {
      tracker.record(key, result, Date.now());
      if (!measuring) return;
      completed++;
      latencies.push(result.latencyMs);
      if (!result.up) {
        failed++;
        failureCodes[result.code] = (failureCodes[result.code] ?? 0) + 1;
      }
    },
  });

  scheduler.update(plan);
  await sleep(cfg.warmupS * 1000);

  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  process.send!('window-start');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  measuring = true;
  await sleep((cfg.durationS - cfg.warmupS) * 1000);
  measuring = false;
  const cpu = process.cpuUsage(cpu0);
  const windowMs = performance.now() - t0;
  loop.disable();
  const endRss = process.memoryUsage();
  let upAtEnd = 0;
  for (const e of tracker.entries()) if (e.health.state === 'up') upAtEnd++;
  const stats = scheduler.stats();
  await scheduler.stop();

  const sorted = latencies.sorted();
  return {
    type: cfg.type,
    reals: cfg.reals,
    intervalMs: cfg.intervalMs,
    windowS: round(windowMs / 1000, 2),
    checksPerS: Math.round(completed / (windowMs / 1000)),
    expectedPerS: Math.round(cfg.reals / (cfg.intervalMs / 1000)),
    failed,
    failureCodes,
    p50Ms: round(percentile(sorted, 50), 2),
    p99Ms: round(percentile(sorted, 99), 2),
    maxMs: round(percentile(sorted, 100), 2),
    cpuPctOneCore: round(((cpu.user + cpu.system) / 1000 / windowMs) * 100),
    // maxRSS is in KiB and covers this process's whole life: warm-up included, which is what peak means.
    peakRssMb: mb(process.resourceUsage().maxRSS * 1024),
    endRssMb: mb(endRss.rss),
    heapUsedMb: mb(endRss.heapUsed),
    heapTotalMb: mb(endRss.heapTotal),
    externalMb: mb(endRss.external),
    eventLoopDelayP99Ms: round(loop.percentile(99) / 1e6, 2),
    upAtEnd,
    maxQueueDepth: stats.maxQueueDepth,
    overruns: stats.overruns,
    maxConcurrent: cfg.maxConcurrent,
  };
}

process.once('message', (cfg: CaseConfig) => {
  runCase(cfg).then(
    (result) => process.send!(result, () => process.exit(0)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
});
