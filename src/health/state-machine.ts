// The pure rise/fall state machine of one (service, real) pair: a result in, the next state out.

import type { CheckResult } from '../checks/types.js';

export type HealthState = 'unknown' | 'up' | 'down';

export interface Thresholds {
  /** Consecutive successes to go from down to up (>= 1). */
  readonly rise: number;
  /** Consecutive failures to go from up to down (>= 1). */
  readonly fall: number;
}

export interface Health {
  readonly state: HealthState;
  /** Consecutive successes / failures up to and including the last result. */
  readonly successes: number;
  readonly failures: number;
  /** Results seen since this entry was created. */
  readonly checks: number;
  readonly lastResult: CheckResult | null;
  /** When the last result arrived (ms, the caller's clock); null before the first. */
  readonly lastCheckAt: number | null;
  /** When `state` last changed (creation time while unknown). */
  readonly since: number;
  /**
   * MISC dynamic weight: the weight the command last asked for, replacing the configured weight;
   * null = use the configured weight. A success without a weight (exit 0) leaves it unchanged,
   * as keepalived's misc_dynamic does, so a script only has to speak when it wants a change.
   */
  readonly weight: number | null;
}

/**
 * `state` = a state change (unknown->up/down, up->down, down->up).
 * `weight` = the state stayed `up` but the dynamic weight changed: the kernel weight must follow.
 */
export type TransitionKind = 'state' | 'weight';

export interface Transition {
  readonly kind: TransitionKind;
  readonly from: HealthState;
  readonly to: HealthState;
  /** Why, for logs: "3 consecutive failures (fall 3): TCP connect 10.0.0.2:80: refused". */
  readonly reason: string;
  readonly result: CheckResult;
  /** The weight override after this result (null = configured weight). */
  readonly weight: number | null;
}

export interface Step {
  readonly health: Health;
  readonly transition: Transition | null;
}

export function initialHealth(now: number): Health {
  return { state: 'unknown', successes: 0, failures: 0, checks: 0, lastResult: null, lastCheckAt: null, since: now, weight: null };
}

function consecutive(n: number, one: string, many: string): string {
  return `${n} consecutive ${n === 1 ? one : many}`;
}

/**
 * Apply one check result.
 *
 * From `unknown` the FIRST result decides, without waiting for rise/fall: at start-up (and for a
 * real added by a reload) nothing is in the kernel yet, and lvsd changes the kernel only once the
 * first results are in. Waiting `rise` intervals would keep a healthy pool out of service after
 * every restart (a full outage when the daemon restarts on a live director), and waiting `fall`
 * intervals would send traffic to a real already known to be dead. After the first result the
 * usual hysteresis applies: `rise` consecutive successes to come up, `fall` failures to go down.
 */
export function applyResult(prev: Health, result: CheckResult, thresholds: Thresholds, now: number): Step {
  const successes = result.up ? prev.successes + 1 : 0;
  const failures = result.up ? 0 : prev.failures + 1;
  // Only a success carries a dynamic weight; failures keep the last one for when it comes back.
  const weight = result.up && result.weight !== undefined ? result.weight : prev.weight;
  const rise = Math.max(1, thresholds.rise);
  const fall = Math.max(1, thresholds.fall);

  let to: HealthState = prev.state;
  let reason = '';
  if (prev.state === 'unknown') {
    to = result.up ? 'up' : 'down';
    reason = `first check: ${result.reason}`;
  } else if (prev.state === 'up' && failures >= fall) {
    to = 'down';
    reason = `${consecutive(failures, 'failure', 'failures')} (fall ${fall}): ${result.reason}`;
  } else if (prev.state === 'down' && successes >= rise) {
    to = 'up';
    reason = `${consecutive(successes, 'success', 'successes')} (rise ${rise}): ${result.reason}`;
  }

  const changed = to !== prev.state;
  const health: Health = {
    state: to,
    successes,
    failures,
    checks: prev.checks + 1,
    lastResult: result,
    lastCheckAt: now,
    since: changed ? now : prev.since,
    weight,
  };
  if (changed) return { health, transition: { kind: 'state', from: prev.state, to, reason, result, weight } };
  if (to === 'up' && weight !== prev.weight) {
    reason = `dynamic weight ${prev.weight ?? 'configured'} -> ${weight ?? 'configured'}: ${result.reason}`;
    return { health, transition: { kind: 'weight', from: 'up', to: 'up', reason, result, weight } };
  }
  return { health, transition: null };
}

