// The composition root of `lvsd run`: the only place that wires config, checks, health, reconcile and IPVS.

import { ConfigWatcher } from './config/watch.js';
import { formatIssue } from './config/load.js';
import type { Snapshot } from './config/model.js';
import { runCheck } from './checks/index.js';
import { HealthTracker } from './health/tracker.js';
import type { HealthEvent } from './health/tracker.js';
import { LoopLagMonitor } from './loop-lag.js';
import { Scheduler } from './scheduler/scheduler.js';
import { ThrottledWarning } from './throttled-warning.js';
import { buildProbePlan } from './scheduler/probe-key.js';
import type { ProbePlan } from './scheduler/probe-key.js';
import { Reconciler } from './reconcile/reconciler.js';
import { NO_DECISION, quorumOf } from './reconcile/pass-report.js';
import type { PassDecision } from './reconcile/pass-report.js';
import type { HealthView } from './reconcile/desired.js';
import { Ownership } from './reconcile/ownership.js';
import { HealthBoard } from './reconcile/health-board.js';
import { checkIpvsadm, createDryRunRunner, createIpvsadmRunner } from './ipvs/runner.js';
import type { IpvsRunner } from './ipvs/model.js';
import { procIpVsPath, readProcConnections } from './ipvs/proc-conns.js';
import type { SyncDaemonRunner } from './sync-daemon/ipvsadm.js';
import { SyncDaemonKeeper } from './sync-daemon/keeper.js';
import { syncDaemonFilePath } from './sync-daemon/record.js';

import { Observer } from './observe/observer.js';
import { indexOf } from './config/snapshot-index.js';
import { Notifier } from './notify/notifier.js';
import { AgentPoller } from './agent/agent-poller.js';
import type { AgentChange } from './agent/agent-poller.js';
import { errorMessage } from './errors.js';
import { removeAtomicTemporaries } from './atomic-file.js';
import { Lifecycle, actionFor } from './lifecycle.js';
import { STOP_BUDGET_MS, stopKernel, withinMs } from './daemon-stop.js';
import type { Phase } from './lifecycle.js';
import { AdminControl } from './control/admin-control.js';
import { adminFilePath } from './control/admin-file.js';
import type { Logger } from './log.js';
import { VERSION } from './version.js';
import { formatListen } from './observe/http-server.js';
import { createAnnouncer } from './announce/create-announcer.js';
import type { Announcer } from './announce/announcer.js';
import { countReals, firstRoundCounts, logFirstRound, logHealthEvents } from './daemon-log.js';
import { RestartWatch, agentToAdmin, notifyHealthEvents, notifyServiceEvents, syncRoleReply } from './daemon-events.js';

export interface DaemonOptions {
  readonly configDir: string;
  readonly dryRun: boolean;
  readonly logger: Logger;
  readonly initial: Snapshot;
  /** Total time a stop may take (default STOP_BUDGET_MS). */
  readonly stopBudgetMs?: number;
}

/** A real's first check may take its whole interval (first runs are spread) plus its timeout. */
function firstRoundDeadlineMs(plan: ProbePlan): number {
  let max = 0;
  for (const { target } of plan.values()) max = Math.max(max, target.spec.intervalMs + target.spec.timeoutMs);
  return max + 1000;
}

/** Health as desired() reads it, straight from the tracker: for `lvsd plan` (the daemon reads its HealthBoard). */
export function healthViewOf(tracker: HealthTracker): HealthView {
  return (serviceKey, realKey) => {
    const t = tracker.get(serviceKey, realKey);
    if (!t) return { state: 'unknown' };
    return t.health.weight === null ? { state: t.health.state } : { state: t.health.state, weight: t.health.weight };
  };
}

export function createRunner(snapshot: Snapshot, dryRun: boolean, logger: Logger): IpvsRunner & SyncDaemonRunner {
  return dryRun ? createDryRunRunner({ logger }) : createIpvsadmRunner({ path: snapshot.global.ipvsadm, logger });
}

