// The pure rise/fall state machine of one (service, real) pair: a result in, the next state out.

import type { CheckResult } from '../checks/types.js';

import type { HealthState } from '../model/health-state.js';

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


/**
 * One result for a real with several checks: up when every check's last result is up; otherwise
 * the first failing check (in config order) speaks for it. `null` = that check has no result yet.
 */
export function combineResults(results: readonly (CheckResult | null)[]): CheckResult {
  const n = results.length;
  let latencyMs = 0;
  let weight: number | undefined;
  for (const r of results) {
    if (r === null) continue;
    latencyMs = Math.max(latencyMs, r.latencyMs);
    if (weight === undefined && r.weight !== undefined) weight = r.weight;
  }
  const w = weight === undefined ? {} : { weight };
  for (const [i, r] of results.entries()) {
    if (r === null) return { up: false, code: 'error', reason: `check ${i + 1} of ${n}: no result yet`, latencyMs, ...w };
    if (!r.up) return { up: false, code: r.code, reason: `check ${i + 1} of ${n}: ${r.reason}`, latencyMs, ...w };
  }
  return { up: true, code: 'ok', reason: `all ${n} checks up: ${results.map((r) => r!.reason).join('; ')}`, latencyMs, ...w };
}

/** What moved a real with several checks: check `index` got `result`, with that check's own step. */
export interface PartStep {
  readonly index: number;
  readonly result: CheckResult;
  readonly transition: Transition | null;
}

/**
 * The health of a real with several checks, from the health of each (every check keeps its own
 * rise/fall through applyResult). Unknown until every check has its first result; then up when all
 * checks are up and down as soon as one is down: keepalived's rule, a real is up when all its
 * checkers are. A MISC dynamic weight comes from the first check that has one.
 */
export function combineHealth(prev: Health, parts: readonly Health[], cause: PartStep, now: number): Step {
  let to: HealthState = 'up';
  let weight: number | null = null;
  for (const p of parts) {
    if (p.state === 'unknown') to = 'unknown';
    else if (p.state === 'down' && to !== 'unknown') to = 'down';
    if (weight === null && p.weight !== null) weight = p.weight;
  }
  const result = combineResults(parts.map((p) => p.lastResult));
  const n = parts.length;
  const changed = to !== prev.state;
  const health: Health = {
    state: to,
    successes: cause.result.up ? prev.successes + 1 : 0,
    failures: cause.result.up ? 0 : prev.failures + 1,
    checks: prev.checks + 1,
    lastResult: result,
    lastCheckAt: now,
    since: changed ? now : prev.since,
    weight,
  };
  if (changed) {
    const which = `check ${cause.index + 1} of ${n}`;
    const why = cause.transition?.reason ?? cause.result.reason;
    const reason =
      prev.state === 'unknown' ? `first checks: ${result.reason}`
      : to === 'down' ? `${which} down: ${why}`
      : `all ${n} checks up (${which}: ${why})`;
    return { health, transition: { kind: 'state', from: prev.state, to, reason, result, weight } };
  }
  if (to === 'up' && weight !== prev.weight) {
    const reason = `dynamic weight ${prev.weight ?? 'configured'} -> ${weight ?? 'configured'}: ${cause.result.reason}`;
    return { health, transition: { kind: 'weight', from: 'up', to: 'up', reason, result, weight } };
  }
  return { health, transition: null };
}
