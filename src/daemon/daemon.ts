// The composition root of `lvsd run`: the lifecycle (start, reload, stop) over the parts that
// parts.ts builds in one place. The order in which the parts start and stop is here; what their
// events do is in routes.ts, the first-round gate in first-round.ts, the kernel's stop in stop.ts.

import type { Snapshot } from '../config/model.js';
import { indexOf } from '../config/snapshot-index.js';
import { buildProbePlan } from '../scheduler/probe-key.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { VERSION } from '../version.js';
import { formatListen } from '../observe/http-server.js';
import { Lifecycle, actionFor } from './lifecycle.js';
import type { Phase } from './lifecycle.js';
import { STOP_BUDGET_MS, stopKernel, withinMs } from './stop.js';
import { countReals } from './log.js';
import { RestartWatch } from './restart-watch.js';
import { buildParts, prepareParts } from './parts.js';
import type { Parts, PartsContext } from './parts.js';

export interface DaemonOptions {
  readonly configDir: string;
  readonly dryRun: boolean;
  readonly logger: Logger;
  readonly initial: Snapshot;
  /** Total time a stop may take (default STOP_BUDGET_MS). */
  readonly stopBudgetMs?: number;
}

export class Daemon {
  readonly #o: DaemonOptions;
  readonly #log: Logger;
  readonly #life = new Lifecycle();
  #snapshot: Snapshot;
  /** Restart-only settings are compared with the snapshot of the start. */
  readonly #restartWatch: RestartWatch;
  /** Built at once during start, after what they need was read; null before (a stop then has nothing to stop). */
  #parts: Parts | null = null;
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

    const context: PartsContext = {
      configDir,
      dryRun,
      logger: log,
      snapshot,
      current: () => this.#snapshot,
      stopping: () => this.#life.stopRequested,
      onSnapshot: (next) => this.#reload(next),
    };
    const prepared = await prepareParts(context, signal);
    if (prepared === null) return;
    // Built even when a stop came meanwhile: the stop then stops them (and logs "lvsd stopped").
    const parts = buildParts(context, prepared);
    this.#parts = parts;
    if (signal.aborted) return;
    await parts.sync.load();
    if (signal.aborted) return;
    parts.lag.start();
    parts.engine.start();
    const threads = parts.engine.threads;
    log.info({ event: 'check_engine', threads, max_concurrent_checks: snapshot.global.maxConcurrentChecks }, threads === 0 ? 'checks run on the control thread (check_threads: 0)' : `checks run on ${threads} thread(s)`);
    // Bound before anything starts, so a taken port (LVSD_LISTEN_FAILED) stops the start cleanly.
    const bound = await parts.observer.listen();
    if (signal.aborted) return;
    await parts.announcer?.start();
    if (signal.aborted) return;
    // After the listener (a taken port stops the start before the socket exists), before the first
    // pass: a drain or maintenance set before a restart holds from the first table on.
    await parts.admin.start(snapshot);
    if (signal.aborted) return;

