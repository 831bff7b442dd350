// The check scheduler's counters read at scrape time: probes, checks in flight and queued, checks
// completed, delayed and late, lvsd's own lag, and how late each check started; summed over the
// check threads (engine/stats.ts: counters and gauges summed, the lag the worst thread's), and the
// threads themselves.

import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { START_DELAY_BOUNDS_MS } from '../scheduler/types.js';
import type { SchedulerStats } from '../scheduler/types.js';
import { ReadHistogram } from './bound-metrics.js';
import type { MetricsSources } from './metrics-sources.js';

export function registerSchedulerMetrics(registry: Registry, sources: Pick<MetricsSources, 'scheduler' | 'checkThreads'>): void {
  const registers = [registry];
  const sched = (name: string, help: string, pick: (s: SchedulerStats) => number, counter = false): void => {
    const config = { name, help, registers };
    if (counter) {
      new Counter({ ...config, collect() { this.reset(); this.inc(pick(sources.scheduler())); } });
    } else {
      new Gauge({ ...config, collect() { this.set(pick(sources.scheduler())); } });
    }
  };
  sched('lvsd_scheduler_probes', 'Distinct probes planned (identical checks of a real shared by services run once).', (s) => s.probes);
  sched('lvsd_scheduler_checks_in_flight', 'Checks running now.', (s) => s.inFlight);
  sched('lvsd_scheduler_checks_queued', 'Checks waiting for a slot under max_concurrent_checks.', (s) => s.queued);
  sched('lvsd_scheduler_checks_total', 'Periodic checks completed (once per probe, however many services share it).', (s) => s.completed, true);
  sched('lvsd_scheduler_lag_seconds', 'Worst event-loop stall of lvsd over the last second: how late lvsd itself is.', (s) => s.lagMs / 1000);
  sched('lvsd_checks_delayed_total', 'Checks started late by more than 10 % of their interval (at least 50 ms): lvsd could not keep up.', (s) => s.delayed, true);
  new ReadHistogram({
    name: 'lvsd_check_start_delay_seconds',
    help: 'How long after its due time each periodic check started (checks due in the same 10 ms slot start together at its end; more means lvsd is busy or starved).',
    bounds: START_DELAY_BOUNDS_MS,
    scale: 1 / 1000,
    read: () => {
      const d = sources.scheduler().startDelay;
      return { counts: d.counts, sum: d.sumMs, count: d.count };
    },
    registers,
  });
  sched('lvsd_checks_late_timeouts_total', 'Timeouts discarded and re-run because lvsd itself was stalled during the check.', (s) => s.lateTimeouts, true);
  sched('lvsd_scheduler_overruns_total', 'Checks that finished after their next run was due.', (s) => s.overruns, true);
  new Gauge({
    name: 'lvsd_check_threads',
    help: 'Worker threads running the checks (check_threads; 0 = the control thread runs them).',
    registers,
    collect() {
      this.set(sources.checkThreads?.().threads ?? 0);
    },
  });
  new Counter({
    name: 'lvsd_check_thread_restarts_total',
    help: 'Check threads that died (uncaught error, heap limit, exit) and were restarted; their pairs were unknown until checked again, the kernel table held them.',
    registers,
    collect() {
      this.reset();
      this.inc(sources.checkThreads?.().restarts ?? 0);
    },
  });
}
