// The observability side channel of `lvsd run`: takes the daemon's hooks (results, transitions,
// reloads), keeps what each reconcile pass publishes, reads health and the check engine's counters
// through narrow sources, and serves /metrics, /status, /healthz, /health/vip/ADDRESS and the page
// at `/`. It only reads: nothing in checks, health, scheduler or reconcile depends on it.

import { hostname } from 'node:os';
import type { ListenAddress, Snapshot } from '../config/model.js';
import type { ProbePlan } from '../scheduler/probe-key.js';
import type { ReloadOutcome } from '../config/watch.js';
import type { CheckResult } from '../checks/types.js';
import { countInternalError } from '../checks/boundary.js';
import type { ResultCounts } from '../engine/control-side.js';
import type { HealthEvent } from '../health/tracker.js';
import type { IpvsRunner, IpvsTable, TableCounters } from '../ipvs/model.js';
import { INITIAL_STATS, NO_DECISION, quorumOf } from '../reconcile/pass-report.js';
import type { PassDecision, PassPublished, PassReport, PassSubscriber, ReconcilerStats } from '../reconcile/pass-report.js';
import type { Logger } from '../log.js';
import { VERSION } from '../version.js';
import { judgeHealth } from './healthz.js';
import type { HealthzVerdict } from './healthz.js';
import { ObserveServer, formatListen } from './http-server.js';
import type { PrefixRoute, Reply, Route } from './http-server.js';
import { parseVipAddress, vipHealthOf } from './vip-health.js';
import { KernelView } from './kernel-view.js';
import type { StatsReader } from './kernel-view.js';
import { LvsdMetrics } from './metrics.js';
import type { SyncSource } from './metrics-sync.js';
import { buildStatusDocument } from './status-document.js';
import type { PassSummary, ReloadState, StatusDocument } from './status-document.js';
import { renderStatusPage } from './status-page.js';
import { ThrottledWarning } from '../throttled-warning.js';
import type { AdminControl } from '../control/admin-control.js';
import type { AdminStatusInputs } from './status-document.js';
import { pairId } from '../model/keys.js';
import type { PairId } from '../model/keys.js';
import { indexOf } from '../config/snapshot-index.js';
import type { AgentSource, AnnounceSource, EngineStats, HealthSource } from './sources.js';

export type { AgentSource, AnnounceSource, EngineStats, HealthSource } from './sources.js';

export interface ObserverOptions {
  readonly logger: Logger;
  readonly configDir: string;
  readonly dryRun: boolean;
  readonly snapshot: Snapshot;
  readonly health: HealthSource;
  readonly engine: EngineStats;
  readonly runner: IpvsRunner;
  /**
   * Where the table /status and /metrics show comes from: `published` (default), the model each
   * reconcile pass publishes (never an ipvsadm read of their own); `runner`, read through the
   * runner (no reconciler: tests and tools).
   */
  readonly table?: 'published' | 'runner';
  /** Kernel traffic stats (ipvsadm -Ln --exact --stats), when the runner can read them. */
  readonly readStats?: StatsReader;
  /** Active/inactive connections without ipvsadm (/proc/net/ip_vs), when the daemon can read them. */
  readonly readConnections?: () => Promise<TableCounters>;
  /** Oldest kernel read metrics and status may serve (default 5 s). */
  readonly kernelMaxAgeMs?: number;
  readonly now?: () => number;
  /** process_* and nodejs_* metrics; default true. */
  readonly defaultMetrics?: boolean;
  /** Admin state (control socket, maintenance dir, agents' drain/maint); absent: every real ready. */
  readonly admin?: AdminControl;
  /** Realserver agents (HAProxy agent-check). */
  readonly agents?: AgentSource;
  /** VIP announce (lvsd.yaml `announce`); absent or null when not configured. */
  readonly announce?: AnnounceSource | null;
  /** The connection sync daemon keeper. */
  readonly sync?: SyncSource;
}

function adminInputs(admin: AdminControl | undefined): AdminStatusInputs | undefined {
  if (!admin) return undefined;
  const socket = admin.socketState();
  return {
    verdict: (s, r) => admin.store.verdict(s, r),
    entries: () => admin.store.entries(),
    socket: socket.path,
    socketError: socket.error,
    maintenanceDir: admin.maintenanceDir,
  };
}

