// The health the control plane reads: per (service, real) pair its state and dynamic weight, kept
// from the tracker's transitions and first results as they arrive (in batches), not read from live
// tracker objects. The reconcile pass freezes a view of it once per pass (pass-inputs.ts).
// When the check engine runs elsewhere (a worker thread, issue #21), only these batches and a resync
// after each new probe plan have to cross to this side.

import type { HealthEvent, HealthTracker, TrackedReal } from '../health/tracker.js';
import type { HealthView, RealHealth } from './inputs.js';

const UNKNOWN: RealHealth = Object.freeze({ state: 'unknown' });

function healthOf(state: RealHealth['state'], weight: number | null): RealHealth {
  return weight === null ? { state } : { state, weight };
}

export class HealthBoard {
  /** service key -> real key -> health; pairs without a first result are absent (unknown). */
  #pairs = new Map<string, Map<string, RealHealth>>();

  /** A batch of the tracker's events: state changes (first results included) and weight changes. */
  apply(events: readonly HealthEvent[]): void {
    for (const e of events) {
      let reals = this.#pairs.get(e.serviceKey);
      if (!reals) this.#pairs.set(e.serviceKey, (reals = new Map()));
      reals.set(e.realKey, healthOf(e.to, e.weight));
    }
  }

  /**
   * After the tracker took a new probe plan: every tracked pair as it stands now (kept, reset to
   * unknown by a changed check, new), and pairs the plan dropped are forgotten.
   */
  resync(pairs: Iterable<Pick<TrackedReal, 'serviceKey' | 'realKey' | 'health'>>): void {
    const next = new Map<string, Map<string, RealHealth>>();
    for (const p of pairs) {
      if (p.health.state === 'unknown') continue;
      let reals = next.get(p.serviceKey);
      if (!reals) next.set(p.serviceKey, (reals = new Map()));
      reals.set(p.realKey, healthOf(p.health.state, p.health.weight));
    }
    this.#pairs = next;
  }

  /** Health as desired() reads it; the pass freezes what it reads once. */
  readonly view: HealthView = (serviceKey, realKey) => this.#pairs.get(serviceKey)?.get(realKey) ?? UNKNOWN;
}

/** Health as desired() reads it, straight from a tracker: for `lvsd plan`, which has no board. */
export function healthViewOf(tracker: Pick<HealthTracker, 'get'>): HealthView {
  return (serviceKey, realKey) => {
    const t = tracker.get(serviceKey, realKey);
    if (!t) return UNKNOWN;
    return healthOf(t.health.state, t.health.weight);
  };
}
