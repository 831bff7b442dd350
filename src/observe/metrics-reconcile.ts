// The reconcile loop's counters as its last pass published them: passes, operations, failures,
// the running pass and its deadline, ipvsadm runs. The reconciler's own counters are the source of
// truth (the clean stop's operations included).

import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { MetricsSources } from './metrics-sources.js';

export function registerReconcileMetrics(registry: Registry, sources: Pick<MetricsSources, 'reconciler'>): void {
  const registers = [registry];
  new Counter({
    name: 'lvsd_reconcile_passes_total',
    help: 'Reconcile passes run.',
    registers,
    collect() {
      this.reset();
      this.inc(sources.reconciler().passes);
    },
  });
  new Counter({
    name: 'lvsd_reconcile_operations_total',
    help: 'IPVS operations sent to ipvsadm, by kind (add-service, edit-real, delete-real, ...).',
    labelNames: ['kind'],
    registers,
    collect() {
      this.reset();
      for (const [kind, n] of Object.entries(sources.reconciler().opsApplied)) this.inc({ kind }, n);
    },
  });
  new Counter({
    name: 'lvsd_reconcile_failures_total',
    help: 'Reconcile passes that failed (ipvsadm error, or the table still differed after apply).',
    registers,
    collect() {
      this.reset();
      this.inc(sources.reconciler().failures);
    },
  });
  new Gauge({
    name: 'lvsd_reconcile_consecutive_failures',
    help: 'Failed reconcile passes since the last successful one.',
    registers,
    collect() {
      this.set(sources.reconciler().consecutiveFailures);
    },
  });
  new Gauge({
    name: 'lvsd_reconcile_last_success_timestamp_seconds',
    help: 'When a reconcile pass last left the kernel table equal to the desired one (0 = never).',
    registers,
    collect() {
      const at = sources.reconciler().lastSuccessAt;
      this.set(at === null ? 0 : at / 1000);
    },
  });
  new Gauge({
    name: 'lvsd_reconcile_draining_reals',
    help: 'Removed reals held in the kernel at weight 0 until idle or drain_timeout.',
    registers,
    collect() {
      this.set(sources.reconciler().draining);
    },
  });

  new Gauge({
    name: 'lvsd_reconcile_pass_running_seconds',
    help: 'How long the running reconcile pass has been running (0 when none runs).',
    registers,
    collect() {
      const since = sources.reconciler().passRunningSince;
      this.set(since === null ? 0 : Math.max(0, Date.now() - since) / 1000);
    },
  });
  new Gauge({
    name: 'lvsd_reconcile_pass_deadline_seconds',
    help: 'How long a reconcile pass may run before it is aborted (and /healthz turns 503 while it still runs).',
    registers,
    collect() {
      this.set(sources.reconciler().passDeadlineMs / 1000);
    },
  });
  new Counter({
    name: 'lvsd_reconcile_passes_overdue_total',
    help: 'Reconcile passes that ran past their deadline and were aborted.',
    registers,
    collect() {
      this.reset();
      this.inc(sources.reconciler().passesOverdue);
    },
  });
  new Counter({
    name: 'lvsd_ipvsadm_execs_total',
    help: 'ipvsadm runs by the reconciler, by kind: read (the table), counters (while a drain waits), apply (ipvsadm -R).',
    labelNames: ['kind'],
    registers,
    collect() {
      this.reset();
      for (const [kind, n] of Object.entries(sources.reconciler().execs)) this.inc({ kind }, n);
    },
  });
}
