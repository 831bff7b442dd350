// The weight a healthy real asks for (config, check, later admin and agent), before any slow-start ramp.

import type { RealConfig } from '../config/model.js';
import type { DesiredInputs, RealHealth } from './inputs.js';

/**
 * A real's health as desired uses it: the health check, then its agent (HAProxy agent-check). A
 * down health check always wins; an agent's `down` takes an up real out; `N%` scales its weight.
 * The agent's `drain` / `maint` is admin state: the daemon puts it in the admin store (source
 * `agent`), so it combines with the operator's and the maintenance directory's.
 */
export function realHealth(serviceKey: string, real: RealConfig, inputs: Pick<DesiredInputs, 'health' | 'agent'>): RealHealth {
  const h = inputs.health(serviceKey, real.key);
  if (h.state !== 'up' || !inputs.agent) return h;
  const a = inputs.agent(serviceKey, real.key);
  if (!a) return h;
  if (a.down) return { state: 'down' };
  if (a.weightPercent === null) return h;
  const base = h.weight ?? real.weight;
  return { state: 'up', weight: Math.min(65535, Math.round((base * a.weightPercent) / 100)) };
}

/**
 * Config weight 0 is an admin drain and wins over a dynamic weight; otherwise the check's weight
 * wins. Quorum sums this weight, never the ramped one: a real in slow start counts fully, so a ramp
 * cannot flap quorum.
 */
export function targetWeight(real: RealConfig, h: RealHealth): number {
  if (real.weight === 0) return 0;
  return h.weight ?? real.weight;
}

/**
 * Slow start (HAProxy's `slowstart`, in steps so that each one is a single batched ipvsadm pass):
 * the fraction of the weight a real gets `elapsed` ms into a ramp of `windowMs`. About 10 % first,
 * then equal steps up to 100 % at the end of the window.
 */
export const SLOW_START_STEPS = 4;
export const SLOW_START_FLOOR = 0.1;

export function slowStartFraction(elapsedMs: number, windowMs: number): number {
  if (windowMs <= 0 || elapsedMs >= windowMs) return 1;
  const step = Math.max(0, Math.floor((elapsedMs * SLOW_START_STEPS) / windowMs));
  return SLOW_START_FLOOR + ((1 - SLOW_START_FLOOR) * step) / SLOW_START_STEPS;
}

/** When the next step of a ramp begins (absolute ms), or null once the ramp is over. */
export function nextSlowStartStep(startedAt: number, windowMs: number, now: number): number | null {
  if (windowMs <= 0) return null;
  const elapsed = now - startedAt;
  if (elapsed >= windowMs) return null;
  const step = Math.max(0, Math.floor((elapsed * SLOW_START_STEPS) / windowMs)) + 1;
  return startedAt + Math.ceil((step * windowMs) / SLOW_START_STEPS);
}

/** The kernel weight of a real `fraction` into its ramp: never 0 for a positive weight (0 means drain). */
export function rampedWeight(weight: number, fraction: number): number {
  if (weight <= 0 || fraction >= 1) return weight;
  return Math.max(1, Math.round(weight * fraction));
}
