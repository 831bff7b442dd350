// The admin state of every configured real: entries from several sources (operator over the control
// socket, maintenance directory, agent replies), combined per real, the most restrictive winning.
// desired() reads it through `view()`; every change of a real's combined state is reported.

import type { Snapshot } from '../config/model.js';
import type { AdminEntry, AdminSourceKind, AdminState, AdminVerdict, RealRef } from './admin-model.js';
import { READY, combine, targetId } from './admin-model.js';
import { pairId } from '../model/keys.js';
import type { PairId } from '../model/keys.js';

/** How desired reads admin state; keys are ServiceConfig.key and RealConfig.key. */
export type AdminView = (serviceKey: string, realKey: string) => AdminState;

/** One real whose combined admin state changed. */
export interface AdminChange {
  readonly serviceKey: string;
  readonly service: string;
  readonly real: string;
  readonly from: AdminState;
  readonly to: AdminState;
  /** The entries in force after the change (empty when back to ready). */
  readonly entries: readonly AdminEntry[];
}

export class AdminStore {
  readonly #sources = new Map<AdminSourceKind, Map<string, AdminEntry>>();
  #snapshot: Snapshot | null = null;
  /** Only pairs that are not ready. */
  #verdicts = new Map<PairId, AdminVerdict>();

  /** A copy to try a change on (a request is applied only once its record is written). */
  clone(): AdminStore {
    const c = new AdminStore();
    for (const [kind, map] of this.#sources) c.#sources.set(kind, new Map(map));
    c.#snapshot = this.#snapshot;
    c.#verdicts = new Map(this.#verdicts);
    return c;
  }

  /** Follow the configuration: entries stay, the reals they match change. */
  setSnapshot(snapshot: Snapshot): AdminChange[] {
    this.#snapshot = snapshot;
    return this.#recompute();
  }

  /** Set (or replace) the entry of one source for one target. */
  put(entry: AdminEntry): AdminChange[] {
    this.#source(entry.source).set(targetId(entry.target), entry);
    return this.#recompute();
  }

  /** Remove entries of one source; returns the removed ones and the resulting changes. */
  remove(source: AdminSourceKind, match: (e: AdminEntry) => boolean): { removed: AdminEntry[]; changes: AdminChange[] } {
    const map = this.#source(source);
    const removed: AdminEntry[] = [];
    for (const [id, e] of map) {
      if (!match(e)) continue;
      removed.push(e);
      map.delete(id);
    }
    return { removed, changes: removed.length ? this.#recompute() : [] };
  }

  /** Replace every entry of a source at once (the maintenance directory after a rescan, a restore). */
  replace(source: AdminSourceKind, entries: readonly AdminEntry[]): AdminChange[] {
    const map = new Map<string, AdminEntry>();
    for (const e of entries) map.set(targetId(e.target), e);
    this.#sources.set(source, map);
    return this.#recompute();
  }

  entries(source?: AdminSourceKind): AdminEntry[] {
    if (source) return [...(this.#sources.get(source)?.values() ?? [])];
    return [...this.#sources.values()].flatMap((m) => [...m.values()]);
  }

  verdict(serviceKey: string, realKey: string): AdminVerdict {
    return this.#verdicts.get(pairId(serviceKey, realKey)) ?? READY;
  }

  /** The view handed to desired(): a live read, cheap per call. */
  view(): AdminView {
    return (serviceKey, realKey) => this.#verdicts.get(pairId(serviceKey, realKey))?.state ?? 'ready';
  }

  /** Reals not ready, for metrics and lists. */
  notReady(): ReadonlyMap<string, AdminVerdict> {
    return this.#verdicts;
  }

  #source(kind: AdminSourceKind): Map<string, AdminEntry> {
    let map = this.#sources.get(kind);
    if (!map) this.#sources.set(kind, (map = new Map()));
    return map;
  }

  /**
   * The entries that may match one real, in the order of `entries()`: an index by service, host and
   * (service, host), so a pass over every real costs O(reals), not O(reals x entries) (10,000
   * maintenance files x 2,000 reals stalled every command 4-7 s).
   */
  candidates(): (ref: RealRef) => AdminEntry[] {
    const all = this.entries();
    const byService = new Map<string, number[]>();
    const byHost = new Map<string, number[]>();
    const push = (m: Map<string, number[]>, k: string, i: number): void => {
      const list = m.get(k);
      if (list) list.push(i);
      else m.set(k, [i]);
    };
    all.forEach((e, i) => {
      const t = e.target;
      if (t.kind === 'service') push(byService, t.service, i);
      else if (t.kind === 'host') push(byHost, t.real.host, i);
      else push(byHost, `${t.service}\n${t.real.host}`, i);
    });
    return (ref) => {
      const idx = [...(byService.get(ref.service) ?? []), ...(byHost.get(ref.host) ?? []), ...(byHost.get(`${ref.service}\n${ref.host}`) ?? [])];
      if (idx.length === 0) return [];
      if (idx.length > 1) idx.sort((a, b) => a - b);
      return idx.map((i) => all[i]!);
    };
  }

  #recompute(): AdminChange[] {
    const before = this.#verdicts;
    const all = this.entries();
    // No entry and no real held: every real is ready, before and after (the common reload).
    if (all.length === 0 && before.size === 0) return [];
    const candidates = this.candidates();
    const next = new Map<PairId, AdminVerdict>();
    const changes: AdminChange[] = [];
    for (const service of this.#snapshot?.services ?? []) {
      for (const real of service.reals) {
        const id = pairId(service.key, real.key);
        const ref = { service: service.name, host: real.address.host, port: real.address.port };
        const v = all.length ? combine(candidates(ref), ref) : READY;
        if (v.state !== 'ready') next.set(id, v);
        const from = before.get(id)?.state ?? 'ready';
        if (from !== v.state) changes.push({ serviceKey: service.key, service: service.name, real: real.key, from, to: v.state, entries: v.entries });
      }
    }
    this.#verdicts = next;
    return changes;
  }
}