    this.#applySnapshot(snapshot);
    parts.gate.arm(snapshot, parts.engine.checking());
    await parts.watcher.start();
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
    this.#parts?.watcher.reload(reason).catch((err: unknown) => this.#log.error({ code: 'LVSD_INTERNAL', err: errorMessage(err), reason }, 'reload failed'));
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
    const parts = this.#parts;
    if (!parts) {
      this.#log.info('lvsd stopped (nothing was started)');
      return 0;
    }
    let code = 0;
    try {
      await this.#stopChecks(parts);
      // Routes follow the table: withdrawn before a clean stop removes the services (the router
      // moves traffic first), left for the next lvsd when the table stays (SIGUSR2, clean_stop: false).
      await withinMs(parts.announcer?.stop(clean && !duringStart) ?? Promise.resolve(), Math.max(0, deadline - Date.now()));
      // Before the services go: the DNS state file says DOWN for every VIP (gdnsd moves clients).
      if (clean && !duringStart) await withinMs(parts.dnsState.withdraw(), Math.max(0, deadline - Date.now()));
      // A start changes nothing in the kernel (the first-round gate), so an aborted one has nothing
      // to remove; what an earlier run left stays for the next start to adopt.
      // Commands already running may finish (each within its timeout), alongside the kernel's stop
      // and not past the budget: then the notifier kills them, so none outlives "lvsd stopped".
      const notified = parts.notifier.close(Math.max(0, deadline - Date.now() - 500));
      code = await stopKernel({ reconciler: parts.reconciler, clean: clean && !duringStart, deadline, budgetMs: this.#stopBudgetMs, ownedAtStart: parts.ownedAtStart, log: this.#log, alongside: notified });
      await notified;
    } finally {
      // Last, so status and metrics stay readable while the clean stop runs.
      await parts.observer.close();
    }
    return code;
  }

  async #stopChecks(parts: Parts): Promise<void> {
    parts.gate.close();
    await parts.watcher.close();
    await parts.admin.close();
    // Its loop only: the kernel's daemons keep running (a backup keeps receiving across a restart).
    await parts.sync.stop();
    // In-flight checks aborted (MISC process groups killed), threads ended: within a share of the budget.
    await parts.engine.stop(Math.max(1000, this.#stopBudgetMs / 4));
    parts.agents.stop();
    parts.lag.stop();
  }

  get #stopBudgetMs(): number {
    return this.#o.stopBudgetMs ?? STOP_BUDGET_MS;
  }

  /** A start that failed: stop what it built, change nothing in the kernel. */
  async #teardown(): Promise<void> {
    const parts = this.#parts;
    if (!parts) return;
    try {
      await this.#stopChecks(parts);
      await parts.announcer?.stop(false);
      await parts.reconciler.stop({ clean: false });
    } finally {
      await parts.observer.close();
    }
  }

  /**
   * Take a snapshot into use. Everything desired() reads (admin, agents, health, probes, the
   * reconciler's snapshot) changes in one synchronous step, so a pass never sees half a config.
   * Metrics and status (read-only side channels) follow in the next macrotask when `split`, so the
   * event loop gets a turn between the two halves of a large reload; resolves once both are done.
   */
  #applySnapshot(snapshot: Snapshot, split = false): Promise<void> {
    const parts = this.#parts;
    if (!parts) return Promise.resolve();
    this.#snapshot = snapshot;
    // The snapshot's lookups, built once here and shared by every part that reads this snapshot.
    indexOf(snapshot);
    parts.admin.setSnapshot(snapshot);
    const dropped = parts.agents.update(snapshot);
    if (dropped.length > 0) parts.routes.agentChanges(dropped);
    // One plan for every consumer: they then share its key strings (compared by identity).
    const plan = buildProbePlan(snapshot);
    // The engine's health mirror takes the plan now (kept keys keep their state) and the board is
    // resynced from it; the threads' answer (first results from probes already running) comes as
    // events, and corrects the mirror with what they recorded meanwhile.
    parts.engine.update(plan);
    parts.reconciler.setSnapshot(snapshot);
    parts.announcer?.setSnapshot(snapshot);
    parts.dnsState.setSnapshot(snapshot);
    parts.sync.setConfig(snapshot.global.syncDaemon, snapshot.global.resyncIntervalMs);
    const observe = (): void => {
      // A later snapshot may have been applied meanwhile: it has set the observer itself.
      if (this.#snapshot === snapshot) parts.observer.setSnapshot(snapshot, plan);
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

  #reload(next: Snapshot): void {
    if (this.#life.stopRequested) return;
    this.#parts?.observer.setRestartNeeded(this.#restartWatch.check(next));
    if (next.global.logLevel !== this.#snapshot.global.logLevel) this.#log.level = next.global.logLevel;
    const t = performance.now();
    void this.#applySnapshot(next, true).then(() => {
      if (this.#snapshot !== next) return;
      this.#log.info({ services: next.services.length, files: next.files.length, apply_ms: Math.round(performance.now() - t) }, 'new configuration in force');
    });
  }
}
