// Quorum per service, keepalived's rule with hysteresis: pure, the previous state in, the next out.

import type { ServiceConfig, Snapshot } from '../config/model.js';
import type { DesiredInputs } from './inputs.js';
import { realHealth, targetWeight } from './weight.js';

type HealthInputs = Pick<DesiredInputs, 'health' | 'agent'>;

export interface ServiceQuorum {
  /** The service has quorum. */
  readonly up: boolean;
  /** Sum of the target weights of the reals whose health is up (sorry servers never count). */
  readonly weightSum: number;
}

/** Service key -> its quorum, for the services of one snapshot. */
export type QuorumState = ReadonlyMap<string, ServiceQuorum>;

export const NO_QUORUM_STATE: QuorumState = new Map();

/**
 * keepalived: quorum is gained when the sum reaches `quorum + hysteresis` and lost when it falls
 * below `quorum - hysteresis`; between the two the previous state holds. A sum of 0 is always lost
 * (no capacity, whatever `quorum` says). Without a previous state (start, a service added by a
 * reload) there is no history to hold: the plain threshold `quorum` decides.
 */
export function quorumUp(service: Pick<ServiceConfig, 'quorum' | 'hysteresis'>, weightSum: number, previous: boolean | undefined): boolean {
  if (weightSum <= 0) return false;
  if (previous === undefined) return weightSum >= service.quorum;
  if (previous) return weightSum >= service.quorum - service.hysteresis;
  return weightSum >= service.quorum + service.hysteresis;
}

/** Sum of the target weights of the service's healthy reals. */
export function healthyWeightSum(service: ServiceConfig, inputs: HealthInputs): number {
  let sum = 0;
  for (const real of service.reals) {
    const h = realHealth(service.key, real, inputs);
    if (h.state === 'up') sum += targetWeight(real, h);
  }
  return sum;
}

/** The next quorum of every configured service; services gone from the config drop out. */
export function nextQuorumState(snapshot: Snapshot, inputs: HealthInputs, previous: QuorumState): QuorumState {
  const next = new Map<string, ServiceQuorum>();
  for (const service of snapshot.services) {
    const weightSum = healthyWeightSum(service, inputs);
    next.set(service.key, { up: quorumUp(service, weightSum, previous.get(service.key)?.up), weightSum });
  }
  return next;
}

export type ServiceEventKind = 'quorum_up' | 'quorum_down' | 'sorry_on' | 'sorry_off';

/** A change of a service's quorum or of its use of sorry servers, as logs and notify commands see it. */
export interface ServiceEvent {
  readonly kind: ServiceEventKind;
  readonly serviceKey: string;
  readonly weightSum: number;
  /** The service's first evaluation (start, or added by a reload): its state is known for the first time. */
  readonly initial: boolean;
}

/**
 * The events between two committed states. A service seen for the first time reports its quorum
 * either way (a script learns the state it starts from) and sorry_on if it starts on sorry servers.
 */
export function serviceEvents(
  prevQuorum: QuorumState,
  nextQuorum: QuorumState,
  prevSorry: ReadonlySet<string>,
  nextSorry: ReadonlySet<string>,
): ServiceEvent[] {
  const events: ServiceEvent[] = [];
  for (const [serviceKey, q] of nextQuorum) {
    const before = prevQuorum.get(serviceKey);
    const initial = before === undefined;
    if (initial || before.up !== q.up) {
      events.push({ kind: q.up ? 'quorum_up' : 'quorum_down', serviceKey, weightSum: q.weightSum, initial });
    }
    const sorryBefore = prevSorry.has(serviceKey);
    const sorryNow = nextSorry.has(serviceKey);
    if (sorryNow !== sorryBefore) {
      events.push({ kind: sorryNow ? 'sorry_on' : 'sorry_off', serviceKey, weightSum: q.weightSum, initial });
    }
  }
  return events;
}
