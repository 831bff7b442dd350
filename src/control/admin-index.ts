// Indexes that keep admin state incremental at 10,000 entries x 2,000 reals: the configured pairs
// by service name, host and (service, host), so the pairs one target names are found without a
// pass over every real; and the entries by the same keys, so the entries that may match one pair
// are found without a pass over every entry. (A full recompute per command held the loop 40-180 ms.)

import type { Snapshot } from '../config/model.js';
import type { AdminEntry, AdminTarget, RealRef } from './admin-model.js';
import { hostMatches, targetMatches } from './admin-model.js';
import { pairId } from '../model/keys.js';
import type { PairId } from '../model/keys.js';

/** One configured (service, real) pair; `ordinal` is its place in the snapshot (reports keep that order). */
export interface PairRef {
  readonly id: PairId;
  readonly ordinal: number;
  readonly serviceKey: string;
  readonly realKey: string;
  readonly ref: RealRef;
  /** The EntryIndex keys of the entries that may match it, made once per snapshot. */
  readonly entryKeys: readonly string[];
}

const serviceHost = (service: string, host: string): string => `${service}\n${host}`;

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/** The configured pairs of one snapshot, in snapshot order and by what targets name. */
export class PairIndex {
  readonly pairs: readonly PairRef[];
  readonly #byService = new Map<string, PairRef[]>();
  readonly #byHost = new Map<string, PairRef[]>();
  readonly #byServiceHost = new Map<string, PairRef[]>();

  constructor(snapshot: Snapshot | null) {
    const pairs: PairRef[] = [];
    for (const service of snapshot?.services ?? []) {
      for (const real of service.reals) {
        const ref = { service: service.name, host: real.address.host, port: real.address.port };
        const p: PairRef = { id: pairId(service.key, real.key), ordinal: pairs.length, serviceKey: service.key, realKey: real.key, ref, entryKeys: EntryIndex.keysOf(ref) };
        pairs.push(p);
        push(this.#byService, ref.service, p);
        push(this.#byHost, ref.host, p);
        push(this.#byServiceHost, serviceHost(ref.service, ref.host), p);
      }
    }
    this.pairs = pairs;
  }

  /** The configured pairs a target names, in snapshot order. */
  matching(target: AdminTarget): PairRef[] {
    switch (target.kind) {
      case 'service':
        return this.#byService.get(target.service) ?? [];
      case 'real':
        return (this.#byServiceHost.get(serviceHost(target.service, target.real.host)) ?? []).filter((p) => hostMatches(target.real, p.ref.host, p.ref.port));
      case 'host':
        return (this.#byHost.get(target.real.host) ?? []).filter((p) => hostMatches(target.real, p.ref.host, p.ref.port));
    }
  }

  /** Does a target name any configured pair? */
  matchesAny(target: AdminTarget): boolean {
    if (target.kind === 'service') return this.#byService.has(target.service);
    const list = target.kind === 'real' ? this.#byServiceHost.get(serviceHost(target.service, target.real.host)) : this.#byHost.get(target.real.host);
    return list?.some((p) => hostMatches(target.real, p.ref.host, p.ref.port)) ?? false;
  }
}

/** Entries by the keys a pair looks them up by; `order` gives each its place in `entries()`. */
export class EntryIndex {
  readonly #byKey = new Map<string, Set<AdminEntry>>();

  static keyOf(target: AdminTarget): string {
    return target.kind === 'service' ? `s\n${target.service}` : target.kind === 'host' ? `h\n${target.real.host}` : `r\n${serviceHost(target.service, target.real.host)}`;
  }

  add(e: AdminEntry): void {
    const k = EntryIndex.keyOf(e.target);
    let set = this.#byKey.get(k);
    if (!set) this.#byKey.set(k, (set = new Set()));
    set.add(e);
  }

  delete(e: AdminEntry): void {
    const k = EntryIndex.keyOf(e.target);
    const set = this.#byKey.get(k);
    if (!set) return;
    set.delete(e);
    if (set.size === 0) this.#byKey.delete(k);
  }

  /** The keys under which entries that may match this real are kept. */
  static keysOf(ref: RealRef): string[] {
    return [`s\n${ref.service}`, `h\n${ref.host}`, `r\n${serviceHost(ref.service, ref.host)}`];
  }

  /** The entries matching one pair, sorted by `order` (the order of `entries()`). */
  matching(p: PairRef, order: (e: AdminEntry) => number): AdminEntry[] {
    const out: AdminEntry[] = [];
    for (const k of p.entryKeys) {
      const set = this.#byKey.get(k);
      if (set) for (const e of set) if (targetMatches(e.target, p.ref)) out.push(e);
    }
    if (out.length > 1) out.sort((a, b) => order(a) - order(b));
    return out;
  }
}
