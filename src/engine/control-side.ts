// The control thread's side of the check engine, whoever runs the checks: a mirror of the health
// the engine threads track (what status, metrics, the announcer and the first-round gate read), fed
// by their batches; their scheduler counters summed; their transitions, result counts and log lines
// handed to the daemon. A thread that died leaves its pairs `unknown` here, while the health the
// reconciler reads holds their last state until the restarted thread's first results (see
// boardEntries): a crash of ours is no verdict on the realservers.

import { HealthTracker } from '../health/tracker.js';
import type { HealthEvent, TrackedReal } from '../health/tracker.js';
import type { Health } from '../health/state-machine.js';
import type { Logger } from '../log.js';
import { pairId } from '../model/keys.js';
import type { PairId } from '../model/keys.js';
import type { ProbePlan } from '../scheduler/probe-key.js';
import type { SchedulerStats } from '../scheduler/types.js';
import type { FromThread, Results } from './protocol.js';
import { EMPTY_STATS, countersOf, sumStats } from './stats.js';

/** What the daemon does with what the engine reports. */
export interface EngineHooks {
  /** Transitions and first results, in the order the thread saw them; the mirror already has them. */
  onEvents(events: readonly HealthEvent[]): void;
  /** Results since the last batch (metrics; any result counts as "a check ran" for /healthz). */
  onResults(results: ResultCounts): void;
  /** A new plan, a thread's answer to it or a dead thread: the reconciler's health must be re-read (boardEntries). */
  onResync(): void;
}

export interface ResultCounts {
  /** The probe keys `results.probe` indexes (the plan of the thread that sent them). */
  readonly keys: readonly string[];
  readonly results: Results;
  readonly notRun: ReadonlyMap<string, number>;
  readonly internalErrors: ReadonlyMap<string, number>;
}

/** Plans of a partition by generation: the latest few, for batches built before a reload reached the thread. */
const KEPT_PLANS = 4;

/** The reads of the mirror: what HealthTracker served before the engine moved off this thread. */
export type HealthReader = Pick<HealthTracker, 'get' | 'checksOf' | 'entries' | 'service' | 'unknownCount' | 'size'>;

const EMPTY_RESULTS: Results = { probe: new Uint32Array(0), code: new Uint8Array(0), latencyMs: new Float64Array(0) };

export class ControlSide {
  readonly #hooks: EngineHooks;
  readonly #log: Logger;
  readonly mirror = new HealthTracker();
  /** Per partition: its latest counters, and the counters its dead predecessors left. */
  #stats: (SchedulerStats | null)[] = [];
  #retired: SchedulerStats | null = null;
  /** Pairs of a dead thread: the health the reconciler keeps reading until their first new result. */
  readonly #held = new Map<PairId, Health>();
  /** Per partition: the probe keys of its recent plans, by generation (what results index). */
  readonly #keys: Map<number, readonly string[]>[];
  /** Per partition: the generation of its latest plan. */
  readonly #gen: number[];
  /** Per partition: who waits for its health details. */
  readonly #detailWaiters: (() => void)[][];

  constructor(hooks: EngineHooks, logger: Logger, partitions: number) {
    this.#hooks = hooks;
    this.#log = logger;
    const n = Math.max(1, partitions);
    this.#stats = Array.from({ length: n }, () => null);
    this.#keys = Array.from({ length: n }, () => new Map());
    this.#gen = Array.from({ length: n }, () => 0);
    this.#detailWaiters = Array.from({ length: n }, () => []);
  }

  /** Partition `index` gets generation `gen` of the plan with these probes (in plan order). */
  planned(index: number, gen: number, keys: Iterable<string>): void {
    const kept = this.#keys[index]!;
    kept.set(gen, [...keys]);
    for (const g of kept.keys()) if (kept.size > KEPT_PLANS) kept.delete(g);
    this.#gen[index] = gen;
  }

