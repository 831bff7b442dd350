// The composition root of `lvsd run`: the only place that wires config, checks, health, reconcile and IPVS.

import { mkdir } from 'node:fs/promises';
import { ConfigWatcher } from './config/watch.js';
import { formatIssue } from './config/load.js';
import type { ServiceConfig, Snapshot } from './config/model.js';
import { runCheck } from './checks/index.js';
import { HealthTracker } from './health/tracker.js';
import type { HealthEvent } from './health/tracker.js';
import { Scheduler } from './scheduler/scheduler.js';
import { buildProbePlan } from './scheduler/probe-key.js';
import type { ProbePlan } from './scheduler/probe-key.js';
import { Reconciler } from './reconcile/reconciler.js';
import type { HealthView } from './reconcile/desired.js';
import { Ownership } from './reconcile/ownership.js';
import { checkIpvsadm, createDryRunRunner, createIpvsadmRunner } from './ipvs/runner.js';
import type { IpvsRunner } from './ipvs/model.js';
import { Observer } from './observe/observer.js';
import { errorMessage } from './errors.js';
import type { Logger } from './log.js';

export interface DaemonOptions {
  readonly configDir: string;
  readonly dryRun: boolean;
  readonly logger: Logger;
  readonly initial: Snapshot;
}

/** A real's first check may take its whole interval (first runs are spread) plus its timeout. */
function firstRoundDeadlineMs(plan: ProbePlan): number {
  let max = 0;
  for (const { target } of plan.values()) max = Math.max(max, target.spec.intervalMs + target.spec.timeoutMs);
  return max + 1000;
}

/** Health as desired() reads it, straight from the tracker (no copy per pass). */
export function healthViewOf(tracker: HealthTracker): HealthView {
  return (serviceKey, realKey) => {
    const t = tracker.get(serviceKey, realKey);
    if (!t) return { state: 'unknown' };
    return t.health.weight === null ? { state: t.health.state } : { state: t.health.state, weight: t.health.weight };
  };
}

export function createRunner(snapshot: Snapshot, dryRun: boolean, logger: Logger): IpvsRunner {
  return dryRun ? createDryRunRunner({ logger }) : createIpvsadmRunner({ path: snapshot.global.ipvsadm, logger });
}

/** Global settings read once at start; a reload that changes them is logged, not applied. */
function restartOnlyGlobals(a: Snapshot, b: Snapshot): string[] {
  const keys: (keyof Snapshot['global'])[] = ['listen', 'ipvsadm', 'stateDir', 'maxConcurrentChecks', 'resyncIntervalMs', 'drainTimeoutMs'];
  return keys.filter((k) => JSON.stringify(a.global[k]) !== JSON.stringify(b.global[k]));
}

export class Daemon {
  readonly #o: DaemonOptions;
  readonly #log: Logger;
  readonly #tracker = new HealthTracker();
  readonly #services = new Map<string, ServiceConfig>();
  #snapshot: Snapshot;
  #runner!: IpvsRunner;
  #scheduler!: Scheduler;
  #reconciler!: Reconciler;
  #watcher!: ConfigWatcher;
  /** Metrics, status API and page: a side channel that only reads. */
  #observer: Observer | null = null;
  #firstRoundTimer: NodeJS.Timeout | null = null;
  #stopping: Promise<number> | null = null;
  #done!: (code: number) => void;
  readonly finished: Promise<number>;

