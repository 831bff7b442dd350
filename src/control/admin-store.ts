// The admin state of every configured real: entries from several sources (operator over the control
// socket, maintenance directory, agent replies), combined per real, the most restrictive winning.
// desired() reads it through `view()`; every change of a real's combined state is reported. A change
// recomputes only the pairs its entries name (admin-index.ts), never every pair against every entry.

import type { Snapshot } from '../config/model.js';
import type { AdminEntry, AdminSourceKind, AdminState, AdminTarget, AdminVerdict } from './admin-model.js';
import { READY, combine, targetId } from './admin-model.js';
import { EntryIndex, PairIndex } from './admin-index.js';
import type { PairRef } from './admin-index.js';
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
  /** Built when first needed after a snapshot (a reload with no admin entry never builds it). */
  #pairIndex: PairIndex | null = null;
  readonly #entryIndex = new EntryIndex();
  /** Each entry's place within its source: the order of `entries()` (a Map's insertion order). */
  readonly #seq = new Map<AdminEntry, number>();
  #nextSeq = 0;
  /** Only pairs that are not ready; updated in place, so `view()` stays a live read. */
  readonly #verdicts = new Map<PairId, AdminVerdict>();
  #version = 0;

  /** Grows with every change of entries or configuration (what a cached listing is keyed by). */
  get version(): number {
    return this.#version;
  }

  /** Follow the configuration: entries stay, the reals they match change (every pair is recomputed). */
  setSnapshot(snapshot: Snapshot): AdminChange[] {
    this.#version++;
    this.#snapshot = snapshot;
    this.#pairIndex = null;
    // No entry and no real held: every real is ready, before and after (the common reload).
    if (this.#seq.size === 0 && this.#verdicts.size === 0) return [];
    const before = new Map(this.#verdicts);
    this.#verdicts.clear();
    const changes: AdminChange[] = [];
    for (const p of this.#pairs().pairs) {
      const v = this.#verdictOf(p);
      if (v.state !== 'ready') this.#verdicts.set(p.id, v);
      const from = before.get(p.id)?.state ?? 'ready';
      if (from !== v.state) changes.push(this.#change(p, from, v));
    }
    return changes;
  }

  /** Set (or replace) the entry of one source for one target. */
  put(entry: AdminEntry): AdminChange[] {
    this.#version++;
    const map = this.#source(entry.source);
    const id = targetId(entry.target);
    const prev = map.get(id);
    // Replacing keeps the entry's place, as Map.set does.
    const seq = prev ? this.#seq.get(prev)! : this.#nextSeq++;
    if (prev) this.#forget(prev);
    map.set(id, entry);
    this.#entryIndex.add(entry);
    this.#seq.set(entry, seq);
    return this.#update(prev ? [prev.target, entry.target] : [entry.target]);
  }

  /** Remove entries of one source; returns the removed ones and the resulting changes. */
  remove(source: AdminSourceKind, match: (e: AdminEntry) => boolean): { removed: AdminEntry[]; changes: AdminChange[] } {
    this.#version++;
    const map = this.#source(source);
    const removed: AdminEntry[] = [];
    for (const [id, e] of map) {
      if (!match(e)) continue;
      removed.push(e);
      map.delete(id);
      this.#forget(e);
    }
    return { removed, changes: removed.length ? this.#update(removed.map((e) => e.target)) : [] };
  }

  /**
   * Replace every entry of a source at once (the maintenance directory after a rescan, a restore).
   * Only the pairs that an added, removed or replaced entry names are recomputed: an entry object
   * passed again (the maintenance directory keeps those of unchanged files) is no change.
   */
  replace(source: AdminSourceKind, entries: readonly AdminEntry[]): AdminChange[] {
    this.#version++;
    const next = new Map<string, AdminEntry>();
    for (const e of entries) next.set(targetId(e.target), e);
    const prev = this.#sources.get(source) ?? new Map<string, AdminEntry>();
    const touched: AdminTarget[] = [];
    for (const [id, e] of prev) {
      if (next.get(id) === e) continue;
      this.#forget(e);
      touched.push(e.target);
    }
    for (const [id, e] of next) {
      if (prev.get(id) !== e) {
        this.#entryIndex.add(e);
        touched.push(e.target);
      }
      this.#seq.set(e, this.#nextSeq++);
    }
    this.#sources.set(source, next);
    return this.#update(touched);
  }

  entries(source?: AdminSourceKind): AdminEntry[] {
    if (source) return [...(this.#sources.get(source)?.values() ?? [])];
    return [...this.#sources.values()].flatMap((m) => [...m.values()]);
  }

  /** One source's entry for a target (by targetId), if any. */
  get(source: AdminSourceKind, id: string): AdminEntry | undefined {
    return this.#sources.get(source)?.get(id);
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

  /** The configured pairs, by what targets name (of the current snapshot). */
  pairs(): PairIndex {
    return this.#pairs();
  }

  #pairs(): PairIndex {
    return (this.#pairIndex ??= new PairIndex(this.#snapshot));
  }

  #source(kind: AdminSourceKind): Map<string, AdminEntry> {
    let map = this.#sources.get(kind);
    if (!map) this.#sources.set(kind, (map = new Map()));
    return map;
  }

  #forget(e: AdminEntry): void {
    this.#entryIndex.delete(e);
    this.#seq.delete(e);
  }

  /** Where an entry stands in `entries()`: its source's place, then its own within the source. */
  readonly #order = (e: AdminEntry): number => {
    let rank = 0;
    for (const kind of this.#sources.keys()) {
      if (kind === e.source) break;
      rank++;
    }
    return rank * 2 ** 40 + (this.#seq.get(e) ?? 0);
  };

  #verdictOf(p: PairRef): AdminVerdict {
    const entries = this.#entryIndex.matching(p, this.#order);
    if (entries.length === 0) return READY;
    return combine(entries, p.ref);
  }

  #change(p: PairRef, from: AdminState, v: AdminVerdict): AdminChange {
    return { serviceKey: p.serviceKey, service: p.ref.service, real: p.realKey, from, to: v.state, entries: v.entries };
  }

  /** Recompute the pairs these targets name, in snapshot order; the changes of combined state. */
  #update(targets: readonly AdminTarget[]): AdminChange[] {
    if (targets.length === 0 || !this.#snapshot) return [];
    const index = this.#pairs();
    const affected = new Map<PairId, PairRef>();
    for (const t of targets) for (const p of index.matching(t)) affected.set(p.id, p);
    const pairs = [...affected.values()];
    if (targets.length > 1) pairs.sort((a, b) => a.ordinal - b.ordinal);
    const changes: AdminChange[] = [];
    for (const p of pairs) {
      const v = this.#verdictOf(p);
      const from = this.#verdicts.get(p.id)?.state ?? 'ready';
      if (v.state !== 'ready') this.#verdicts.set(p.id, v);
      else this.#verdicts.delete(p.id);
      if (from !== v.state) changes.push(this.#change(p, from, v));
    }
    return changes;
  }
}
