// Health of every (service, real) pair, fed by probe results; state survives reloads by key.

import type { CheckResult } from '../checks/types.js';
import type { Snapshot } from '../config/model.js';
import { buildProbePlan } from '../scheduler/probe-key.js';
import type { ProbePlan } from '../scheduler/probe-key.js';
import { applyResult, initialHealth } from './state-machine.js';
import type { Health, Thresholds, Transition } from './state-machine.js';

/** What the rest of lvsd reads about one (service, real) pair. */
export interface TrackedReal {
  readonly serviceKey: string;
  readonly realKey: string;
  readonly probeKey: string;
  readonly thresholds: Thresholds;
  readonly health: Health;
}

/** A transition of one (service, real) pair, with enough context to log and act on it. */
export interface HealthEvent extends Transition {
  readonly serviceKey: string;
  readonly realKey: string;
  readonly probeKey: string;
  readonly latencyMs: number;
  readonly at: number;
}

interface Entry {
  readonly serviceKey: string;
  readonly realKey: string;
  readonly probeKey: string;
  thresholds: Thresholds;
  health: Health;
}

/** Everything one probe result touches, behind a single Map lookup. */
interface ProbeSlot {
  readonly members: Entry[];
  /** Kept so a pair added by a reload to an already running probe starts from its last result. */
  last: CheckResult | null;
}

const NO_EVENTS: readonly HealthEvent[] = Object.freeze([]);

/**
 * The pair's entry in a probe's previous member list. Identity is (service, real, probe): the
 * probe key already matched, so only service and real are compared. Member lists are short (one
 * entry per service listing the real); a long one gets a Map so a reload stays linear.
 */
function finder(members: readonly Entry[] | undefined): (serviceKey: string, realKey: string) => Entry | undefined {
  if (members === undefined || members.length === 0) return () => undefined;
  if (members.length <= 8) return (s, r) => members.find((e) => e.serviceKey === s && e.realKey === r);
  const byPair = new Map(members.map((e) => [`${e.serviceKey}\n${e.realKey}`, e]));
  return (s, r) => byPair.get(`${s}\n${r}`);
}

export class HealthTracker {
  /** Probe key -> the pairs it feeds. A pair's identity is (service key, real key, probe key). */
  #byProbe = new Map<string, ProbeSlot>();
  #byService = new Map<string, Map<string, Entry>>();
  #size = 0;
  #unknown = 0;

  /**
   * Take a new config. Pairs whose identity (service key, real key, probe key) survives keep their
   * state (rise/fall thresholds are refreshed); a changed check definition is a new probe key, so
   * the pair starts fresh at `unknown`; vanished pairs are dropped. A new pair whose probe already
   * has a result (the same real and check under another service) takes that result at once; the
   * returned events are those first transitions.
   *
   * Pass the same plan object the Scheduler gets: record() is then called with the very key
   * strings stored here, and V8 compares them by identity instead of by content (the hot path at
   * 10,000 results/s is that one Map lookup). A snapshot is turned into a plan here.
   */
  update(source: Snapshot | ProbePlan, now: number): readonly HealthEvent[] {
    const plan = source instanceof Map ? (source as ProbePlan) : buildProbePlan(source as Snapshot);
    const byProbe = new Map<string, ProbeSlot>();
    const byService = new Map<string, Map<string, Entry>>();
    const fresh: Entry[] = [];
    let size = 0;
    let unknown = 0;
    for (const [pk, probe] of plan) {
      const prev = this.#byProbe.get(pk);
      const find = finder(prev?.members);
      const slot: ProbeSlot = { members: [], last: prev?.last ?? null };
      byProbe.set(pk, slot);
      for (const m of probe.members) {
        const thresholds: Thresholds = { rise: m.rise, fall: m.fall };
        let entry = find(m.serviceKey, m.realKey);
        if (entry) entry.thresholds = thresholds;
        else {
          entry = { serviceKey: m.serviceKey, realKey: m.realKey, probeKey: pk, thresholds, health: initialHealth(now) };
          fresh.push(entry);
        }
        if (entry.health.state === 'unknown') unknown++;
        size++;
        slot.members.push(entry);
        let reals = byService.get(m.serviceKey);
        if (!reals) byService.set(m.serviceKey, (reals = new Map()));
        reals.set(m.realKey, entry);
      }
    }
    this.#byProbe = byProbe;
    this.#byService = byService;
    this.#size = size;
    this.#unknown = unknown;

    let events: HealthEvent[] | null = null;
    for (const entry of fresh) {
      const last = byProbe.get(entry.probeKey)!.last;
      const event = last && this.#apply(entry, last, now);
      if (event) (events ??= []).push(event);
    }
    return events ?? NO_EVENTS;
  }

  /** Fan one probe result out to every pair it feeds; returns the transitions it caused. */
  record(probeKey: string, result: CheckResult, now: number): readonly HealthEvent[] {
    // A check that could not run (EMFILE, ENOBUFS...) says nothing about the real: no state change,
    // and it is not kept as the probe's last result either.
    if (result.code === 'not_run') return NO_EVENTS;
    const slot = this.#byProbe.get(probeKey);
    if (!slot) return NO_EVENTS; // a result for a probe a reload removed meanwhile
    slot.last = result;
    const members = slot.members;
    let events: HealthEvent[] | null = null;
    for (let i = 0; i < members.length; i++) {
      const event = this.#apply(members[i]!, result, now);
      if (event) (events ??= []).push(event);
    }
    return events ?? NO_EVENTS;
  }

  #apply(entry: Entry, result: CheckResult, now: number): HealthEvent | null {
    const step = applyResult(entry.health, result, entry.thresholds, now);
    if (entry.health.state === 'unknown' && step.health.state !== 'unknown') this.#unknown--;
    entry.health = step.health;
    const t = step.transition;
    if (!t) return null;
    return { ...t, serviceKey: entry.serviceKey, realKey: entry.realKey, probeKey: entry.probeKey, latencyMs: result.latencyMs, at: now };
  }

  get(serviceKey: string, realKey: string): TrackedReal | undefined {
    return this.#byService.get(serviceKey)?.get(realKey);
  }

  /** Every tracked pair, grouped by probe (plan order). */
  *entries(): IterableIterator<TrackedReal> {
    for (const slot of this.#byProbe.values()) yield* slot.members;
  }

  /** The tracked pairs of one service (empty if the service is unknown). */
  service(serviceKey: string): IterableIterator<TrackedReal> {
    return (this.#byService.get(serviceKey) ?? new Map<string, Entry>()).values();
  }

  get size(): number {
    return this.#size;
  }

  /** Pairs still waiting for their first result: the kernel is not touched before this is 0. */
  get unknownCount(): number {
    return this.#unknown;
  }
}