/** The longest interval + timeout of any check: how long the slowest probe may go without a result. */
function slowestProbeMs(snapshot: Snapshot): number {
  let max = 0;
  for (const s of snapshot.services) {
    for (const r of s.reals) for (const c of r.checks ?? [r.check]) max = Math.max(max, c.intervalMs + c.timeoutMs);
  }
  return max;
}

function countOps(report: PassReport): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const op of report.ops) kinds[op.op] = (kinds[op.op] ?? 0) + 1;
  return kinds;
}

/**
 * Subscribes to the reconcile passes (PassSubscriber): what they publish is what status and metrics
 * show of the reconciler.
 */
export class Observer implements PassSubscriber {
  readonly metrics: LvsdMetrics;
  readonly kernel: KernelView;
  readonly #o: ObserverOptions;
  readonly #now: () => number;
  readonly #startedAt: number;
  readonly #server: ObserveServer;
  #snapshot: Snapshot;
  #plannedAt: number;
  #lastCheckAt: number | null = null;
  #failingSince: number | null = null;
  #lastPass: PassSummary | null = null;
  #decision: PassDecision = NO_DECISION;
  /** The reconcile loop's counters as the last pass published them, with the running pass's start. */
  #stats: ReconcilerStats = INITIAL_STATS;
  /** The table model as the last pass published it. */
  #table: IpvsTable | null = null;
  #reload: ReloadState;
  #restartNeeded: readonly string[] = [];
  #listen: ListenAddress;
  /** Pair id -> reason of the pair's last health change. */
  #transitions = new Map<PairId, string>();
  readonly #notRunWarning: ThrottledWarning;

