// What the metrics read at scrape time (the observer hands these in), and the walk over every
// configured (service, real) pair that the per-real families share.

import type { RealConfig, ServiceConfig, Snapshot } from '../config/model.js';
import type { TrackedReal } from '../health/tracker.js';
import type { AnnounceStatus } from '../announce/announcer.js';
import type { ReconcilerStats, ServiceRuntime } from '../reconcile/pass-report.js';
import type { SlowStartState } from '../reconcile/slow-start.js';
import type { SchedulerStats } from '../scheduler/types.js';
import type { KernelState } from './kernel-view.js';
import type { SyncSources } from './metrics-sync.js';
import type { AdminStatusInputs, ReloadState } from './status-document.js';

export interface MetricsSources extends SyncSources {
  snapshot(): Snapshot;
  health(serviceKey: string, realKey: string): TrackedReal | undefined;
  /** The reconcile loop's counters as the last pass published them. */
  reconciler(): ReconcilerStats;
  scheduler(): SchedulerStats;
  /** Check engine threads (0: checks on the control thread) and how often one was restarted. */
  checkThreads?(): { readonly threads: number; readonly restarts: number };
  reload(): ReloadState;
  kernel(): Promise<KernelState>;
  /** Quorum and sorry state of the last committed pass (absent: no quorum metrics). */
  services?(): ReadonlyMap<string, ServiceRuntime>;
  /** Reals in slow start by pair id. */
  slowStarts?(): SlowStartState;
  /** Admin state; absent or undefined: every real ready. */
  admin?(): AdminStatusInputs | undefined;
  /** VIP announce; absent or null: not configured (no announce series). */
  announce?(): AnnounceStatus | null;
}

/** Every configured (service, real) pair, in config order. */
export function* eachReal(sources: Pick<MetricsSources, 'snapshot'>): Generator<{ service: ServiceConfig; real: RealConfig }> {
  for (const service of sources.snapshot().services) for (const real of service.reals) yield { service, real };
}
