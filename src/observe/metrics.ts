// Prometheus metrics on an explicit prom-client Registry. Event counters and histograms are fed by
// the daemon's hooks; gauges (and counters the reconciler already keeps) are read from the live
// state at scrape time, so a label set whose real or service left the config disappears by itself.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RealConfig, ServiceConfig, Snapshot } from '../config/model.js';
import { checkInternalErrors } from '../checks/boundary.js';
import type { CheckResult } from '../checks/types.js';
import type { HealthEvent, TrackedReal } from '../health/tracker.js';
import type { ReconcilerStats, ServiceRuntime } from '../reconcile/reconciler.js';
import type { SlowStartState } from '../reconcile/slow-start.js';
import { START_DELAY_BOUNDS_MS } from '../scheduler/scheduler.js';
import type { SchedulerStats } from '../scheduler/scheduler.js';
import { buildProbePlan } from '../scheduler/probe-key.js';
import type { ProbePlan } from '../scheduler/probe-key.js';
import type { ReloadOutcome } from '../config/watch.js';
import type { KernelState } from './kernel-view.js';
import type { AdminStatusInputs, ReloadState } from './status-document.js';
import { BoundCounter, BoundHistogram, ReadHistogram } from './bound-metrics.js';
import { registerKernelMetrics } from './metrics-kernel.js';
import { labelValue, renderFamily, sampleValue } from './metrics-text.js';
import type { TextFamily } from './metrics-text.js';
import { registerAnnounceMetrics } from './metrics-announce.js';
import type { AnnounceMetrics } from './metrics-announce.js';
import type { AnnounceStatus } from '../announce/announcer.js';
import { registerSyncMetrics } from './metrics-sync.js';
import type { SyncSources } from './metrics-sync.js';
import { pairId } from '../model/keys.js';
import { indexOf } from '../config/snapshot-index.js';

/** What the metrics read at scrape time. */
export interface MetricsSources extends SyncSources {
  snapshot(): Snapshot;
  health(serviceKey: string, realKey: string): TrackedReal | undefined;
  reconciler(): ReconcilerStats;
  scheduler(): SchedulerStats;
  reload(): ReloadState;
  kernel(): Promise<KernelState>;
  /** Quorum and sorry state of the last committed pass (absent: no quorum metrics). */
  services?(): ReadonlyMap<string, ServiceRuntime>;
  /** Reals in slow start, "serviceKey realKey" -> ramp. */
  slowStarts?(): SlowStartState;
  /** Admin state; absent or undefined: every real ready. */
  admin?(): AdminStatusInputs | undefined;
  /** VIP announce; absent or null: not configured (no announce series). */
  announce?(): AnnounceStatus | null;
}

const ADMIN_VALUE = { ready: 0, drain: 1, maint: 2 } as const;

export interface MetricsOptions {
  readonly version: string;
  /** process_* and nodejs_* metrics (default true; tests creating many registries turn it off). */
  readonly defaultMetrics?: boolean;
}

interface Pair {
  readonly service: string;
  readonly real: string;
}

/** Check latencies: sub-millisecond loopback to multi-second timeouts. */
const CHECK_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** A pass is one or two ipvsadm spawns: milliseconds normally, seconds when the box is loaded. */
const RECONCILE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** A per-pair series by its label values (service name, real): not the pair's identity (model/keys). */
const labelPair = (service: string, real: string): string => `${service}\n${real}`;

/**
 * One (service, real) pair's per-check series, bound once: a check result then costs an observe()
 * and an inc() on prom-client children instead of two label-object allocations and two label-set
 * hashes per pair (the per-check path at 10,000 checks/s).
 */
interface Seen {
  readonly pair: Pair;
  /** Result counters by code, bound on first use; the keys are the codes to remove on a reload. */
  readonly codes: Map<string, { inc(): void }>;
  duration: { observe(value: number): void } | null;
  /** The last setSnapshot that listed the pair; older ones are dropped. */
  gen: number;
  /** lvsd_real_transitions_total by `to` (up and down from the start, so rate() sees the first). */
  readonly transitions: Map<string, number>;
}