export class Daemon {
  readonly #o: DaemonOptions;
  readonly #log: Logger;
  readonly #life = new Lifecycle();
  readonly #tracker = new HealthTracker();
  /** Health as the reconciler reads it: fed by the tracker's events, resynced on each new plan. */
  readonly #board = new HealthBoard();
  #snapshot: Snapshot;
  /** Restart-only settings are compared with the snapshot of the start. */
  readonly #restartWatch: RestartWatch;
  #firstRoundDone = false;
  // Parts exist once start() has built them; a stop during start finds only some of them.
  #runner: IpvsRunner | null = null;
  #scheduler: Scheduler | null = null;
  /** lvsd's own lateness; the scheduler judges timeouts and admission by it. */
  readonly #lag = new LoopLagMonitor();
  /** Notify commands: fire and forget, bounded; never awaited by a pass or a check. */
  #notifier: Notifier | null = null;
  /** Realserver agents (HAProxy agent-check): weight %, up/down into desired; drain/maint as admin source. */
  #agents: AgentPoller | null = null;
  #reconciler: Reconciler | null = null;
  /** What the last committed pass decided; status, metrics and the announcer read this, not the reconciler. */
  #decision: PassDecision = NO_DECISION;
  /** The kernel's connection sync daemon (lvsd.yaml sync_daemon, run-time role); starts with the reconciler. */
  #sync: SyncDaemonKeeper | null = null;
  #ownedAtStart = 0;
  #watcher: ConfigWatcher | null = null;
  /** Admin state: control socket, maintenance dir, operator record; an input of desired. */
  #admin: AdminControl | null = null;
  /** Metrics, status API and page: a side channel that only reads. */
  #observer: Observer | null = null;
  /** VIP announce (BGP speakers): another side channel, fed after every pass. */
  #announcer: Announcer | null = null;
  #firstRoundTimer: NodeJS.Timeout | null = null;
  /** SIGHUPs that arrived while starting: one reload once running. */
  #queuedReloads: string[] = [];
  #starting: Promise<void> | null = null;
  #stopping: Promise<number> | null = null;
  #done!: (code: number) => void;
  readonly finished: Promise<number>;