  constructor(options: DaemonOptions) {
    this.#o = options;
    this.#log = options.logger;
    this.#snapshot = options.initial;
    this.finished = new Promise((resolve) => (this.#done = resolve));
  }

  get snapshot(): Snapshot {
    return this.#snapshot;
  }

  async start(): Promise<void> {
    const { dryRun, configDir } = this.#o;
    const snapshot = this.#snapshot;
    const log = this.#log;
    log.info({ configDir, dryRun, services: snapshot.services.length, files: snapshot.files.length }, 'lvsd starting');

    if (!dryRun) {
      const probe = await checkIpvsadm(snapshot.global.ipvsadm);
      if (!probe.ok) {
        // Not fatal: checks, status and reloads keep running while the reconciler retries with backoff.
        log.error({ code: probe.error.code, err: probe.error.message }, 'ipvsadm is not usable; will keep retrying');
      } else {
        log.info({ ipvsadm: snapshot.global.ipvsadm, version: probe.version }, 'ipvsadm found');
      }
    }
    this.#runner = createRunner(snapshot, dryRun, log);
    let ownership: Ownership;
    if (dryRun) {
      ownership = Ownership.inMemory();
    } else {
      await mkdir(snapshot.global.stateDir, { recursive: true });
      ownership = await Ownership.load(snapshot.global.stateDir, log);
    }

    this.#reconciler = new Reconciler({
      runner: this.#runner,
      logger: log,
      ownership,
      resyncIntervalMs: snapshot.global.resyncIntervalMs,
      drainTimeoutMs: snapshot.global.drainTimeoutMs,
      onPass: (report) => this.#observer?.reconcilePass(report),
    });
    this.#reconciler.setHealth(healthViewOf(this.#tracker));

    this.#scheduler = new Scheduler({
      check: runCheck,
      maxConcurrent: snapshot.global.maxConcurrentChecks,
      onResult: (probeKey, result) => {
        this.#observer?.checkResult(probeKey, result);
        this.#onEvents(this.#tracker.record(probeKey, result, Date.now()));
      },
    });

    // Bound before anything starts, so a taken port (LVSD_LISTEN_FAILED) stops the start cleanly.
    const observer = new Observer({
      logger: log,
      configDir,
      dryRun,
      snapshot,
      tracker: this.#tracker,
      reconciler: this.#reconciler,
      scheduler: this.#scheduler,
      runner: this.#runner,
      readStats: () => this.#runner.stats(),
    });
    await observer.listen();
    this.#observer = observer;

    this.#applySnapshot(snapshot);
    this.#watchFirstRound();

    this.#watcher = new ConfigWatcher({ configDir, logger: log, initial: snapshot });
    this.#watcher.on('snapshot', (next) => this.#reload(next));
    this.#watcher.on('reloaded', (outcome) => this.#observer?.reloaded(outcome));
    await this.#watcher.start();
  }

  /** SIGHUP. */
  reload(reason: string): void {
    void this.#watcher.reload(reason);
  }

  /**
   * SIGTERM/SIGINT: stop checks, then (clean_stop) remove managed services. SIGUSR2 passes
   * `clean: false` (package upgrades: the next lvsd adopts the table). The first stop wins.
   */
  stop(signal: string, options: { readonly clean?: boolean } = {}): Promise<number> {
    this.#stopping ??= this.#shutdown(signal, options.clean ?? this.#snapshot.global.cleanStop).then((code) => {
      this.#done(code);
      return code;
    });
    return this.#stopping;
  }

  async #shutdown(signal: string, clean: boolean): Promise<number> {
    this.#log.info({ signal, cleanStop: clean }, 'lvsd stopping');
    if (this.#firstRoundTimer) clearTimeout(this.#firstRoundTimer);
    await this.#watcher?.close();
    await this.#scheduler?.stop();
    try {
      const result = await this.#reconciler.stop({ clean });
      this.#log.info({ removed: result.removed, left: result.left }, 'lvsd stopped');
      return result.left.length === 0 ? 0 : 1;
    } catch (err) {
      this.#log.error({ err: errorMessage(err) }, 'clean stop failed; managed services may remain in the kernel');
      return 1;
    } finally {
      // Last, so status and metrics stay readable while the clean stop runs.
      await this.#observer?.close();
    }
  }

  #applySnapshot(snapshot: Snapshot): void {
    this.#snapshot = snapshot;
    this.#services.clear();
    for (const s of snapshot.services) this.#services.set(s.key, s);
    const events = this.#tracker.update(snapshot, Date.now());
    this.#observer?.setSnapshot(snapshot);
    this.#scheduler.update(buildProbePlan(snapshot));
    this.#reconciler.setSnapshot(snapshot);
    this.#onEvents(events);
  }

  #reload(next: Snapshot): void {
    const ignored = restartOnlyGlobals(this.#snapshot, next);
    if (ignored.length) this.#log.warn({ keys: ignored }, 'these lvsd.yaml settings take effect at the next restart');
    if (next.global.logLevel !== this.#snapshot.global.logLevel) this.#log.level = next.global.logLevel;
    this.#applySnapshot(next);
    this.#log.info({ services: next.services.length, files: next.files.length }, 'new configuration in force');
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
    if (this.#stopping || this.#reconciler.stats().started) return;
    if (this.#firstRoundTimer) clearTimeout(this.#firstRoundTimer);
    this.#firstRoundTimer = null;
    this.#log.info({ why, unknown: this.#tracker.unknownCount }, 'first check round in; reconciling the kernel table');
    this.#reconciler.start().catch((err: unknown) => this.#log.error({ err: errorMessage(err) }, 'first reconcile pass failed'));
  }

  #onEvents(events: readonly HealthEvent[]): void {
    if (events.length === 0) return;
    this.#observer?.healthEvents(events);
    for (const e of events) {
      const service = this.#services.get(e.serviceKey);
      this.#log.info(
        {
          event: e.kind === 'state' ? 'health_transition' : 'weight_change',
          service: service?.name ?? e.serviceKey,
          real: e.realKey,
          from: e.from,
          to: e.to,
          reason: e.reason,
          code: e.result.code,
          latency_ms: Math.round(e.latencyMs * 10) / 10,
          ...(e.weight === null ? {} : { weight: e.weight }),
        },
        `${service?.name ?? e.serviceKey} ${e.realKey}: ${e.from} -> ${e.to}`,
      );
    }
    this.#reconciler.trigger('health');
    if (!this.#reconciler.stats().started && this.#tracker.unknownCount === 0) this.#startReconciler('all reals checked');
  }
}

/** Log every issue of an invalid config, one line each, for `run` at start. */
export function logIssues(logger: Logger, issues: readonly { file: string; line: number; col: number; message: string }[]): void {
  for (const i of issues) logger.error({ file: i.file, line: i.line, col: i.col }, formatIssue(i));
}
