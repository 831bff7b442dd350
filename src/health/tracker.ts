// Health of every (service, real) pair, fed by probe results; state survives reloads by key.
// A real with several checks (`checks:`) has one entry per check, each with its own rise/fall, and
// a group whose health combines them (state-machine.ts combineHealth): that group is the pair.

import type { CheckResult } from '../checks/types.js';
import type { CheckType, Snapshot } from '../config/model.js';
import { buildProbePlan } from '../scheduler/probe-key.js';
import type { ProbePlan } from '../scheduler/probe-key.js';
import { applyResult, combineHealth, initialHealth } from './state-machine.js';
import type { Health, Thresholds, Transition } from './state-machine.js';
import { pairId } from '../model/keys.js';
import type { PairId } from '../model/keys.js';

/** What the rest of lvsd reads about one (service, real) pair. */
export interface TrackedReal {
  readonly serviceKey: string;
  readonly realKey: string;
  readonly probeKey: string;
  readonly thresholds: Thresholds;
  readonly health: Health;
}

/**
 * One check of a real with several (`checks:`), as status shows it. Plain data, copied on each
 * read: what a tracker on another thread can hand over as it is.
 */
export interface CheckHealth {
  /** The check's probe key; its position is the check's place among the real's distinct checks. */
  readonly probeKey: string;
  readonly type: CheckType;
  readonly thresholds: Thresholds;
  readonly health: Health;
}

/**
 * The one read the rest of lvsd makes of the per-check entries (status, the status page): the
 * checks of a real with several, in config order; null for a real with one check (its
 * TrackedReal says it all) and for a pair not tracked.
 */
export interface CheckHealthSource {
  checksOf(serviceKey: string, realKey: string): readonly CheckHealth[] | null;
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
  readonly type: CheckType;
  thresholds: Thresholds;
  health: Health;
  /** Set when this entry is one of several checks of its real; the group is then the pair's health. */
  group: Group | null;
}

/** A real with several checks: what the rest of lvsd reads for the pair. */
interface Group extends TrackedReal {
  /** The first check's probe key and thresholds, for readers that show one. */
  readonly probeKey: string;
  readonly thresholds: Thresholds;
  health: Health;
  /** One entry per distinct check, in config order. */
  parts: Entry[];
  /** The parts' probe keys joined: a group survives a reload only if all of its checks do. */
  readonly identity: string;
}

/** Everything one probe result touches, behind a single Map lookup. */
interface ProbeSlot {
  readonly members: Entry[];
  /** Kept so a pair added by a reload to an already running probe starts from its last result. */
  last: CheckResult | null;
}

const NO_EVENTS: readonly HealthEvent[] = Object.freeze([]);

/**
 * The health of tracked entries as plain data, for a copy of the tracker elsewhere (the check
 * engine's mirror on the control thread, src/engine/): per probe the health of each member in plan
 * order, per real with several checks the group's health. Both sides built their tracker from the
 * same plan, so member order is the same on both.
 */
export interface HealthDetails {
  readonly probes: (readonly [probeKey: string, members: readonly Health[]])[];
  readonly groups: (readonly [serviceKey: string, realKey: string, health: Health])[];
}

/**
 * The pair's entry in a probe's previous member list. Identity is (service, real, probe): the
 * probe key already matched, so only service and real are compared. Member lists are short (one
 * entry per service listing the real); a long one gets a Map so a reload stays linear.
 */
function finder(members: readonly Entry[] | undefined): (serviceKey: string, realKey: string) => Entry | undefined {
  if (members === undefined || members.length === 0) return () => undefined;
  if (members.length <= 8) return (s, r) => members.find((e) => e.serviceKey === s && e.realKey === r);
  const byPair = new Map(members.map((e) => [pairId(e.serviceKey, e.realKey), e]));
  return (s, r) => byPair.get(pairId(s, r));
}

