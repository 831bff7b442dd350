// What one reconcile pass reads of health, agents and admin state, taken once at its start and
// shaped once: per configured pair its health with the agent's say applied, its admin state, and its
// health as quorum and slow start count it (a real the operator took out counts as down). The live
// views are not read again during the pass, so a result or command arriving mid-pass waits for the
// next one, and the verify step judges against what was applied.

import type { RealConfig, Snapshot } from '../config/model.js';
import type { AdminView } from '../control/admin-store.js';
import type { AdminState } from '../control/admin-model.js';
import type { AgentView, HealthView, RealHealth } from './inputs.js';
import { realHealth } from './weight.js';

export interface PassInputs {
  /** Health with each real's agent applied: what desired() reads. */
  readonly health: HealthView;
  /** Health as quorum and slow start read it: a real not admin-ready counts as down. */
  readonly usable: HealthView;
  /** Absent: no admin source, every real is ready. */
  readonly admin?: AdminView;
  /** Some configured pair is in maint (drain candidates ask `admin` only then). */
  readonly maint?: boolean;
}

interface PairInput {
  readonly health: RealHealth;
  readonly usable: RealHealth;
  readonly admin: AdminState;
}

const DOWN: RealHealth = Object.freeze({ state: 'down' });
const UNKNOWN: RealHealth = Object.freeze({ state: 'unknown' });

/** Read every configured pair once: O(pairs), the only reads of the live views in a pass. */
export function freezeInputs(snapshot: Snapshot, health: HealthView, admin?: AdminView, agent?: AgentView): PassInputs {
  const byService = new Map<string, Map<string, PairInput>>();
  const views = agent ? { health, agent } : { health };
  let maint = false;
  for (const service of snapshot.services) {
    const reals = new Map<string, PairInput>();
    byService.set(service.key, reals);
    for (const real of service.reals) {
      const input = pairInput(service.key, real, views, admin);
      if (input.admin === 'maint') maint = true;
      reals.set(real.key, input);
    }
  }
  // Pairs outside the snapshot are never asked for; were they, they would be unknown and ready.
  // The readers go service by service: the last service's reals are kept at hand.
  let lastKey: string | undefined;
  let last: Map<string, PairInput> | undefined;
  const get = (s: string, r: string): PairInput | undefined => {
    if (s !== lastKey) {
      lastKey = s;
      last = byService.get(s);
    }
    return last?.get(r);
  };
  const inputs = {
    health: (s: string, r: string) => get(s, r)?.health ?? UNKNOWN,
    usable: (s: string, r: string) => get(s, r)?.usable ?? UNKNOWN,
  };
  return admin ? { ...inputs, admin: (s, r) => get(s, r)?.admin ?? 'ready', maint } : inputs;
}

function pairInput(serviceKey: string, real: RealConfig, views: { health: HealthView; agent?: AgentView }, admin: AdminView | undefined): PairInput {
  const health = realHealth(serviceKey, real, views);
  const state = admin ? admin(serviceKey, real.key) : 'ready';
  return { health, usable: state === 'ready' ? health : DOWN, admin: state };
}