export class LvsdMetrics {
  readonly registry = new Registry();
  /** Families written as text, after the registry's (metrics-text.ts). */
  readonly #text: TextFamily[] = [];
  /** Counters the announcer feeds (changes by reason, backend errors). */
  readonly announce: AnnounceMetrics;
  readonly #sources: MetricsSources;
  /** probe key -> label pairs it feeds; rebuilt on each snapshot. */
  #byProbe = new Map<string, Seen[]>();
  /** Service key -> its config (the snapshot index), for the names of transitions (which carry keys). */
  #services: ReadonlyMap<string, ServiceConfig> = new Map();
  /** Label sets of per-pair event metrics, so a reload can remove those of vanished pairs. */
  readonly #seen = new Map<string, Seen>();
  /**
   * The Seen of each plan member. Members of an unchanged service are the same objects from one
   * reload to the next (probe-key.ts), so a reload finds their label sets without building a key.
   */
  readonly #seenOf = new WeakMap<object, Seen>();
  #gen = 0;
  /** Service names with a check duration histogram, so a reload can remove those of vanished ones. */
  #durationServices = new Set<string>();

  readonly #checkDuration: BoundHistogram<'service'>;
  readonly #checkResults: BoundCounter<'service' | 'real' | 'code'>;
  readonly #notRun: Counter<'code'>;
  readonly #reconcileDuration: Histogram;
  readonly #reloads: Counter<'result'>;
  readonly #notify: Counter<'event' | 'result'>;

  constructor(sources: MetricsSources, options: MetricsOptions) {
    this.#sources = sources;
    const registers = [this.registry];
    if (options.defaultMetrics !== false) {
      // Unprefixed process_* and nodejs_*: the names every Node.js dashboard already knows.
      collectDefaultMetrics({ register: this.registry });
      // Gauges named *_total break Prometheus' naming rules (promtool rejects them); the same
      // numbers remain as nodejs_active_handles{type} and nodejs_active_requests{type}.
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
        this.registry.removeSingleMetric(name);
      }
    }

    new Gauge({
      name: 'lvsd_build_info',
      help: 'Always 1; the version label says which lvsd runs.',
      labelNames: ['version'],
      registers,
    }).set({ version: options.version }, 1);

