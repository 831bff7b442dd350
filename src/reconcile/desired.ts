// The desired IPVS table of the services lvsd manages: a pure function of config, inputs (health, admin
// state, quorum, slow-start clock), drains and kernel.

import type { RealConfig, ServiceConfig, Snapshot } from '../config/model.js';
import type { IpvsReal, IpvsService, IpvsTable } from '../ipvs/model.js';
import { quorumUp } from './quorum.js';
import { rampedWeight, realHealth, slowStartFraction, targetWeight } from './weight.js';
import type { DesiredInputs } from './inputs.js';
import type { RealKey } from '../model/keys.js';

// The input views, still reachable here for the modules that import them from desired.ts.
export type { AgentView, DesiredInputs, HealthView, QuorumView, RealHealth, SlowStartView } from './inputs.js';

/**
 * Reals being drained: service key -> kernel real keys still held at weight 0.
 * A service present here but absent from the config is a removed service being drained.
 */
export type DrainSet = ReadonlyMap<string, ReadonlySet<string>>;

const NO_DRAINS: DrainSet = new Map();

/**
 * The table lvsd wants for its managed services (configured ones, plus removed ones still draining).
 * `actual` is read only to keep what lvsd must not decide: entries of reals without a first result,
 * drained entries, and the flags and thresholds lvsd does not manage.
 */
export function desiredTable(
  snapshot: Snapshot,
  inputs: DesiredInputs,
  drains: DrainSet | undefined,
  actual: IpvsTable,
): IpvsTable {
  const draining = drains ?? NO_DRAINS;
  const services = new Map<string, IpvsService>();
  for (const service of snapshot.services) {
    const current = actual.services.get(service.key);
    services.set(service.key, desiredService(service, inputs, draining.get(service.key), current));
  }
  // Removed services: keep the kernel head and only the reals still draining; once none is left the
  // service drops out of desired and the diff deletes it (it is owned).
  for (const [serviceKey, realKeys] of draining) {
    if (services.has(serviceKey)) continue;
    const current = actual.services.get(serviceKey);
    if (!current) continue;
    const reals = new Map<string, IpvsReal>();
    addDrained(reals, realKeys, current);
    if (reals.size > 0) services.set(serviceKey, { ...current, reals });
  }
  return { services };
}

function desiredService(
  service: ServiceConfig,
  inputs: DesiredInputs,
  draining: ReadonlySet<string> | undefined,
  current: IpvsService | undefined,
): IpvsService {
  const reals = new Map<string, IpvsReal>();
  const up: [RealConfig, RealKey, number][] = [];
  // The pass decided quorum from the weight sum once (step.ts); only a caller without a quorum
  // view (lvsd plan, tests) has it summed here.
  const known = inputs.quorum?.(service.key);
  let weightSum = 0;
  // An unknown real already carrying traffic (kernel weight > 0): its first result is pending.
  let pendingLive = false;
  for (const real of service.reals) {
    const key = real.key;
    const kernel = current?.reals.get(key);
    const admin = inputs.admin?.(service.key, real.key) ?? 'ready';
    // In maintenance: as if removed from the config (drainCandidates picks it up).
    if (admin === 'maint') continue;
    const h = realHealth(service.key, real, inputs);
    if (h.state === 'up') {
      if (admin === 'drain') {
        // Kept at weight 0, and no part of the quorum: the operator took it out of service.
        reals.set(key, toIpvsReal(real, key, 0, kernel));
      } else {
        const weight = targetWeight(real, h);
        if (known === undefined) weightSum += weight;
        up.push([real, key, kernelWeight(service.key, real, weight, inputs)]);
      }
    } else if (h.state === 'down') {
      if (service.quiescent) reals.set(key, toIpvsReal(real, key, 0, kernel));
    } else if (kernel) {
      // No first result: neither add nor remove. Keeping the kernel entry as-is means a restart
      // or a reload that changed the check neither drops a live real nor adds a dead one.
      if (admin === 'drain') {
        reals.set(key, kernel.weight === 0 ? kernel : { ...kernel, weight: 0 });
      } else {
        reals.set(key, kernel);
        if (kernel.weight > 0) pendingLive = true;
      }
    }
  }
  // Sorry servers replace the reals while the service has no quorum (default: no healthy weight at
  // all). Pending results alone do not trigger it when an unknown real still carries traffic in the
  // kernel (it may well be fine); when no unknown real carries traffic, waiting would leave the VIP
  // with nothing to send to, so sorry goes in now and leaves as soon as quorum is back. Healthy reals
  // below quorum stay beside the sorry servers at weight 0 (established and persistent clients
  // finish, as with quiescent); without sorry servers they keep serving: less capacity beats none.
  // Reals in admin drain or maint are no part of the healthy weight: with every real taken out, the
  // sorry servers take the new connections while drained reals finish the old ones.
  const quorum = known ?? quorumUp(service, weightSum, undefined);
  const sorry = !quorum && !pendingLive && service.sorry.length > 0;
  for (const [real, key, weight] of up) reals.set(key, toIpvsReal(real, key, sorry ? 0 : weight, current?.reals.get(key)));
  if (sorry) {
    for (const s of service.sorry) {
      const key = s.key;
      reals.set(key, toIpvsReal(s, key, s.weight, current?.reals.get(key)));
    }
  }
  if (draining && current) addDrained(reals, draining, current);
  // Literal objects rather than spreads: this runs for every service on every pass.
  const extraArgs = current?.extraArgs ?? [];
  if (service.kind === 'address') {
    return {
      kind: 'address',
      key: service.key,
      family: service.family,
      protocol: service.protocol,
      vip: service.vip,
      scheduler: service.scheduler,
      persistence: service.persistence,
      extraArgs,
      reals,
    };
  }
  return {
    kind: 'fwmark',
    key: service.key,
    family: service.family,
    fwmark: service.fwmark,
    scheduler: service.scheduler,
    persistence: service.persistence,
    extraArgs,
    reals,
  };
}

/** The weight to put in the kernel: the target weight, ramped while the real is in slow start. */
function kernelWeight(serviceKey: string, real: RealConfig, weight: number, inputs: DesiredInputs): number {
  if (real.slowStartMs <= 0 || !inputs.slowStart || inputs.now === undefined) return weight;
  const since = inputs.slowStart(serviceKey, real.key);
  if (since === undefined) return weight;
  return rampedWeight(weight, slowStartFraction(inputs.now - since, real.slowStartMs));
}

/** The sorry servers are in the desired service (what status and the sorry_on/off events report). */
export function sorryInUse(service: ServiceConfig, desired: IpvsService | undefined): boolean {
  if (!desired) return false;
  return service.sorry.some((s) => desired.reals.has(s.key));
}

function toIpvsReal(real: RealConfig, key: RealKey, weight: number, kernel: IpvsReal | undefined): IpvsReal {
  // The steady state: the kernel entry already is what we want; reuse it instead of allocating.
  if (kernel && kernel.weight === weight && kernel.forwarding === real.forwarding) return kernel;
  return {
    key,
    address: real.address,
    forwarding: real.forwarding,
    weight,
    upperThreshold: kernel?.upperThreshold ?? 0,
    lowerThreshold: kernel?.lowerThreshold ?? 0,
  };
}

function addDrained(reals: Map<string, IpvsReal>, keys: ReadonlySet<string>, current: IpvsService): void {
  for (const key of keys) {
    if (reals.has(key)) continue; // listed again in the config: the config wins
    const kernel = current.reals.get(key);
    if (kernel) reals.set(key, kernel.weight === 0 ? kernel : { ...kernel, weight: 0 });
  }
}
