// What the observer reads from the parts it does not own, as narrow interfaces: health by pair and
// the check engine's counters (the scheduler and tracker on this thread, or their mirror of a check
// engine elsewhere), admin and agent state, VIP announce and the sync daemon keeper.

import type { AgentStatus } from '../agent/agent-poller.js';
import type { AnnounceStatus } from '../announce/announcer.js';
import type { CheckHealthSource, TrackedReal } from '../health/tracker.js';
import type { SchedulerStats } from '../scheduler/types.js';

/**
 * Health of a (service, real) pair, undefined for a pair the engine does not track; and of each
 * check of a real with several (checksOf).
 */
export interface HealthSource extends CheckHealthSource {
  get(serviceKey: string, realKey: string): TrackedReal | undefined;
}

/** The check engine's counters (summed over its threads), its thread count and restarts. */
export interface EngineStats {
  stats(): SchedulerStats;
  readonly threads?: number;
  readonly restarts?: number;
  /** Bring the health details (last reason, counters) up to date before a status document. */
  refresh?(): Promise<void>;
}

export interface AgentSource {
  status(serviceKey: string, realKey: string): AgentStatus | undefined;
}

export interface AnnounceSource {
  status(): AnnounceStatus;
}
