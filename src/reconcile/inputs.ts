// What a reconcile pass reads besides the config, the drains and the kernel (health, quorum, slow
// start, admin state, agent), as read-only views. A leaf: desired.ts, quorum.ts and weight.ts all
// read these types, so they live below all three (no import cycle between them).

import type { AdminView } from '../control/admin-store.js';
import type { AgentState } from '../agent/agent-reply.js';

import type { HealthState } from '../model/health-state.js';

export interface RealHealth {
  /** 'unknown' until the real's first check result. */
  readonly state: HealthState;
  /** Dynamic weight asked for by the check (MISC dynamic_weight); overrides the configured weight. */
  readonly weight?: number;
}

/** How desired reads health; keys are ServiceConfig.key and RealConfig.key. */
export type HealthView = (serviceKey: string, realKey: string) => RealHealth;

/**
 * Everything desired reads besides the config, the drains and the kernel, as one object so a new
 * input (admin state, slow start, quorum, agent) is one more field, not one more parameter at every
 * call site. Each field is a read-only view answered by config keys; desired stays pure because the
 * views are frozen for the pass by whoever builds the inputs.
 */
export interface DesiredInputs {
  readonly health: HealthView;
  /**
   * The service's quorum as the caller keeps it (hysteresis needs the previous state: see
   * nextQuorumState in quorum.ts). Absent, or undefined for a service: the plain threshold decides.
   */
  readonly quorum?: QuorumView;
  /** When the real's slow-start ramp began (ms, same clock as `now`); undefined = not ramping. */
  readonly slowStart?: SlowStartView;
  /** The clock slow start is measured against; without it no ramp applies. */
  readonly now?: number;
  /**
   * The operator's say (control socket, maintenance dir, agent), absent = every real ready.
   * drain: weight 0, kept in the table (persistent clients finish); maint: left out like a real
   * removed from the config, so the drain machinery holds it at weight 0 until idle or drain_timeout.
   * Neither counts as usable: with every real out, the sorry servers take the new connections.
   */
  readonly admin?: AdminView;
  /** What each real's own agent (HAProxy agent-check) last said; undefined = no agent. */
  readonly agent?: AgentView;
}

export type AgentView = (serviceKey: string, realKey: string) => AgentState | undefined;

/** Service key -> has quorum; undefined when the caller has no state for that service yet. */
export type QuorumView = (serviceKey: string) => boolean | undefined;

export type SlowStartView = (serviceKey: string, realKey: string) => number | undefined;
