// The connection sync daemon's metrics (lvsd.yaml sync_daemon): what runs in the kernel as lvsd last
// saw it, what it wants, the role in force, and its ipvsadm runs and repairs. Nothing is exported
// while no keeper exists; the role gauges are 0 while sync_daemon is not configured.

import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { SyncDaemonKeeper } from '../sync-daemon/keeper.js';
import { SYNC_DAEMON_STATES } from '../sync-daemon/ipvsadm.js';
import type { SyncDaemonState } from '../sync-daemon/ipvsadm.js';
import { SYNC_ROLES } from '../config/schema.js';

/** The sync daemon keeper as metrics and status read it. */
export type SyncSource = Pick<SyncDaemonKeeper, 'status' | 'stats'>;

export interface SyncSources {
  sync?(): SyncSource | null;
}

export function registerSyncMetrics(registry: Registry, sources: SyncSources): void {
  const registers = [registry];
  const keeper = (): SyncSource | null => sources.sync?.() ?? null;

  /** One 0/1 series per kernel daemon (master, backup): 1 for the daemons `pick` names. */
  const perDaemon = (name: string, help: string, pick: (k: Pick<SyncDaemonKeeper, 'status'>) => Iterable<SyncDaemonState>): void => {
    new Gauge({
      name,
      help,
      labelNames: ['role'],
      registers,
      collect() {
        this.reset();
        const k = keeper();
        if (!k) return;
        const on = new Set(pick(k));
        for (const role of SYNC_DAEMON_STATES) this.set({ role }, on.has(role) ? 1 : 0);
      },
    });
  };
  perDaemon(
    'lvsd_sync_daemon_running',
    'Whether the kernel runs a connection sync daemon in this role (master, backup), as lvsd last read it (once per resync_interval) plus what it started or stopped since.',
    (k) => k.status().kernel.map((d) => d.state),
  );
  perDaemon(
    'lvsd_sync_daemon_wanted',
    'Whether lvsd wants the kernel to run a sync daemon in this role (master, backup) now.',
    (k) => k.status().wanted,
  );
  new Gauge({
    name: 'lvsd_sync_role',
    help: 'The sync_daemon role in force (1 for that role, 0 for the others), and what set it: source="config" (lvsd.yaml) or "runtime" (lvsd sync-role, OCF promote/demote).',
    labelNames: ['role', 'source'],
    registers,
    collect() {
      this.reset();
      const s = keeper()?.status();
      if (!s || s.role === null || s.source === null) return;
      for (const role of SYNC_ROLES) this.set({ role, source: s.source }, role === s.role ? 1 : 0);
    },
  });
  new Gauge({
    name: 'lvsd_sync_daemon_conflicts',
    help: 'Sync daemons lvsd did not start that run with other options than it wants (it leaves them alone; see /status).',
    registers,
    collect() {
      this.set(keeper()?.status().conflicts.length ?? 0);
    },
  });
  new Counter({
    name: 'lvsd_sync_daemon_ipvsadm_execs_total',
    help: 'ipvsadm runs for the sync daemon, by kind: read (ipvsadm -L --daemon, once per resync_interval) and change (--start-daemon, --stop-daemon).',
    labelNames: ['kind'],
    registers,
    collect() {
      this.reset();
      const st = keeper()?.stats();
      if (!st) return;
      this.inc({ kind: 'read' }, st.reads);
      this.inc({ kind: 'change' }, st.changes);
    },
  });
  new Counter({
    name: 'lvsd_sync_daemon_repairs_total',
    help: 'Sync daemons lvsd started again after finding them stopped or changed behind its back.',
    registers,
    collect() {
      this.reset();
      this.inc(keeper()?.stats().repairs ?? 0);
    },
  });
  new Counter({
    name: 'lvsd_sync_daemon_failures_total',
    help: 'Sync daemon passes that failed (ipvsadm could not read, start or stop a daemon); retried with backoff.',
    registers,
    collect() {
      this.reset();
      this.inc(keeper()?.stats().failures ?? 0);
    },
  });
}
