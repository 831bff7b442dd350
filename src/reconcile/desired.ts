// The desired IPVS table of the services lvsd manages: a pure function of config, health, drains and kernel.

import { formatEndpoint } from '../config/endpoint.js';
import type { RealConfig, ServiceConfig, Snapshot } from '../config/model.js';
import type { IpvsReal, IpvsService, IpvsTable } from '../ipvs/model.js';

export type HealthState = 'unknown' | 'up' | 'down';

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
}

/**
 * Reals being drained: service key -> kernel real keys still held at weight 0.
 * A service present here but absent from the config is a removed service being drained.
 */
export type DrainSet = ReadonlyMap<string, ReadonlySet<string>>;

const NO_DRAINS: DrainSet = new Map();

/** The key a configured real (or sorry server) has in the kernel table. */
export function kernelRealKey(real: RealConfig): string {
  return formatEndpoint(real.address);
}

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
  let anyUp = false;
  // An unknown real already carrying traffic (kernel weight > 0): its first result is pending.
  let pendingLive = false;
  for (const real of service.reals) {
    const key = kernelRealKey(real);
    const kernel = current?.reals.get(key);
    const h = inputs.health(service.key, real.key);
    if (h.state === 'up') {
      anyUp = true;
      reals.set(key, toIpvsReal(real, key, effectiveWeight(real, h), kernel));
    } else if (h.state === 'down') {
      if (service.quiescent) reals.set(key, toIpvsReal(real, key, 0, kernel));
    } else if (kernel) {
      // No first result: neither add nor remove. Keeping the kernel entry as-is means a restart
      // or a reload that changed the check neither drops a live real nor adds a dead one.
      reals.set(key, kernel);
      if (kernel.weight > 0) pendingLive = true;
    }
  }
  // Sorry servers replace the reals while none is up. Pending results alone do not trigger it when
  // an unknown real still carries traffic in the kernel (it may well be fine); when no unknown real
  // carries traffic, waiting would leave the VIP with nothing to send to, so sorry goes in now and
  // leaves as soon as one real is up. Quiescent down reals stay at weight 0 beside the sorry servers:
  // they take no new connections, and keeping them is what quiescent promises. "Up" is health, not
  // weight: an up real at weight 0 (admin drain, dynamic weight 0) keeps sorry out, as drained by choice.
  if (!anyUp && !pendingLive) {
    for (const sorry of service.sorry) {
      const key = kernelRealKey(sorry);
      reals.set(key, toIpvsReal(sorry, key, sorry.weight, current?.reals.get(key)));
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

/** Config weight 0 is an admin drain and wins over a dynamic weight; otherwise the check's weight wins. */
function effectiveWeight(real: RealConfig, h: RealHealth): number {
  if (real.weight === 0) return 0;
  return h.weight ?? real.weight;
}

function toIpvsReal(real: RealConfig, key: string, weight: number, kernel: IpvsReal | undefined): IpvsReal {
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