  constructor(options: ObserverOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#startedAt = this.#now();
    this.#notRunWarning = new ThrottledWarning(options.logger, 10_000, this.#now);
    this.#plannedAt = this.#startedAt;
    this.#snapshot = options.snapshot;
    this.#listen = options.snapshot.global.listen;
    this.#reload = { ok: true, changed: true, reason: 'initial', at: this.#startedAt, issues: [], lastSuccessAt: this.#startedAt };
    this.kernel = new KernelView({
      runner: options.runner,
      ...(options.table === 'runner' ? {} : { model: () => ({ table: this.#table }) }),
      ...(options.readStats ? { readStats: options.readStats } : {}),
      ...(options.readConnections ? { readConnections: options.readConnections } : {}),
      ...(options.kernelMaxAgeMs === undefined ? {} : { maxAgeMs: options.kernelMaxAgeMs }),
      now: this.#now,
    });
    this.metrics = new LvsdMetrics(
      {
        snapshot: () => this.#snapshot,
        health: (s, r) => options.health.get(s, r),
        reconciler: () => this.#stats,
        scheduler: () => options.engine.stats(),
        checkThreads: () => ({ threads: options.engine.threads ?? 0, restarts: options.engine.restarts ?? 0 }),
        reload: () => this.#reload,
        kernel: () => this.kernel.get(),
        services: () => this.#decision.services,
        slowStarts: () => this.#decision.slowStarts,
        admin: () => adminInputs(options.admin),
        announce: () => options.announce?.status() ?? null,
        sync: () => options.sync ?? null,
      },
      { version: VERSION, ...(options.defaultMetrics === undefined ? {} : { defaultMetrics: options.defaultMetrics }) },
    );
    this.metrics.setSnapshot(options.snapshot);
    const routes = new Map<string, Route>([
      ['/metrics', async () => ({ status: 200, type: this.metrics.contentType, body: await this.metrics.text() })],
      ['/status', async () => ({ status: 200, type: 'application/json; charset=utf-8', body: `${JSON.stringify(await this.statusDocument(), null, 2)}\n` })],
      ['/healthz', () => {
        const v = this.healthz();
        return { status: v.ok ? 200 : 503, type: 'text/plain; charset=utf-8', body: v.ok ? 'ok\n' : `unhealthy\n${v.problems.map((p) => `- ${p}\n`).join('')}` };
      }],
      ['/', async () => ({ status: 200, type: 'text/html; charset=utf-8', body: renderStatusPage(await this.statusDocument()) })],
    ]);
    const prefixRoutes = new Map<string, PrefixRoute>([
      ['/health/vip/', (rest) => this.#vipReply(rest)],
      ['/metrics/', (rest) => this.#metricReply(rest)],
    ]);
    this.#server = new ObserveServer(routes, options.logger, prefixRoutes);
  }

  readonly #quorumOf = (key: string): boolean => quorumOf(this.#decision, key);

  /** A reconcile pass began: /healthz and the metrics see how long it runs. */
  passBegan(at: number, deadlineMs: number): void {
    this.#stats = { ...this.#stats, started: true, passRunningSince: at, passDeadlineMs: deadlineMs };
  }

  /** Once per pass (and after the clean stop): the reconciler's counters, decisions and table model. */
  published(p: PassPublished): void {
    this.#stats = p.stats;
    this.#decision = p.decision;
    this.#table = p.table.table;
    if (p.report) this.#passed(p.report);
    else this.kernel.invalidate();
  }

  /** GET /health/vip/ADDRESS: 200 healthy, 503 not (or no results yet), 404 not served, 400 not an IP. */
  /**
   * GET /metrics/NAME: one metric family, 404 if there is none by that name. At 10,000 reals the
   * whole /metrics is ~25 MB and seconds of the event loop; a script watching the scheduler
   * (bench/checks-peer.ts) reads the few families it needs without stalling the checks.
   */
  async #metricReply(name: string): Promise<Reply> {
    const body = await this.metrics.family(name);
    if (body === null) return { status: 404, type: 'text/plain; charset=utf-8', body: `no metric ${name}\n` };
    return { status: 200, type: this.metrics.contentType, body };
  }

  #vipReply(rest: string): Reply {
    const json = (status: number, body: unknown): Reply => ({ status, type: 'application/json; charset=utf-8', body: `${JSON.stringify(body)}\n` });
    const vip = parseVipAddress(rest);
    if (vip === null) return json(400, { error: 'not an IP address', address: rest });
    const health = vipHealthOf(this.#snapshot.services, vip, this.#quorumOf);
    if (!health) return json(404, { vip, error: 'no service of this director has that address' });
    return json(health.healthy ? 200 : 503, health);
  }

  /** Bind the listener (default: the snapshot's `listen`); throws LvsdError LVSD_LISTEN_FAILED. */
  async listen(at: ListenAddress = this.#o.snapshot.global.listen): Promise<ListenAddress> {
    this.#listen = await this.#server.listen(at);
    this.#o.logger.info({ listen: formatListen(this.#listen), paths: ['/', '/status', '/metrics', '/healthz', '/health/vip/ADDRESS'] }, 'status and metrics listener ready');
    return this.#listen;
  }

  close(): Promise<void> {
    return this.#server.close();
  }

  /** After the daemon adopted a new snapshot (and the tracker took it). */
  setSnapshot(snapshot: Snapshot, plan?: ProbePlan): void {
    this.#snapshot = snapshot;
    this.#plannedAt = this.#now();
    this.metrics.setSnapshot(snapshot, plan);
    // Drop the last transitions of pairs the config no longer has.
    const reals = indexOf(snapshot).reals;
    for (const id of this.#transitions.keys()) if (!reals.has(id)) this.#transitions.delete(id);
    this.kernel.invalidate();
  }

  /**
   * A check engine batch (src/engine/): result counts per probe, not-run counts, checker exceptions
   * caught on a check thread. Its not-run log line was written by the thread, throttled there.
   */
  checkResults(results: ResultCounts): void {
    for (const [type, n] of results.internalErrors) countInternalError(type, n);
    for (const [code, n] of results.notRun) this.metrics.notRun(code, n);
    if (results.results.probe.length === 0) return;
    this.#lastCheckAt = this.#now();
    this.metrics.checkResults(results.keys, results.results);
  }

  /** One completed periodic check (tests; the daemon's engine sends batches: checkResults). */
  checkResult(probeKey: string, result: CheckResult): void {
    if (result.code === 'not_run') {
      // Not a check of the real: /healthz keeps judging by the last check that really ran.
      this.#notRunWarning.warn(
        { event: 'check_not_run', code: result.notRun, probe: probeKey, reason: result.reason },
        'a check could not run (local resource error); realserver health left unchanged',
      );
      this.metrics.checkResult(probeKey, result);
      return;
    }
    this.#lastCheckAt = this.#now();
    this.metrics.checkResult(probeKey, result);
  }

  healthEvents(events: readonly HealthEvent[]): void {
    for (const e of events) if (e.kind === 'state') this.#transitions.set(pairId(e.serviceKey, e.realKey), e.reason);
    this.metrics.healthEvents(events);
  }

  #passed(report: PassReport): void {
    const durationMs = Math.max(0, this.#now() - report.at);
    this.metrics.reconcilePass(durationMs);
    this.#failingSince = report.ok ? null : (this.#failingSince ?? report.at);
    this.#lastPass = { at: report.at, ok: report.ok, ops: report.ops.length, durationMs, reasons: report.reasons, errors: report.errors };
    if (report.ops.length > 0) {
      this.kernel.invalidate();
      // The reconciler logs the lines before applying and any failure; this is the "done" line.
      if (report.ok) {
        this.#o.logger.info(
          { event: 'reconcile_applied', ops: report.ops.length, kinds: countOps(report), reasons: report.reasons, duration_ms: Math.round(durationMs) },
          'IPVS changes applied',
        );
      }
    }
  }

  /** Restart-only settings changed since start (remembered until the restart, shown in status). */
  setRestartNeeded(settings: readonly string[]): void {
    this.#restartNeeded = settings;
  }

  /** The config watcher's 'reloaded' event. */
  reloaded(outcome: ReloadOutcome): void {
    this.#reload = {
      ok: outcome.ok,
      changed: outcome.changed,
      reason: outcome.reason,
      at: outcome.at.getTime(),
      issues: outcome.issues,
      lastSuccessAt: outcome.ok ? outcome.at.getTime() : this.#reload.lastSuccessAt,
    };
    this.metrics.reloaded(outcome);
  }

  healthz(): HealthzVerdict {
    const now = this.#now();
    const last = this.#lastCheckAt === null ? this.#plannedAt : Math.max(this.#lastCheckAt, this.#plannedAt);
    return judgeHealth({
      now,
      resyncIntervalMs: this.#snapshot.global.resyncIntervalMs,
      reconcile: this.#stats,
      failingSince: this.#failingSince,
      probes: this.#o.engine.stats().probes,
      slowestProbeMs: slowestProbeMs(this.#snapshot),
      lastCheckAt: last,
      startedAt: this.#startedAt,
    });
  }

  async statusDocument(): Promise<StatusDocument> {
    // The check threads send each real's last reason and counters only when asked (engine/protocol.ts).
    await this.#o.engine.refresh?.();
    const kernel = await this.kernel.get();
    const admin = adminInputs(this.#o.admin);
    const agents = this.#o.agents;
    const sync = this.#o.sync;
    return buildStatusDocument({
      ...(sync ? { sync: sync.status() } : {}),
      ...(agents ? { agents: (s: string, r: string) => agents.status(s, r) } : {}),
      now: this.#now(),
      startedAt: this.#startedAt,
      version: VERSION,
      hostname: hostname(),
      pid: process.pid,
      dryRun: this.#o.dryRun,
      configDir: this.#o.configDir,
      listen: formatListen(this.#listen),
      snapshot: this.#snapshot,
      health: (s, r) => this.#o.health.get(s, r),
      checksOf: (s, r) => this.#o.health.checksOf(s, r),
      lastTransition: (s, r) => this.#transitions.get(pairId(s, r)),
      reconciler: this.#stats,
      failingSince: this.#failingSince,
      lastPass: this.#lastPass,
      scheduler: this.#o.engine.stats(),
      lastCheckAt: this.#lastCheckAt,
      reload: this.#reload,
      restartNeeded: this.#restartNeeded,
      kernel,
      healthz: this.healthz(),
      services: this.#decision.services,
      slowStarts: this.#decision.slowStarts,
      ...(admin ? { admin } : {}),
      announce: this.#o.announce?.status() ?? null,
    });
  }
}