export class HealthTracker implements CheckHealthSource {
  /** Probe key -> the pairs it feeds. A pair's identity is (service key, real key, probe key). */
  #byProbe = new Map<string, ProbeSlot>();
  #byService = new Map<string, Map<string, Entry | Group>>();
  /** Groups by pair id. */
  #groups = new Map<PairId, Group>();
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
    const byService = new Map<string, Map<string, Entry | Group>>();
    const fresh: Entry[] = [];
    const partsByPair = new Map<PairId, Entry[]>();
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
          entry = { serviceKey: m.serviceKey, realKey: m.realKey, probeKey: pk, type: probe.target.spec.type, thresholds, health: initialHealth(now), group: null };
          fresh.push(entry);
        }
        slot.members.push(entry);
        if (m.part !== undefined) {
          const pair = pairId(m.serviceKey, m.realKey);
          let parts = partsByPair.get(pair);
          if (!parts) partsByPair.set(pair, (parts = new Array<Entry>(m.part.of)));
          parts[m.part.index] = entry;
          continue;
        }
        entry.group = null;
        if (entry.health.state === 'unknown') unknown++;
        size++;
        let reals = byService.get(m.serviceKey);
        if (!reals) byService.set(m.serviceKey, (reals = new Map()));
        reals.set(m.realKey, entry);
      }
    }

    // Reals with several checks: keep the group while the same checks feed it.
    const groups = new Map<PairId, Group>();
    const freshGroups: Group[] = [];
    for (const [pair, parts] of partsByPair) {
      const identity = parts.map((e) => e.probeKey).join('\n');
      const first = parts[0]!;
      let group = this.#groups.get(pair);
      if (group === undefined || group.identity !== identity) {
        group = { serviceKey: first.serviceKey, realKey: first.realKey, probeKey: first.probeKey, thresholds: first.thresholds, health: initialHealth(now), parts, identity };
        freshGroups.push(group);
      } else {
        group.parts = parts;
      }
      for (const e of parts) e.group = group;
      groups.set(pair, group);
      if (group.health.state === 'unknown') unknown++;
      size++;
      let reals = byService.get(group.serviceKey);
      if (!reals) byService.set(group.serviceKey, (reals = new Map()));
      reals.set(group.realKey, group);
    }

    this.#byProbe = byProbe;
    this.#byService = byService;
    this.#groups = groups;
    this.#size = size;
    this.#unknown = unknown;

    let events: HealthEvent[] | null = null;
    for (const entry of fresh) {
      const last = byProbe.get(entry.probeKey)!.last;
      const event = last && this.#apply(entry, last, now);
      if (event) (events ??= []).push(event);
    }
    // A new group whose checks all have results already (shared probes, or a reload that only
    // regrouped them) is decided now, like a single check taking its probe's last result.
    for (const group of freshGroups) {
      if (group.health.state !== 'unknown') continue;
      const known = group.parts.findIndex((e) => e.health.lastResult !== null);
      if (known < 0) continue;
      const part = group.parts[known]!;
      const event = this.#combine(group, part, known, part.health.lastResult!, null, now);
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
    const group = entry.group;
    if (group !== null) {
      entry.health = step.health;
      return this.#combine(group, entry, group.parts.indexOf(entry), result, step.transition, now);
    }
    if (entry.health.state === 'unknown' && step.health.state !== 'unknown') this.#unknown--;
    entry.health = step.health;
    const t = step.transition;
    if (!t) return null;
    return { ...t, serviceKey: entry.serviceKey, realKey: entry.realKey, probeKey: entry.probeKey, latencyMs: result.latencyMs, at: now };
  }

  /** Recompute a group after one of its checks moved; the pair's event, if its state changed. */
  #combine(group: Group, entry: Entry, index: number, result: CheckResult, transition: Transition | null, now: number): HealthEvent | null {
    const step = combineHealth(group.health, group.parts.map((e) => e.health), { index, result, transition }, now);
    if (group.health.state === 'unknown' && step.health.state !== 'unknown') this.#unknown--;
    group.health = step.health;
    const t = step.transition;
    if (!t) return null;
    return { ...t, serviceKey: group.serviceKey, realKey: group.realKey, probeKey: entry.probeKey, latencyMs: result.latencyMs, at: now };
  }

  get(serviceKey: string, realKey: string): TrackedReal | undefined {
    return this.#byService.get(serviceKey)?.get(realKey);
  }

  checksOf(serviceKey: string, realKey: string): readonly CheckHealth[] | null {
    const t = this.#byService.get(serviceKey)?.get(realKey);
    if (t === undefined || !('parts' in t)) return null;
    return t.parts.map((e) => ({ probeKey: e.probeKey, type: e.type, thresholds: { ...e.thresholds }, health: { ...e.health } }));
  }

  /** Every tracked pair, grouped by probe (plan order); a real with several checks once. */
  *entries(): IterableIterator<TrackedReal> {
    for (const slot of this.#byProbe.values()) {
      for (const e of slot.members) {
        if (e.group === null) yield e;
        else if (e.group.parts[0] === e) yield e.group;
      }
    }
  }

  /** The tracked pairs of one service (empty if the service is unknown). */
  service(serviceKey: string): IterableIterator<TrackedReal> {
    return (this.#byService.get(serviceKey) ?? new Map<string, Entry | Group>()).values();
  }

  get size(): number {
    return this.#size;
  }

  /** Distinct probes of the current plan. */
  get probes(): number {
    return this.#byProbe.size;
  }

  /** The health of the probes and groups that `events` moved (what a copy elsewhere needs to follow them). */
  detailsOf(events: readonly HealthEvent[]): HealthDetails {
    const probes: [string, Health[]][] = [];
    const groups: [string, string, Health][] = [];
    const seen = new Set<string>();
    for (const e of events) {
      if (!seen.has(e.probeKey)) {
        seen.add(e.probeKey);
        const slot = this.#byProbe.get(e.probeKey);
        if (slot) probes.push([e.probeKey, slot.members.map((m) => m.health)]);
      }
      const g = this.#groups.get(pairId(e.serviceKey, e.realKey));
      if (g) groups.push([g.serviceKey, g.realKey, g.health]);
    }
    return { probes, groups };
  }

  /** The health of every entry (after a new plan: the copy elsewhere takes it whole). */
  details(): HealthDetails {
    const probes: [string, Health[]][] = [];
    for (const [key, slot] of this.#byProbe) probes.push([key, slot.members.map((e) => e.health)]);
    const groups: [string, string, Health][] = [];
    for (const g of this.#groups.values()) groups.push([g.serviceKey, g.realKey, g.health]);
    return { probes, groups };
  }

  /**
   * Take the health another tracker built from the same plan reports (details() or detailsOf()
   * there). Entries of probes this tracker does not have, or with another member count, are skipped.
   */
  adopt(details: HealthDetails): void {
    for (const [key, healths] of details.probes) {
      const slot = this.#byProbe.get(key);
      if (!slot || slot.members.length !== healths.length) continue;
      for (let i = 0; i < healths.length; i++) {
        const e = slot.members[i]!;
        if (e.group === null) this.#count(e.health, healths[i]!);
        e.health = healths[i]!;
      }
    }
    for (const [s, r, health] of details.groups) {
      const g = this.#groups.get(pairId(s, r));
      if (!g) continue;
      this.#count(g.health, health);
      g.health = health;
    }
  }

  /**
   * Every pair the probes in `keys` feed back to `unknown` (its check engine thread died: nothing is
   * known until the restarted thread's first results). Returns the pairs that were not unknown.
   */
  forget(keys: Iterable<string>, now: number): TrackedReal[] {
    const was: TrackedReal[] = [];
    for (const key of keys) {
      const slot = this.#byProbe.get(key);
      if (!slot) continue;
      slot.last = null;
      for (const e of slot.members) {
        const g = e.group;
        if (g === null && e.health.state !== 'unknown') was.push({ ...e, health: e.health });
        if (g === null) this.#count(e.health, initialHealth(now));
        e.health = initialHealth(now);
        if (g !== null && g.health.state !== 'unknown') {
          was.push({ serviceKey: g.serviceKey, realKey: g.realKey, probeKey: g.probeKey, thresholds: g.thresholds, health: g.health });
          this.#count(g.health, initialHealth(now));
          g.health = initialHealth(now);
        }
      }
    }
    return was;
  }

  #count(from: Health, to: Health): void {
    if (from.state === 'unknown' && to.state !== 'unknown') this.#unknown--;
    else if (from.state !== 'unknown' && to.state === 'unknown') this.#unknown++;
  }

  /** Pairs still waiting for their first result: the kernel is not touched before this is 0. */
  get unknownCount(): number {
    return this.#unknown;
  }
}
