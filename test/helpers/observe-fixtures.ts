// A known daemon state for the observe tests: a snapshot, a real HealthTracker fed with results,
// stand-in published reconcile passes and scheduler stats and an in-memory kernel table behind the IpvsRunner seam.

import { Writable } from 'node:stream';
import type { CheckResult } from '../../src/checks/types.js';
import type { Snapshot } from '../../src/config/model.js';
import { HealthTracker } from '../../src/health/tracker.js';
import type { HealthEvent } from '../../src/health/tracker.js';
import { MemoryTable } from '../../src/ipvs/memory-table.js';
import type { IpvsRunner, IpvsTable, RealCounters, TableCounters } from '../../src/ipvs/model.js';
import { createLogger } from '../../src/log.js';
import type { Logger } from '../../src/log.js';
import { Observer } from '../../src/observe/observer.js';
import type { ObserverOptions } from '../../src/observe/observer.js';
import type { TableStats, TrafficStats } from '../../src/ipvs/model.js';
import type { PassDecision, PassReport, ReconcilerStats } from '../../src/reconcile/reconciler.js';
import { NO_DECISION } from '../../src/reconcile/pass-report.js';
import type { SchedulerStats } from '../../src/scheduler/types.js';
import { probeKey } from '../../src/scheduler/probe-key.js';
import { snapshot, table } from './reconcile-fixtures.js';
import type { ServiceSpec } from './reconcile-fixtures.js';

export const WEB = 'tcp:192.0.2.10:80';
export const DNS = 'udp:192.0.2.53:53';
export const T0 = Date.parse('2030-01-02T03:04:05.000Z');

/** Snapshot with readable service names ("web", "dns") instead of the fixtures' keys. */
export function namedSnapshot(specs: readonly (ServiceSpec & { readonly name: string })[]): Snapshot {
  const s = snapshot(specs);
  return { ...s, services: s.services.map((svc, i) => ({ ...svc, name: specs[i]!.name, pos: { file: `conf.d/${specs[i]!.name}.yaml`, line: 1, col: 1 } })) };
}

export const BASE_SPECS = [
  { name: 'web', key: WEB, reals: [{ address: '10.0.0.1:80', weight: 10 }, { address: '10.0.0.2:80', weight: 5 }], sorry: ['10.0.0.99:80'] },
  { name: 'dns', key: DNS, reals: ['10.0.0.3:53'] },
] as const;

export function ok(reason: string, latencyMs = 2): CheckResult {
  return { up: true, code: 'ok', reason, latencyMs };
}

export function fail(code: CheckResult['code'], reason: string, latencyMs = 1000): CheckResult {
  return { up: false, code, reason, latencyMs };
}

/** The runner seam over a MemoryTable, with settable counters and optional stats. */
export class TableRunner implements IpvsRunner {
  readonly memory: MemoryTable;
  conns = new Map<string, RealCounters>();
  statsTable: TableStats | null = null;
  reads = 0;
  constructor(initial?: IpvsTable) {
    this.memory = new MemoryTable(initial);
  }
  async read(): Promise<IpvsTable> {
    this.reads++;
    return this.memory.table();
  }
  async counters(): Promise<TableCounters> {
    const out = new Map<string, Map<string, RealCounters>>();
    for (const [key, svc] of this.memory.table().services) {
      out.set(key, new Map([...svc.reals.keys()].map((r) => [r, this.conns.get(`${key} ${r}`) ?? { activeConns: 0, inactiveConns: 0, persistentConns: 0 }])));
    }
    return out;
  }
  async apply(lines: readonly string[]): Promise<{ readonly errors: readonly string[] }> {
    return { errors: this.memory.restore(lines).errors };
  }
  async stats(): Promise<TableStats> {
    return this.statsTable ?? new Map();
  }
}

export function traffic(n: number): TrafficStats {
  return { connections: n, inPackets: n * 10, outPackets: n * 9, inBytes: n * 1000, outBytes: n * 2000 };
}

export const ZERO_RECONCILER: ReconcilerStats = {
  started: true,
  passes: 3,
  failures: 1,
  consecutiveFailures: 0,
  opsApplied: { 'add-service': 2, 'edit-service': 0, 'delete-service': 0, 'add-real': 3, 'edit-real': 1, 'delete-real': 0 },
  lastSuccessAt: T0 - 2000,
  lastError: null,
  draining: 0,
  passRunningSince: null,
  passDeadlineMs: 60_000,
  passesOverdue: 0,
  execs: { read: 1, counters: 0, apply: 2 },
  lastReadAt: T0 - 3000,
};