    // Per (service, real): health and weights, read from the tracker and the config at scrape time,
    // written as text (metrics-text.ts: prom-client's per-sample cost dominated a 10,000-real scrape).
    // The label text of a pair, built once per (immutable) real config object: every per-real
    // family writes it on every scrape.
    const pairText = new WeakMap<RealConfig, { readonly service: ServiceConfig; readonly text: string }>();
    const pair = (service: ServiceConfig, real: RealConfig): string => {
      const hit = pairText.get(real);
      if (hit !== undefined && hit.service === service) return hit.text;
      const text = `service="${labelValue(service.name)}",real="${labelValue(real.key)}"`;
      pairText.set(real, { service, text });
      return text;
    };
    this.#text.push({
      name: 'lvsd_real_up',
      help: 'Health of a real in a service: 1 up, 0 down or not checked yet.',
      type: 'gauge',
      lines(push) {
        for (const { service, real } of eachReal(sources)) {
          push(`lvsd_real_up{${pair(service, real)}} ${sources.health(service.key, real.key)?.health.state === 'up' ? 1 : 0}`);
        }
      },
    });
    this.#text.push({
      name: 'lvsd_real_weight',
      help: 'Weight of a real: source="config" as configured, "dynamic" as a MISC check asked for, "kernel" in the IPVS table now.',
      type: 'gauge',
      async lines(push) {
        const kernel = await sources.kernel();
        for (const { service, real } of eachReal(sources)) {
          const labels = pair(service, real);
          push(`lvsd_real_weight{${labels},source="config"} ${sampleValue(real.weight)}`);
          const dynamic = sources.health(service.key, real.key)?.health.weight;
          if (dynamic !== undefined && dynamic !== null) push(`lvsd_real_weight{${labels},source="dynamic"} ${sampleValue(dynamic)}`);
          const k = kernel.table?.services.get(service.key)?.reals.get(real.key);
          if (k) push(`lvsd_real_weight{${labels},source="kernel"} ${sampleValue(k.weight)}`);
        }
      },
    });
    this.#text.push({
      name: 'lvsd_real_admin_state',
      help: 'Admin state of a real in a service: 0 ready, 1 drain (weight 0, kept), 2 maint (removed when idle).',
      type: 'gauge',
      lines(push) {
        const admin = sources.admin?.();
        for (const { service, real } of eachReal(sources)) {
          push(`lvsd_real_admin_state{${pair(service, real)}} ${ADMIN_VALUE[admin?.verdict(service.key, real.key).state ?? 'ready']}`);
        }
      },
    });
    new Gauge({
      name: 'lvsd_admin_entries',
      help: 'Drain and maintenance entries in force, by source (operator, maintenance, agent) and state.',
      labelNames: ['source', 'state'],
      registers,
      collect() {
        this.reset();
        for (const source of ['operator', 'maintenance', 'agent']) for (const state of ['drain', 'maint']) this.set({ source, state }, 0);
        for (const e of sources.admin?.()?.entries() ?? []) this.inc({ source: e.source, state: e.state });
      },
    });
    // Updated on every check result: bound-metrics.ts, not prom-client's children (why: there).
    // Per service, not per (service, real): a histogram is 16 series, and 16 per real made /metrics
    // 1.9 MB at 1,000 reals (18.8 MB at 10,000). Per-real health is in lvsd_real_up and
    // lvsd_check_results_total; latency per service is what dashboards aggregate to anyway.
    this.#checkDuration = new BoundHistogram({
      name: 'lvsd_check_duration_seconds',
      help: 'Duration of the health checks of the reals of a service (every real it lists, as seen by that service).',
      labelNames: ['service'],
      buckets: CHECK_BUCKETS,
      registers,
    });
    this.#checkResults = new BoundCounter({
      name: 'lvsd_check_results_total',
      help: 'Health check results of a real by reason code (ok, refused, timeout, bad_status, ...).',
      labelNames: ['service', 'real', 'code'],
      registers,
    });
    this.#notRun = new Counter({
      name: 'lvsd_checks_not_run_total',
      help: 'Checks that could not run because of a local resource error (code = errno: EMFILE, ENOBUFS, EADDRNOTAVAIL, ...); health was left unchanged.',
      labelNames: ['code'],
      registers,
    });
    new Counter({
      name: 'lvsd_check_internal_errors_total',
      help: 'Exceptions thrown inside a checker (socket events, timers, decoders, child process events) that its failure boundary turned into a failed result, by check type (agent for agent polls). Any value above 0 is a bug to report.',
      labelNames: ['type'],
      registers,
      collect() {
        this.reset();
        for (const [type, n] of checkInternalErrors()) this.inc({ type }, n);
      },
    });
    // Written as text (metrics-text.ts) from the pairs' own counts: 2 series per real.
    const seenPairs = this.#seen;
    this.#text.push({
      name: 'lvsd_real_transitions_total',
      help: 'Health state changes of a real, by the state it changed to.',
      type: 'counter',
      lines(push) {
        for (const { pair: p, transitions } of seenPairs.values()) {
          const labels = `service="${labelValue(p.service)}",real="${labelValue(p.real)}"`;
          for (const [to, n] of transitions) push(`lvsd_real_transitions_total{${labels},to="${labelValue(to)}"} ${n}`);
        }
      },
    });

    // Per service.
    new Gauge({
      name: 'lvsd_service_reals',
      help: 'Reals configured for a service (sorry servers not included).',
      labelNames: ['service'],
      registers,
      collect() {
        this.reset();
        for (const s of sources.snapshot().services) this.set({ service: s.name }, s.reals.length);
      },
    });
    new Gauge({
      name: 'lvsd_service_healthy_reals',
      help: 'Reals of a service whose health is up.',
      labelNames: ['service'],
      registers,
      collect() {
        this.reset();
        for (const s of sources.snapshot().services) {
          let up = 0;
          for (const r of s.reals) if (sources.health(s.key, r.key)?.health.state === 'up') up++;
          this.set({ service: s.name }, up);
        }
      },
    });
    new Gauge({
      name: 'lvsd_service_sorry_active',
      help: 'Whether the sorry servers of a service are in the kernel table (1) or not (0).',
      labelNames: ['service'],
      registers,
      async collect() {
        const kernel = await sources.kernel();
        this.reset();
        if (!kernel.table) return; // unknown is absent, not 0
        for (const s of sources.snapshot().services) {
          if (s.sorry.length === 0) continue;
          const ks = kernel.table.services.get(s.key);
          const active = s.sorry.some((sorry) => ks?.reals.has(sorry.key) === true);
          this.set({ service: s.name }, active ? 1 : 0);
        }
      },
    });

    // Quorum (keepalived semantics) as the reconciler committed it; absent before the first pass.
    new Gauge({
      name: 'lvsd_service_quorum',
      help: 'Whether a service has quorum (1) or has lost it (0): the sum of the weights of its healthy reals against quorum and hysteresis.',
      labelNames: ['service'],
      registers,
      collect() {
        this.reset();
        const state = sources.services?.();
        if (!state) return;
        for (const s of sources.snapshot().services) {
          const q = state.get(s.key)?.quorum;
          if (q) this.set({ service: s.name }, q.up ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'lvsd_service_healthy_weight',
      help: 'Sum of the weights of the healthy reals of a service (what quorum is compared with).',
      labelNames: ['service'],
      registers,
      collect() {
        this.reset();
        const state = sources.services?.();
        if (!state) return;
        for (const s of sources.snapshot().services) {
          const q = state.get(s.key)?.quorum;
          if (q) this.set({ service: s.name }, q.weightSum);
        }
      },
    });
    new Gauge({
      name: 'lvsd_real_slow_start',
      help: 'Whether a real is ramping its weight after coming up (slow_start): 1 while ramping.',
      labelNames: ['service', 'real'],
      registers,
      collect() {
        this.reset();
        const ramps = sources.slowStarts?.();
        if (!ramps) return;
        for (const { service, real } of eachReal(sources)) {
          if (ramps.has(pairId(service.key, real.key))) this.set({ service: service.name, real: real.key }, 1);
        }
      },
    });

    this.#notify = new Counter({
      name: 'lvsd_notify_commands_total',
      help: 'Notify commands by event (real_up, quorum_down, sorry_on, ...) and result: ok, failed (exit status or cannot run), timeout (process group killed), dropped (queue full).',
      labelNames: ['event', 'result'],
      registers,
    });

    // Reconciler: its own counters are the source of truth (clean stop ops included).
    this.#reconcileDuration = new Histogram({
      name: 'lvsd_reconcile_duration_seconds',
      help: 'Duration of reconcile passes (read the kernel, diff, apply, verify).',
      buckets: RECONCILE_BUCKETS,
      registers,
    });
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

    // Config reloads, named as Prometheus names its own.
    new Gauge({
      name: 'lvsd_config_last_reload_successful',
      help: 'Whether the last configuration reload attempt succeeded (1) or was rejected (0).',
      registers,
      collect() {
        this.set(sources.reload().ok ? 1 : 0);
      },
    });
    new Gauge({
      name: 'lvsd_config_last_reload_success_timestamp_seconds',
      help: 'When the configuration was last loaded successfully (start-up included).',
      registers,
      collect() {
        const at = sources.reload().lastSuccessAt;
        this.set(at === null ? 0 : at / 1000);
      },
    });
    this.#reloads = new Counter({
      name: 'lvsd_config_reloads_total',
      help: 'Configuration reload attempts after start-up, by result (success, failure).',
      labelNames: ['result'],
      registers,
    });
    this.#reloads.inc({ result: 'success' }, 0);
    this.#reloads.inc({ result: 'failure' }, 0);

    // Scheduler.
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

    registerKernelMetrics(this.registry, sources, this.#text);
    this.announce = registerAnnounceMetrics(this.registry, () => sources.announce?.() ?? null);
    registerSyncMetrics(this.registry, sources);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async text(): Promise<string> {
    const [registry, ...families] = await Promise.all([this.registry.metrics(), ...this.#text.map(renderFamily)]);
    return registry + families.join('');
  }

  /** One family by name (GET /metrics/NAME), or null when there is none by that name. */
  async family(name: string): Promise<string | null> {
    const text = this.#text.find((f) => f.name === name);
    if (text) return renderFamily(text);
    // prom-client keeps its metrics in a plain object: getSingleMetric('__proto__') (or
    // 'constructor', 'toString') returns Object.prototype's, which is no metric (a 500 before).
    if (!this.registry.getMetricsAsArray().some((m) => m.name === name)) return null;
    return `${await this.registry.getSingleMetricAsString(name)}\n`;
  }

  /** A new config: re-index probes and drop per-pair series of pairs it no longer has. */
  setSnapshot(snapshot: Snapshot, plan: ProbePlan = buildProbePlan(snapshot)): void {
    this.#services = indexOf(snapshot).byKey;
    const gen = ++this.#gen;
    const byProbe = new Map<string, Seen[]>();
    for (const [probeKey, entry] of plan) {
      const seen: Seen[] = [];
      byProbe.set(probeKey, seen);
      for (const m of entry.members) {
        let s = this.#seenOf.get(m);
        if (s === undefined || s.gen < 0) {
          const p = { service: this.#services.get(m.serviceKey)?.name ?? m.serviceKey, real: m.realKey };
          const id = labelPair(p.service, p.real);
          s = this.#seen.get(id);
          if (s === undefined) {
            // Known label sets start at 0, so rate() and increase() see the first transition.
            s = { pair: p, codes: new Map(), duration: null, gen, transitions: new Map([['up', 0], ['down', 0]]) };
            this.#seen.set(id, s);
          }
          this.#seenOf.set(m, s);
        }
        s.gen = gen;
        seen.push(s);
      }
    }
    this.#byProbe = byProbe;
    const names = new Set(indexOf(snapshot).byName.keys());
    for (const name of this.#durationServices) if (!names.has(name)) this.#checkDuration.remove({ service: name });
    this.#durationServices = names;
    for (const [id, s] of this.#seen) {
      if (s.gen === gen) continue;
      this.#seen.delete(id);
      s.gen = -1; // dead: a member still mapped to it looks its pair up again
      for (const code of s.codes.keys()) this.#checkResults.remove({ ...s.pair, code });
    }
  }

  checkResult(probeKey: string, result: CheckResult): void {
    if (result.code === 'not_run') {
      this.#notRun.inc({ code: result.notRun ?? 'unknown' });
      return;
    }
    const seen = this.#byProbe.get(probeKey);
    if (!seen) return;
    const seconds = result.latencyMs / 1000;
    const code = result.code;
    for (let i = 0; i < seen.length; i++) {
      const s = seen[i]!;
      (s.duration ??= this.#checkDuration.labels({ service: s.pair.service })).observe(seconds);
      let counter = s.codes.get(code);
      if (counter === undefined) {
        counter = this.#checkResults.labels({ ...s.pair, code });
        s.codes.set(code, counter);
      }
      counter.inc();
    }
  }

  healthEvents(events: readonly HealthEvent[]): void {
    for (const e of events) {
      if (e.kind !== 'state') continue;
      const service = this.#services.get(e.serviceKey)?.name ?? e.serviceKey;
      const s = this.#seen.get(labelPair(service, e.realKey));
      if (s) s.transitions.set(e.to, (s.transitions.get(e.to) ?? 0) + 1);
    }
  }

  reconcilePass(durationMs: number): void {
    this.#reconcileDuration.observe(Math.max(0, durationMs) / 1000);
  }

  notifyResult(event: string, result: string): void {
    this.#notify.inc({ event, result });
  }

  reloaded(outcome: ReloadOutcome): void {
    this.#reloads.inc({ result: outcome.ok ? 'success' : 'failure' });
  }
}

/** Every configured (service, real) pair, in config order. */
function* eachReal(sources: Pick<MetricsSources, 'snapshot'>): Generator<{ service: ServiceConfig; real: RealConfig }> {
  for (const service of sources.snapshot().services) for (const real of service.reals) yield { service, real };
}
