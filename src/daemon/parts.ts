// Every part of `lvsd run`, built in one place and handed over as a whole: what must be read or
// checked first (ipvsadm, the state dir's leftovers, the ownership record) in prepareParts(), then
// every part at once in buildParts(). Building starts nothing: the daemon starts the parts in its
// order, and a part built but never started stops cleanly.

import { ConfigWatcher } from '../config/watch.js';
import type { Snapshot } from '../config/model.js';
import { LoopLagMonitor } from '../loop-lag.js';
import { createCheckEngine } from '../engine/create-engine.js';
import type { CheckEngine } from '../engine/check-engine.js';
import { checkThreadsFor } from '../engine/threads.js';
import { Reconciler } from '../reconcile/reconciler.js';
import type { PassSubscriber } from '../reconcile/pass-report.js';
import { Ownership } from '../reconcile/ownership.js';
import { HealthBoard } from '../reconcile/health-board.js';
import { checkIpvsadm, createRunner } from '../ipvs/runner.js';
import type { IpvsRunner } from '../ipvs/model.js';
import { procIpVsPath, readProcConnections } from '../ipvs/proc-conns.js';
import type { SyncDaemonRunner } from '../sync-daemon/ipvsadm.js';
import { SyncDaemonKeeper } from '../sync-daemon/keeper.js';
import { syncDaemonFilePath } from '../sync-daemon/record.js';
import { Observer } from '../observe/observer.js';
import { Notifier } from '../notify/notifier.js';
import { AgentPoller } from '../agent/agent-poller.js';
import { errorMessage } from '../errors.js';
import { removeAtomicTemporaries } from '../atomic-file.js';
import { AdminControl } from '../control/admin-control.js';
import { adminFilePath } from '../control/admin-file.js';
import type { Logger } from '../log.js';
import { createAnnouncer } from '../announce/create-announcer.js';
import type { Announcer } from '../announce/announcer.js';
import { DnsStateFeed } from '../announce/dns-state.js';
import { FirstRoundGate } from './first-round.js';
import { DaemonRoutes } from './routes.js';

export interface PartsContext {
  readonly configDir: string;
  readonly dryRun: boolean;
  readonly logger: Logger;
  /** The snapshot at start. */
  readonly snapshot: Snapshot;
  /** The snapshot in force (a reload changes it). */
  readonly current: () => Snapshot;
  /** A stop has begun. */
  readonly stopping: () => boolean;
  /** The config watcher has a new valid snapshot. */
  readonly onSnapshot: (next: Snapshot) => void;
}

/** What has to be read or checked before the parts are built. */
export interface Prepared {
  readonly runner: IpvsRunner & SyncDaemonRunner;
  readonly ownership: Ownership;
}

export interface Parts {
  readonly runner: IpvsRunner & SyncDaemonRunner;
  /** Services in the ownership record at start (the stop's report). */
  readonly ownedAtStart: number;
  /**
   * The control thread's own lateness: deadlines of what still runs here (agent polls) extend over
   * its stalls. Each check thread has its own (engine/core.ts).
   */
  readonly lag: LoopLagMonitor;
  /** Scheduler, checkers and rise/fall tracking: on worker threads (check_threads) or on this one. */
  readonly engine: CheckEngine;
  /** Health as the reconciler reads it: fed by the engine's events, resynced on each new plan. */
  readonly board: HealthBoard;
  readonly reconciler: Reconciler;
  readonly gate: FirstRoundGate;
  /** The kernel's connection sync daemon; starts with the reconciler. */
  readonly sync: SyncDaemonKeeper;
  /** Notify commands: fire and forget, bounded; never awaited by a pass or a check. */
  readonly notifier: Notifier;
  /** Metrics, status API and page: a side channel that only reads. */
  readonly observer: Observer;
  /** The gdnsd state file, after every pass. */
  readonly dnsState: DnsStateFeed;
  /** VIP announce (BGP speakers); null when `announce` is not configured. */
  readonly announcer: Announcer | null;
  /** Admin state: control socket, maintenance dir, operator record; an input of desired. */
  readonly admin: AdminControl;
  /** Realserver agents (HAProxy agent-check): weight %, up/down into desired; drain/maint as admin source. */
  readonly agents: AgentPoller;
  readonly watcher: ConfigWatcher;
  readonly routes: DaemonRoutes;
}

/**
 * ipvsadm usable (not fatal: the reconciler retries), leftovers removed, the ownership record read.
 * Null when a stop came during the ipvsadm check (nothing is built then).
 */