  constructor(options: DaemonOptions) {
    this.#o = options;
    this.#log = options.logger;
    this.#snapshot = options.initial;
    this.#restartWatch = new RestartWatch(options.initial, options.logger);
    this.finished = new Promise((resolve) => (this.#done = resolve));
    this.#life.onChange((from, to) => this.#log.debug({ from, to }, `lifecycle: ${to}`));
  }

  get snapshot(): Snapshot {
    return this.#snapshot;
  }

  get phase(): Phase {
    return this.#life.phase;
  }

  /**
   * Build and start every part. Resolves once running, or once a stop that arrived during start
   * has aborted it (then `finished` carries the stop's exit code). Rejects when the start itself
   * fails (e.g. LVSD_LISTEN_FAILED): what it built is torn down, the kernel is left as it was.
   */
  start(): Promise<void> {
    this.#starting ??= this.#start().catch(async (err: unknown) => {
      if (this.#life.stopRequested) return; // the abort of a stop, not a failure of its own
      this.#life.to('stopping');
      this.#stopping = this.#teardown()
        .catch((e: unknown) => this.#log.error({ code: 'LVSD_INTERNAL', err: errorMessage(e) }, 'cleanup after a failed start failed'))
        .then(() => this.#finish(1));
      await this.#stopping;
      throw err;
    });
    return this.#starting;
  }

  async #start(): Promise<void> {
    const { dryRun, configDir } = this.#o;
    const snapshot = this.#snapshot;
    const log = this.#log;
    const signal = this.#life.startSignal;
    log.info({ configDir, dryRun, services: snapshot.services.length, files: snapshot.files.length }, 'lvsd starting');

    if (!dryRun) {
      const probe = await checkIpvsadm(snapshot.global.ipvsadm, undefined, signal);
      if (signal.aborted) return;
      if (!probe.ok) {
        // Not fatal: checks, status and reloads keep running while the reconciler retries with backoff.
        log.error({ code: probe.error.code, err: probe.error.message }, 'ipvsadm is not usable; will keep retrying');
      } else {
        log.info({ ipvsadm: snapshot.global.ipvsadm, version: probe.version }, 'ipvsadm found');
      }
    }
    const runner = createRunner(snapshot, dryRun, log);
    this.#runner = runner;
    let ownership: Ownership;
    if (dryRun) {
      ownership = Ownership.inMemory();
    } else {
      // A kill -9 mid-write leaves `.admin.json.PID.HEX.tmp` and the like; nothing else is touched.
      const stateDir = snapshot.global.stateDir;
      await removeAtomicTemporaries(stateDir).then(
        (count) => count > 0 && log.info({ event: 'state_temporaries_removed', state_dir: stateDir, count }, `removed ${count} leftover temporary file(s) of atomic writes from ${stateDir}`),
        (err: unknown) => log.warn({ code: 'LVSD_STATE_IO', state_dir: stateDir, err: errorMessage(err) }, 'cannot remove leftover temporary files from the state dir'),
      );
      ownership = await Ownership.load(snapshot.global.stateDir, log);
    }
    this.#ownedAtStart = ownership.keys().size;

    const reconciler = new Reconciler({
      runner,
      logger: log,
      ownership,
      resyncIntervalMs: snapshot.global.resyncIntervalMs,
      drainTimeoutMs: snapshot.global.drainTimeoutMs,
      onPass: (report) => {
        this.#observer?.reconcilePass(report);
        this.#announcer?.passed(report.ok, this.#reconciler?.stats().consecutiveFailures ?? 0);
      },
      onDecision: (decision) => {
        this.#decision = decision;
        this.#observer?.decided(decision);
      },
      onServiceEvents: (events) => {
        if (this.#notifier) notifyServiceEvents(this.#notifier, this.#snapshot, events);
      },
    });
    this.#reconciler = reconciler;
    const sync = new SyncDaemonKeeper({ runner, logger: log, file: dryRun ? null : syncDaemonFilePath(snapshot.global.stateDir) });
    await sync.load();
    this.#sync = sync;
    if (signal.aborted) return;
    this.#notifier = new Notifier({ logger: log, onResult: (event, result) => this.#observer?.metrics.notifyResult(event, result) });
    reconciler.setHealth(this.#board.view);
    if (signal.aborted) return;

    const overload = new ThrottledWarning(log, 10_000);
    this.#lag.start();
    const scheduler = new Scheduler({
      check: runCheck,
      maxConcurrent: snapshot.global.maxConcurrentChecks,
      // Checks due within the same 10 ms start together: ~100 wake-ups a second instead of one per
      // check (bench/results/checks-peer.md); a check starts at most 10 ms after its due time.
      coalesceMs: 10,
      lag: this.#lag,
      onOverload: (info) =>
        overload.warn(
          { event: 'checks_delayed', lag_ms: Math.round(info.lagMs), queued: info.queued, delayed: info.delayed, late_timeouts: info.lateTimeouts },
          'lvsd is late (event-loop lag): checks run later, at a lower effective rate; timeouts it caused are re-run, not counted against realservers',
        ),
      onResult: (probeKey, result) => {
        this.#observer?.checkResult(probeKey, result);
        this.#onEvents(this.#tracker.record(probeKey, result, Date.now()));
      },
    });
    this.#scheduler = scheduler;

    const procPath = procIpVsPath();
    // Bound before anything starts, so a taken port (LVSD_LISTEN_FAILED) stops the start cleanly.
    const observer = new Observer({
      logger: log,
      configDir,
      dryRun,
      snapshot,
      tracker: this.#tracker,
      reconciler,
      scheduler,
      runner,
      readStats: () => runner.stats(),
      // A dry run's table is in memory: its counters come from the runner, never from the kernel.
      ...(dryRun || procPath === null ? {} : { readConnections: () => readProcConnections(procPath) }),
      admin: () => this.#admin,
      agents: () => this.#agents,
      announce: () => this.#announcer?.status() ?? null,
      sync: () => this.#sync,
    });
    this.#observer = observer;
    const bound = await observer.listen();
    if (signal.aborted) return;
    const announcer = createAnnouncer(snapshot, {
      logger: log,
      dryRun,
      quorumOf: (key) => quorumOf(this.#decision, key),
      checked: (s, r) => (this.#tracker.get(s, r)?.health.state ?? 'unknown') !== 'unknown',
      hooks: () => this.#observer?.metrics.announce ?? null,
    });
    this.#announcer = announcer;
    await announcer?.start();
    if (signal.aborted) return;

    // After the listener (a taken port stops the start before the socket exists), before the first
    // pass: a drain or maintenance set before a restart holds from the first table on.
    const admin = new AdminControl({
      logger: log,
      file: dryRun ? null : adminFilePath(snapshot.global.stateDir),
      socketPath: snapshot.global.controlSocket,
      maintenanceDir: snapshot.global.maintenanceDir,
      onChange: () => this.#reconciler?.trigger('admin'),
      syncRole: (req, by) => syncRoleReply(this.#sync, req, by, this.#log),
    });
    this.#admin = admin;
    await admin.start(snapshot);
    if (signal.aborted) return;
    reconciler.setAdmin(admin.view());
    const agents = new AgentPoller({ logger: log, onChange: (changes) => this.#agentChanges(changes) });
    this.#agents = agents;
    reconciler.setAgents(agents.view());

    this.#applySnapshot(snapshot);
    this.#watchFirstRound();

    const watcher = new ConfigWatcher({ configDir, logger: log, initial: snapshot });
    this.#watcher = watcher;
    watcher.on('snapshot', (next) => this.#reload(next));
    watcher.on('reloaded', (outcome) => this.#observer?.reloaded(outcome));
    await watcher.start();
    if (signal.aborted) return;

    this.#life.to('running');
    const reals = countReals(snapshot);
    log.info(
      { event: 'started', version: VERSION, pid: process.pid, listen: formatListen(bound), services: snapshot.services.length, reals, dryRun },
      `lvsd ${VERSION} running: pid ${process.pid}, listening on ${formatListen(bound)}, ${snapshot.services.length} services, ${reals} reals${dryRun ? ' (dry run)' : ''}`,
    );
    if (this.#queuedReloads.length > 0) {
      const reasons = this.#queuedReloads.join(', ');
      this.#queuedReloads = [];
      log.info({ reason: reasons }, 'applying the reload requested during start');
      this.#watcherReload(`${reasons} (during start)`);
    }
  }

  /** SIGHUP: reload now when running, once running when starting, not at all once stopping. */
  reload(reason: string): void {
    switch (actionFor(this.#life.phase, 'reload')) {
      case 'queue-reload':
        this.#queuedReloads.push(reason);
        this.#log.info({ reason }, 'reload requested during start; it runs once started');
        return;
      case 'reload':
        this.#watcherReload(reason);
        return;
      default:
        this.#log.debug({ reason, phase: this.#life.phase }, 'reload ignored: stopping');
    }
  }

  #watcherReload(reason: string): void {
    // ConfigWatcher reports config problems as an outcome; a rejection here is a bug, logged, never fatal.
    this.#watcher?.reload(reason).catch((err: unknown) => this.#log.error({ code: 'LVSD_INTERNAL', err: errorMessage(err), reason }, 'reload failed'));
  }

  /**
   * SIGTERM/SIGINT: stop checks, then (clean_stop) remove managed services. SIGUSR2 passes
   * `clean: false` (package upgrades: the next lvsd adopts the table). The first stop wins; a stop
   * during start aborts the start first. Resolves with the exit code.
   */
  stop(signal: string, options: { readonly clean?: boolean } = {}): Promise<number> {
    const action = actionFor(this.#life.phase, 'stop');
    if (action === 'ignore') {
      if (this.#stopping) return this.#stopping;
      return this.finished;
    }
    this.#life.to('stopping');
    const clean = options.clean ?? this.#snapshot.global.cleanStop;
    // A stop always finishes: a bug inside it is logged and makes the exit status 1, never a hang.
    this.#stopping = this.#shutdown(signal, clean, action === 'abort-start')
      .catch((err: unknown) => {
        this.#log.error({ code: 'LVSD_INTERNAL', err: errorMessage(err) }, 'stop failed');
        return 1;
      })
      .then((code) => this.#finish(code));
    return this.#stopping;
  }

  #finish(code: number): number {
    this.#life.to('stopped');
    this.#done(code);
    return code;
  }

  async #shutdown(signal: string, clean: boolean, duringStart: boolean): Promise<number> {
    this.#log.info({ signal, cleanStop: clean, phase: duringStart ? 'starting' : 'running' }, duringStart ? 'lvsd stopping (start aborted)' : 'lvsd stopping');
    // The start unwinds at its next step (its AbortSignal ended any ipvsadm it ran); wait for that
    // so the parts it built are all known before they are stopped.
    await this.#starting?.catch(() => undefined);
    // One budget for the whole stop, counted from here: well inside systemd's TimeoutStopSec.
    const deadline = Date.now() + this.#stopBudgetMs;
    let code = 0;
    try {
      await this.#stopChecks();
      // Routes follow the table: withdrawn before a clean stop removes the services (the router
      // moves traffic first), left for the next lvsd when the table stays (SIGUSR2, clean_stop: false).
      await withinMs(this.#announcer?.stop(clean && !duringStart) ?? Promise.resolve(), Math.max(0, deadline - Date.now()));
      // Before the services go: the DNS state file says DOWN for every VIP (gdnsd moves clients).
      if (clean && !duringStart) await withinMs(this.#observer?.withdrawDnsState() ?? Promise.resolve(), Math.max(0, deadline - Date.now()));
      // A start changes nothing in the kernel (the first-round gate), so an aborted one has nothing
      // to remove; what an earlier run left stays for the next start to adopt.
      // Commands already running may finish (each within its timeout), alongside the kernel's stop
      // and not past the budget: then the notifier kills them, so none outlives "lvsd stopped".
      const notified = this.#notifier?.close(Math.max(0, deadline - Date.now() - 500)) ?? Promise.resolve();
      code = await stopKernel({ reconciler: this.#reconciler, clean: clean && !duringStart, deadline, budgetMs: this.#stopBudgetMs, ownedAtStart: this.#ownedAtStart, log: this.#log, alongside: notified });
      await notified;
    } finally {
      // Last, so status and metrics stay readable while the clean stop runs.
      await this.#observer?.close();
    }
    return code;
  }

  async #stopChecks(): Promise<void> {
    if (this.#firstRoundTimer) clearTimeout(this.#firstRoundTimer);
    this.#firstRoundTimer = null;
    await this.#watcher?.close();
    await this.#admin?.close();
    // Its loop only: the kernel's daemons keep running (a backup keeps receiving across a restart).
    await this.#sync?.stop();
    await this.#scheduler?.stop();
    this.#agents?.stop();
    this.#lag.stop();
  }

  get #stopBudgetMs(): number {
    return this.#o.stopBudgetMs ?? STOP_BUDGET_MS;
  }

  /** A start that failed: stop what it built, change nothing in the kernel. */
  async #teardown(): Promise<void> {
    try {
      await this.#stopChecks();
      await this.#announcer?.stop(false);
      await this.#reconciler?.stop({ clean: false });
    } finally {
      await this.#observer?.close();
    }
  }

  /**
   * Take a snapshot into use. Everything desired() reads (admin, agents, health, probes, the
   * reconciler's snapshot) changes in one synchronous step, so a pass never sees half a config.
   * Metrics and status (read-only side channels) follow in the next macrotask when `split`, so the
   * event loop gets a turn between the two halves of a large reload; resolves once both are done.
   */
  #applySnapshot(snapshot: Snapshot, split = false): Promise<void> {
    this.#snapshot = snapshot;
    // The snapshot's lookups, built once here and shared by every part that reads this snapshot.
    indexOf(snapshot);
    this.#admin?.setSnapshot(snapshot);
    const dropped = this.#agents?.update(snapshot) ?? [];
    if (dropped.length > 0) this.#agentChanges(dropped);
    // One plan for every consumer: they then share its key strings (compared by identity).
    const plan = buildProbePlan(snapshot);
    const events = this.#tracker.update(plan, Date.now());
    this.#board.resync(this.#tracker.entries());
    this.#scheduler?.update(plan);
    this.#reconciler?.setSnapshot(snapshot);
    this.#announcer?.setSnapshot(snapshot);
    this.#sync?.setConfig(snapshot.global.syncDaemon, snapshot.global.resyncIntervalMs);
    const observe = (): void => {
      // A later snapshot may have been applied meanwhile: it has set the observer itself.
      if (this.#snapshot === snapshot) this.#observer?.setSnapshot(snapshot, plan);
      this.#onEvents(events);
    };
    if (!split) {
      observe();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        observe();
        resolve();
      }),
    );
  }

  /** Agent replies: drain/maint into admin state, then a pass for their up/down and N%. */
  #agentChanges(changes: readonly AgentChange[]): void {
    if (this.#admin) agentToAdmin(this.#admin, changes);
    this.#reconciler?.trigger('agent');
  }

  #reload(next: Snapshot): void {
    if (this.#life.stopRequested) return;
    this.#observer?.setRestartNeeded(this.#restartWatch.check(next));
    if (next.global.logLevel !== this.#snapshot.global.logLevel) this.#log.level = next.global.logLevel;
    const t = performance.now();
    void this.#applySnapshot(next, true).then(() => {
      if (this.#snapshot !== next) return;
      this.#log.info({ services: next.services.length, files: next.files.length, apply_ms: Math.round(performance.now() - t) }, 'new configuration in force');
    });
  }

  /**
   * Never change the kernel before the first results are in: the reconciler starts once every
   * (service, real) pair has a first result, or when the slowest first check must have finished.
   */
  #watchFirstRound(): void {
    const deadline = firstRoundDeadlineMs(buildProbePlan(this.#snapshot));
    this.#firstRoundTimer = setTimeout(() => this.#startReconciler('first-round deadline'), deadline);
    this.#firstRoundTimer.unref();
    if (this.#tracker.unknownCount === 0) this.#startReconciler('no reals to wait for');
  }

  #startReconciler(why: string): void {
    const reconciler = this.#reconciler;
    if (!reconciler || this.#life.stopRequested || reconciler.stats().started) return;
    if (this.#firstRoundTimer) clearTimeout(this.#firstRoundTimer);
    this.#firstRoundTimer = null;
    this.#firstRoundDone = true;
    logFirstRound(this.#log, why, firstRoundCounts(this.#snapshot, (s, r) => this.#tracker.get(s, r)?.health.state));
    reconciler.start().catch((err: unknown) => this.#log.error({ err: errorMessage(err) }, 'first reconcile pass failed'));
    // With the table, never before the first results: the sync daemon follows the same gate.
    this.#sync?.start().catch((err: unknown) => this.#log.error({ code: 'LVSD_INTERNAL', err: errorMessage(err) }, 'sync daemon keeper failed'));
  }

  #onEvents(events: readonly HealthEvent[]): void {
    if (events.length === 0) return;
    this.#board.apply(events);
    this.#observer?.healthEvents(events);
    logHealthEvents(this.#log, events, indexOf(this.#snapshot).byKey, this.#firstRoundDone);
    if (this.#notifier) notifyHealthEvents(this.#notifier, this.#snapshot, events);
    this.#reconciler?.trigger('health');
    if (this.#reconciler && !this.#reconciler.stats().started && this.#tracker.unknownCount === 0) this.#startReconciler('all reals checked');
  }
}

/** Log every issue of an invalid config, one line each, for `run` at start. */
export function logIssues(logger: Logger, issues: readonly { file: string; line: number; col: number; message: string }[]): void {
  for (const i of issues) logger.error({ code: 'LVSD_CONFIG_INVALID', file: i.file, line: i.line, col: i.col }, formatIssue(i));
}
