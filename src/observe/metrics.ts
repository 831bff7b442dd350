// Prometheus metrics on an explicit prom-client Registry. Event counters and histograms are fed by
// the daemon's hooks (per check result: the hot path, here); gauges (and counters the reconciler
// and scheduler already keep) are read at scrape time, so a label set whose real or service left
// the config disappears by itself. The families read at scrape time are in metrics-*.ts by subject.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ServiceConfig, Snapshot } from '../config/model.js';
import { checkInternalErrors } from '../checks/boundary.js';
import type { CheckResult } from '../checks/types.js';
import { RESULT_CODES } from '../engine/protocol.js';
import type { Results } from '../engine/protocol.js';
import type { HealthEvent } from '../health/tracker.js';
import { buildProbePlan } from '../scheduler/probe-key.js';
import type { ProbePlan } from '../scheduler/probe-key.js';
import type { ReloadOutcome } from '../config/watch.js';
import { BoundCounter, BoundHistogram } from './bound-metrics.js';
import { registerKernelMetrics } from './metrics-kernel.js';
import { labelValue, renderFamily } from './metrics-text.js';
import type { TextFamily } from './metrics-text.js';
import { registerAnnounceMetrics } from './metrics-announce.js';
import type { AnnounceMetrics } from './metrics-announce.js';
import { registerSyncMetrics } from './metrics-sync.js';
import { registerRealMetrics } from './metrics-reals.js';
import { registerServiceMetrics } from './metrics-services.js';
import { registerReconcileMetrics } from './metrics-reconcile.js';
import { registerSchedulerMetrics } from './metrics-scheduler.js';
import type { MetricsSources } from './metrics-sources.js';
import { indexOf } from '../config/snapshot-index.js';

export type { MetricsSources } from './metrics-sources.js';

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

    registerRealMetrics(this.registry, sources, this.#text);
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

    registerServiceMetrics(this.registry, sources);

    this.#notify = new Counter({
      name: 'lvsd_notify_commands_total',
      help: 'Notify commands by event (real_up, quorum_down, sorry_on, ...) and result: ok, failed (exit status or cannot run), timeout (process group killed), dropped (queue full).',
      labelNames: ['event', 'result'],
      registers,
    });

    this.#reconcileDuration = new Histogram({
      name: 'lvsd_reconcile_duration_seconds',
      help: 'Duration of reconcile passes (read the kernel, diff, apply, verify).',
      buckets: RECONCILE_BUCKETS,
      registers,
    });
    registerReconcileMetrics(this.registry, sources);

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

    registerSchedulerMetrics(this.registry, sources);

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

  /**
   * A check engine batch of results (src/engine/): result i is of probe keys[probe[i]], code
   * RESULT_CODES[code[i]]; the same series checkResult feeds one result at a time.
   */
  checkResults(keys: readonly string[], results: Results): void {
    const { probe, code, latencyMs } = results;
    for (let i = 0; i < probe.length; i++) {
      const key = keys[probe[i]!];
      const seen = key === undefined ? undefined : this.#byProbe.get(key);
      if (!seen) continue;
      const c = RESULT_CODES[code[i]!] ?? 'error';
      const seconds = latencyMs[i]! / 1000;
      for (let j = 0; j < seen.length; j++) {
        const s = seen[j]!;
        (s.duration ??= this.#checkDuration.labels({ service: s.pair.service })).observe(seconds);
        let counter = s.codes.get(c);
        if (counter === undefined) {
          counter = this.#checkResults.labels({ ...s.pair, code: c });
          s.codes.set(c, counter);
        }
        counter.inc();
      }
    }
  }

  /** Checks that could not run (errno `code`), `n` of them. */
  notRun(code: string, n: number): void {
    this.#notRun.inc({ code }, n);
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
