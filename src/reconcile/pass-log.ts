// The log lines of a committed pass's decisions: a ramp beginning, a quorum or sorry-server change.

import type { ServiceConfig, Snapshot } from '../config/model.js';
import { indexOf } from '../config/snapshot-index.js';
import type { Logger } from '../log.js';
import { pairParts } from '../model/keys.js';
import type { PairId } from '../model/keys.js';
import type { ServiceEvent } from './quorum.js';
import type { Ramp } from './slow-start.js';

export function rampFields(id: PairId, ramp: Ramp, snapshot: Snapshot): Record<string, unknown> {
  const [serviceKey, realKey] = pairParts(id);
  const service = indexOf(snapshot).byKey.get(serviceKey);
  return { event: 'slow_start', service: service?.name ?? serviceKey, real: realKey, window_ms: ramp.windowMs };
}

/** One log line per quorum or sorry-server change of a committed pass. */
export function logServiceEvent(log: Logger, e: ServiceEvent, service: ServiceConfig | undefined): void {
  const name = service?.name ?? e.serviceKey;
  const fields = { event: e.kind, service: name, weight_sum: e.weightSum, quorum: service?.quorum, hysteresis: service?.hysteresis };
  if (e.kind === 'quorum_down') log.warn(fields, `${name}: quorum lost (healthy weight ${e.weightSum}, quorum ${service?.quorum})`);
  else if (e.kind === 'quorum_up') log.info(fields, `${name}: ${e.initial ? 'has quorum' : 'quorum regained'} (healthy weight ${e.weightSum})`);
  else if (e.kind === 'sorry_on') log.warn({ ...fields, sorry: service?.sorry.map((r) => r.key) }, `${name}: sorry servers in`);
  else log.info(fields, `${name}: sorry servers out`);
}
