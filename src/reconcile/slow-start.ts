// The slow-start clock: which reals are ramping and since when. Pure: previous state in, next out.

import type { Snapshot } from '../config/model.js';
import type { IpvsTable } from '../ipvs/model.js';
import { pairId } from '../model/keys.js';
import type { PairId } from '../model/keys.js';
import type { DesiredInputs, SlowStartView } from './desired.js';
import { nextSlowStartStep, realHealth, targetWeight } from './weight.js';

export interface Ramp {
  /** When the ramp began (the reconciler's clock, ms). */
  readonly since: number;
  readonly windowMs: number;
}

/** Pair id -> its ramp. */
export type SlowStartState = ReadonlyMap<PairId, Ramp>;

export const NO_SLOW_START: SlowStartState = new Map();

/**
 * A ramp begins when a healthy real with `slow_start` enters the traffic of a service the kernel
 * already carries: it is absent from the kernel service or at weight 0 there (it was down, in
 * maintenance, below quorum, or newly added by a reload). So a daemon start adopting a table whose
 * reals already carry traffic ramps nothing, and a service created from nothing starts at full
 * weight (every real is new; a ramp would change no ratio). A ramp ends at the end of its window,
 * or as soon as the real is no longer up (it starts over when it comes back).
 */
export function nextSlowStartState(
  snapshot: Snapshot,
  inputs: Pick<DesiredInputs, 'health' | 'agent'>,
  actual: IpvsTable,
  previous: SlowStartState,
  now: number,
): SlowStartState {
  const next = new Map<PairId, Ramp>();
  for (const service of snapshot.services) {
    const kernel = actual.services.get(service.key);
    for (const real of service.reals) {
      if (real.slowStartMs <= 0) continue;
      const h = realHealth(service.key, real, inputs);
      if (h.state !== 'up' || targetWeight(real, h) <= 0) continue;
      const id = pairId(service.key, real.key);
      const ramp = previous.get(id);
      if (ramp) {
        if (now - ramp.since < real.slowStartMs) next.set(id, { since: ramp.since, windowMs: real.slowStartMs });
        continue;
      }
      if (!kernel) continue;
      const entry = kernel.reals.get(real.key);
      if (!entry || entry.weight === 0) next.set(id, { since: now, windowMs: real.slowStartMs });
    }
  }
  return next;
}

export function slowStartView(state: SlowStartState): SlowStartView {
  return (serviceKey, realKey) => state.get(pairId(serviceKey, realKey))?.since;
}

/** When the earliest next ramp step is due (absolute ms), or null when nothing ramps. */
export function nextRampStep(state: SlowStartState, now: number): number | null {
  let due: number | null = null;
  for (const r of state.values()) {
    const at = nextSlowStartStep(r.since, r.windowMs, now);
    if (at !== null && (due === null || at < due)) due = at;
  }
  return due;
}