export const SCHEDULER: SchedulerStats = {
  probes: 3, started: 10, completed: 9, aborted: 0, inFlight: 1, queued: 0, maxQueueDepth: 0, queuedTotal: 0, queueWaitMsTotal: 0, overruns: 0,
  delayed: 0, lateTimeouts: 0, lagMs: 0,
  // 9 checks: 6 within 1 ms of their due time, 2 within 10 ms, 1 at 120 ms.
  startDelay: { counts: [6, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0], sumMs: 0.5 * 6 + 8 + 9 + 120, count: 9 },
};

/** Collects log lines as objects. */
export function memoryLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('debug', sink), lines };
}

export interface World {
  snapshot: Snapshot;
  readonly tracker: HealthTracker;
  readonly runner: TableRunner;
  /** The reconciler's counters and decisions as the next publish() hands them to the observer. */
  reconciler: ReconcilerStats;
  decision: PassDecision;
  scheduler: SchedulerStats;
  now: number;
  readonly observer: Observer;
  readonly logs: Record<string, unknown>[];
  /** Feed one result for a (service, real) pair through the tracker and the observer, as the daemon does. */
  result(serviceKey: string, realKey: string, r: CheckResult): readonly HealthEvent[];
  /** Adopt a new snapshot, as the daemon's #applySnapshot does. */
  reload(next: Snapshot): void;
  /** What a reconcile pass publishes (report null: the clean stop's), with `reconciler` and `decision`. */
  publish(report: PassReport | null): void;
}

/**
 * web: 10.0.0.1 up (weight 10 in kernel), 10.0.0.2 down (absent from kernel), sorry 10.0.0.99
 * standby; dns: 10.0.0.3 unknown. The kernel also holds a foreign service lvsd must not report.
 */
export function world(options: Partial<ObserverOptions> = {}): World {
  const { logger, lines } = memoryLogger();
  const snap = namedSnapshot(BASE_SPECS as unknown as (ServiceSpec & { name: string })[]);
  const tracker = new HealthTracker();
  tracker.update(snap, T0 - 60_000);
  const runner = new TableRunner(
    table([
      { key: WEB, reals: [['10.0.0.1:80', 10], ['10.0.0.7:80', 0]] },
      { key: DNS, reals: [] },
      { key: 'tcp:198.51.100.1:443', reals: [['10.9.9.9:443', 1]] },
    ]),
  );
  runner.conns.set(`${WEB} 10.0.0.1:80`, { activeConns: 4, inactiveConns: 11, persistentConns: 0 });
  const w: World = {
    snapshot: snap,
    tracker,
    runner,
    reconciler: ZERO_RECONCILER,
    decision: NO_DECISION,
    scheduler: SCHEDULER,
    now: T0,
    logs: lines,
    observer: undefined as unknown as Observer,
    result(serviceKey, realKey, r) {
      const service = w.snapshot.services.find((s) => s.key === serviceKey)!;
      const real = service.reals.find((x) => x.key === realKey)!;
      const pk = probeKey(real, service);
      const events = tracker.record(pk, r, w.now);
      w.observer.checkResult(pk, r);
      w.observer.healthEvents(events);
      return events;
    },
    reload(next) {
      w.snapshot = next;
      w.observer.healthEvents(tracker.update(next, w.now));
      w.observer.setSnapshot(next);
    },
    publish(report) {
      w.observer.published({ report, decision: w.decision, stats: w.reconciler, table: { table: null, readAt: null } });
    },
  };
  (w as { observer: Observer }).observer = new Observer({
    logger,
    configDir: '/etc/lvsd',
    dryRun: false,
    snapshot: snap,
    health: tracker,
    engine: { stats: () => w.scheduler },
    runner,
    table: 'runner',
    now: () => w.now,
    defaultMetrics: false,
    ...options,
  });
  w.publish(null);
  w.result(WEB, '10.0.0.1:80', ok('TCP connect 10.0.0.1:80: connected'));
  w.now += 1000;
  w.result(WEB, '10.0.0.2:80', fail('refused', 'TCP connect 10.0.0.2:80: connection refused', 0.4));
  w.now += 1000;
  return w;
}
