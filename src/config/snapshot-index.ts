// The lookups every reader of a snapshot needs (service by key, by name; real by pair), built once
// per snapshot and shared by the daemon, reconciler, status, metrics, drain and the announcer.

import type { RealConfig, ServiceConfig, Snapshot } from './model.js';
import { pairId } from '../model/keys.js';
import type { PairId } from '../model/keys.js';

export interface SnapshotIndex {
  /** Looked up with plain text too: keys also arrive from events, views and the kernel. */
  readonly byKey: ReadonlyMap<string, ServiceConfig>;
  readonly byName: ReadonlyMap<string, ServiceConfig>;
  /** The reals (not the sorry servers) by pair id. */
  readonly reals: ReadonlyMap<PairId, RealConfig>;
  /** Per service key: its reals' keys, and its sorry servers' (drain candidates are what they lack). */
  readonly realKeys: ReadonlyMap<string, ReadonlySet<string>>;
  readonly sorryKeys: ReadonlyMap<string, ReadonlySet<string>>;
}

// A snapshot is immutable, so its index is too; a WeakMap lets the index go with its snapshot.
const indexes = new WeakMap<Snapshot, SnapshotIndex>();

/** The snapshot's index; the first call builds it, every later one shares it. */
export function indexOf(snapshot: Snapshot): SnapshotIndex {
  let index = indexes.get(snapshot);
  if (index === undefined) {
    const byKey = new Map<string, ServiceConfig>();
    const byName = new Map<string, ServiceConfig>();
    const reals = new Map<PairId, RealConfig>();
    const realKeys = new Map<string, ReadonlySet<string>>();
    const sorryKeys = new Map<string, ReadonlySet<string>>();
    for (const service of snapshot.services) {
      byKey.set(service.key, service);
      byName.set(service.name, service);
      for (const real of service.reals) reals.set(pairId(service.key, real.key), real);
      realKeys.set(service.key, new Set(service.reals.map((r) => r.key)));
      sorryKeys.set(service.key, new Set(service.sorry.map((r) => r.key)));
    }
    index = { byKey, byName, reals, realKeys, sorryKeys };
    indexes.set(snapshot, index);
  }
  return index;
}