  /** Resolves when partition `index` has sent its health details (or its thread is gone). */
  detailsFrom(index: number): Promise<void> {
    return new Promise((resolve) => this.#detailWaiters[index]!.push(resolve));
  }

  /** Partition `index` will not answer (its thread died or stops): release who waits. */
  #release(index: number): void {
    const waiting = this.#detailWaiters[index]!;
    this.#detailWaiters[index] = [];
    for (const w of waiting) w();
  }

  /** A new plan (all partitions): the mirror keeps the state of surviving keys, as the threads will. */
  setPlan(plan: ProbePlan): void {
    this.mirror.update(plan, Date.now());
    this.#hooks.onResync();
  }

  /** One message of partition `index`. */
  receive(index: number, message: FromThread): void {
    switch (message.t) {
      case 'planned':
        // The thread's state under the plan is authoritative (results it had recorded meanwhile).
        this.mirror.adopt(message.details);
        this.#hooks.onResync();
        this.#events(message.events);
        return;
      case 'batch': {
        this.#stats[index] = message.stats;
        this.mirror.adopt(message.details);
        this.#events(message.events);
        // Results of a plan no longer kept (more reloads than KEPT_PLANS in one batch period) go uncounted.
        const keys = this.#keys[index]!.get(message.gen);
        const results = keys === undefined ? EMPTY_RESULTS : message.results;
        if (results.probe.length > 0 || message.notRun.size > 0 || message.internalErrors.size > 0) {
          this.#hooks.onResults({ keys: keys ?? [], results, notRun: message.notRun, internalErrors: message.internalErrors });
        }
        return;
      }
      case 'details':
        if (message.gen === this.#gen[index]) this.mirror.adopt(message.details);
        this.#release(index);
        return;
      case 'log':
        this.#log[message.log.level]({ ...message.log.fields, thread: index }, message.log.msg);
        return;
      default:
        return;
    }
  }

  #events(events: readonly HealthEvent[]): void {
    if (events.length === 0) return;
    if (this.#held.size > 0) for (const e of events) this.#held.delete(pairId(e.serviceKey, e.realKey));
    this.#hooks.onEvents(events);
  }

  /**
   * Partition `index` lost its thread: its pairs are unknown in the mirror (status says so), its
   * counters are kept, and the reconciler holds the last health of its pairs.
   */
  threadLost(index: number, probeKeys: Iterable<string>): void {
    this.#release(index);
    const last = this.#stats[index];
    if (last) this.#retired = sumStats(this.#retired ? [this.#retired, countersOf(last)] : [countersOf(last)]);
    this.#stats[index] = null;
    for (const t of this.mirror.forget(probeKeys, Date.now())) {
      const id = pairId(t.serviceKey, t.realKey);
      if (!this.#held.has(id)) this.#held.set(id, t.health);
    }
  }

  /** The health the reconciler reads: the mirror's, with a dead thread's pairs held at their last state. */
  *boardEntries(): IterableIterator<Pick<TrackedReal, 'serviceKey' | 'realKey' | 'health'>> {
    for (const t of this.mirror.entries()) {
      if (this.#held.size > 0 && t.health.state === 'unknown') {
        const held = this.#held.get(pairId(t.serviceKey, t.realKey));
        if (held) {
          yield { serviceKey: t.serviceKey, realKey: t.realKey, health: held };
          continue;
        }
      }
      yield t;
    }
  }

  /** Pairs held at their last state after a thread died, until their first result. */
  get held(): number {
    return this.#held.size;
  }

  stats(): SchedulerStats {
    const live = this.#stats.filter((s): s is SchedulerStats => s !== null);
    if (this.#retired) live.push(this.#retired);
    if (live.length === 0) return { ...EMPTY_STATS, probes: this.mirror.probes };
    const sum = sumStats(live);
    // The plan's probes, whatever the threads have acknowledged (a dead one still has its share).
    return { ...sum, probes: this.mirror.probes };
  }
}