export async function prepareParts(ctx: PartsContext, signal: AbortSignal): Promise<Prepared | null> {
  const { dryRun, snapshot, logger: log } = ctx;
  if (!dryRun) {
    const probe = await checkIpvsadm(snapshot.global.ipvsadm, undefined, signal);
    if (signal.aborted) return null;
    if (!probe.ok) {
      // Not fatal: checks, status and reloads keep running while the reconciler retries with backoff.
      log.error({ code: probe.error.code, err: probe.error.message }, 'ipvsadm is not usable; will keep retrying');
    } else {
      log.info({ ipvsadm: snapshot.global.ipvsadm, version: probe.version }, 'ipvsadm found');
    }
  }
  const runner = createRunner(snapshot, dryRun, log);
  if (dryRun) return { runner, ownership: Ownership.inMemory() };
  // A kill -9 mid-write leaves `.admin.json.PID.HEX.tmp` and the like; nothing else is touched.
  const stateDir = snapshot.global.stateDir;
  await removeAtomicTemporaries(stateDir).then(
    (count) => count > 0 && log.info({ event: 'state_temporaries_removed', state_dir: stateDir, count }, `removed ${count} leftover temporary file(s) of atomic writes from ${stateDir}`),
    (err: unknown) => log.warn({ code: 'LVSD_STATE_IO', state_dir: stateDir, err: errorMessage(err) }, 'cannot remove leftover temporary files from the state dir'),
  );
  return { runner, ownership: await Ownership.load(stateDir, log) };
}

/** Every part, wired: each reports to the routes, each pass is published to its subscribers. */
export function buildParts(ctx: PartsContext, prepared: Prepared): Parts {
  const { dryRun, configDir, snapshot, logger: log } = ctx;
  const { runner, ownership } = prepared;
  const stateDir = snapshot.global.stateDir;
  // The parts report through `routes`, built last: no constructor below calls back.
  const board = new HealthBoard();
  const lag = new LoopLagMonitor();
  const engine: CheckEngine = createCheckEngine({
    threads: checkThreadsFor(snapshot.global.checkThreads),
    maxConcurrent: snapshot.global.maxConcurrentChecks,
    logger: log,
    hooks: {
      onEvents: (events) => routes.healthEvents(events),
      onResults: (results) => routes.checkResults(results),
      onResync: () => board.resync(engine.boardEntries()),
    },
  });
  const tracker = engine.health;
  const sync = new SyncDaemonKeeper({ runner, logger: log, file: dryRun ? null : syncDaemonFilePath(stateDir) });
  const admin: AdminControl = new AdminControl({
    logger: log,
    file: dryRun ? null : adminFilePath(stateDir),
    socketPath: snapshot.global.controlSocket,
    maintenanceDir: snapshot.global.maintenanceDir,
    onChange: () => routes.adminChanged(),
    syncRole: (req, by) => routes.syncRole(req, by),
  });
  const agents = new AgentPoller({ logger: log, onChange: (changes) => routes.agentChanges(changes) });
  const announcer = createAnnouncer(snapshot, {
    logger: log,
    dryRun,
    checked: (s, r) => (tracker.get(s, r)?.health.state ?? 'unknown') !== 'unknown',
    hooks: () => observer.metrics.announce,
  });
  const procPath = procIpVsPath();
  const observer: Observer = new Observer({
    logger: log,
    configDir,
    dryRun,
    snapshot,
    health: tracker,
    engine,
    runner,
    readStats: () => runner.stats(),
    // A dry run's table is in memory: its counters come from the runner, never from the kernel.
    ...(dryRun || procPath === null ? {} : { readConnections: () => readProcConnections(procPath) }),
    admin,
    agents,
    announce: announcer,
    sync,
  });
  const notifier = new Notifier({ logger: log, onResult: (event, result) => observer.metrics.notifyResult(event, result) });
  const dnsState = new DnsStateFeed(snapshot, log);
  const subscribers: PassSubscriber[] = [observer, dnsState];
  if (announcer) subscribers.push(announcer);
  const reconciler = new Reconciler({
    runner,
    logger: log,
    ownership,
    resyncIntervalMs: snapshot.global.resyncIntervalMs,
    drainTimeoutMs: snapshot.global.drainTimeoutMs,
    subscribers,
    onServiceEvents: (events) => routes.serviceEvents(events),
  });
  // What desired() reads besides the snapshot, each a live view of its part.
  reconciler.setHealth(board.view);
  reconciler.setAdmin(admin.view());
  reconciler.setAgents(agents.view());
  const gate = new FirstRoundGate({
    logger: log,
    unknownCount: () => tracker.unknownCount,
    state: (s, r) => tracker.get(s, r)?.health.state,
    snapshot: ctx.current,
    stopping: ctx.stopping,
    open: () => {
      reconciler.start().catch((err: unknown) => log.error({ err: errorMessage(err) }, 'first reconcile pass failed'));
      // With the table, never before the first results: the sync daemon follows the same gate.
      sync.start().catch((err: unknown) => log.error({ code: 'LVSD_INTERNAL', err: errorMessage(err) }, 'sync daemon keeper failed'));
    },
  });
  const watcher = new ConfigWatcher({ configDir, logger: log, initial: snapshot });
  watcher.on('snapshot', ctx.onSnapshot);
  watcher.on('reloaded', (outcome) => observer.reloaded(outcome));
  const routes: DaemonRoutes = new DaemonRoutes({ board, observer, notifier, reconciler, admin, sync, gate }, log, ctx.current);
  return {
    runner,
    ownedAtStart: ownership.keys().size,
    lag,
    engine,
    board,
    reconciler,
    gate,
    sync,
    notifier,
    observer,
    dnsState,
    announcer,
    admin,
    agents,
    watcher,
    routes,
  };
}
