// Drain bookkeeping: reals that left the config stay at weight 0 until idle or timed out (pure, explicit now).

import type { Snapshot } from '../config/model.js';
import type { IpvsTable, TableCounters } from '../ipvs/model.js';
import type { DrainSet } from './desired.js';
import type { AdminView } from '../control/admin-store.js';
import { pairId } from '../model/keys.js';
import type { PairId } from '../model/keys.js';
import { indexOf } from '../config/snapshot-index.js';

/** When each draining (service, real) pair was first seen as leaving. */
export interface DrainState {
  readonly since: ReadonlyMap<PairId, number>;
}

export const EMPTY_DRAIN_STATE: DrainState = { since: new Map() };

export interface DrainFinished {
  readonly serviceKey: string;
  readonly realKey: string;
  readonly why: 'idle' | 'timeout';
}

export interface DrainUpdate {
  readonly state: DrainState;
  /** Pairs still held at weight 0 (feed to desiredTable). */
  readonly draining: DrainSet;
  /** Pairs whose drain ended in this update; desired leaves them out so the diff deletes them. */
  readonly finished: readonly DrainFinished[];
}

/**
 * Reals in the kernel, inside services lvsd owns, that the config no longer lists (as real or sorry
 * server); a removed owned service contributes all its reals. Derived from the kernel rather than
 * from the previous snapshot so that a config change made while lvsd was down drains too.
 * UDP services are left out: no connection state worth waiting for, their reals go at once.
 * A real in admin maint counts as not listed: maintenance is exactly a removal from the config.
 */
export function drainCandidates(
  snapshot: Snapshot,
  actual: IpvsTable,
  owned: ReadonlySet<string>,
  admin?: AdminView,
): Map<string, Set<string>> {
  // Every pass asks this of every real in the kernel: look each one up in the snapshot's index
  // rather than build the set of configured reals again (10,000 reals: the bulk of a pass's time).
  const { realKeys, sorryKeys } = indexOf(snapshot);
  const out = new Map<string, Set<string>>();
  for (const service of actual.services.values()) {
    if (!owned.has(service.key)) continue;
    if (service.kind === 'address' && service.protocol === 'udp') continue;
    const reals = realKeys.get(service.key);
    const sorry = sorryKeys.get(service.key);
    for (const realKey of service.reals.keys()) {
      if (sorry?.has(realKey)) continue;
      if (reals?.has(realKey) && admin?.(service.key, realKey) !== 'maint') continue;
      let set = out.get(service.key);
      if (!set) out.set(service.key, (set = new Set()));
      set.add(realKey);
    }
  }
  return out;
}

/**
 * Advance the drains: a candidate is done when its ActiveConn+InActConn is 0 or when it has drained
 * for `timeoutMs`. Without counters (not read, or the read failed) only the timeout ends a drain.
 * Finished pairs keep their start time so that, if the delete fails, they do not start over.
 */
export function updateDrains(
  prev: DrainState,
  candidates: ReadonlyMap<string, ReadonlySet<string>>,
  counters: TableCounters | null,
  now: number,
  timeoutMs: number,
): DrainUpdate {
  const since = new Map<PairId, number>();
  const draining = new Map<string, Set<string>>();
  const finished: DrainFinished[] = [];
  for (const [serviceKey, realKeys] of candidates) {
    for (const realKey of realKeys) {
      const id = pairId(serviceKey, realKey);
      const start = prev.since.get(id) ?? now;
      since.set(id, start);
      let why: DrainFinished['why'] | null = null;
      if (now - start >= timeoutMs) {
        why = 'timeout';
      } else {
        const c = counters?.get(serviceKey)?.get(realKey);
        if (c && c.activeConns + c.inactiveConns === 0) why = 'idle';
      }
      if (why) {
        finished.push({ serviceKey, realKey, why });
      } else {
        let set = draining.get(serviceKey);
        if (!set) draining.set(serviceKey, (set = new Set()));
        set.add(realKey);
      }
    }
  }
  return { state: { since }, draining, finished };
}

/** Number of (service, real) pairs in a drain set. */
export function drainCount(drains: DrainSet): number {
  let n = 0;
  for (const set of drains.values()) n += set.size;
  return n;
}
