// Compact builders of snapshots and kernel tables for the reconcile tests (desired, diff, drain, loop).

import { parseEndpoint } from '../../src/config/endpoint.js';
import type {
  Endpoint,
  Forwarding,
  GlobalConfig,
  Persistence,
  Protocol,
  RealConfig,
  ServiceConfig,
  Snapshot,
} from '../../src/config/model.js';
import type { IpvsReal, IpvsService, IpvsTable } from '../../src/ipvs/model.js';
import type { HealthView, RealHealth } from '../../src/reconcile/desired.js';
import type { HealthState } from '../../src/model/health-state.js';
import { realKey, serviceKey } from '../../src/model/keys.js';
import type { ServiceKey, ServiceTarget } from '../../src/model/keys.js';

const POS = { file: 'test.yaml', line: 1, col: 1 };

export function endpoint(text: string): Endpoint {
  const r = parseEndpoint(text, true);
  if (!r.ok) throw new Error(r.error);
  return r.endpoint;
}

export interface RealSpec {
  readonly address: string;
  readonly weight?: number;
  readonly forwarding?: Forwarding;
  readonly slowStartMs?: number;
}

export function realConfig(spec: RealSpec | string, forwarding: Forwarding = 'masq'): RealConfig {
  const s = typeof spec === 'string' ? { address: spec } : spec;
  const address = endpoint(s.address);
  return {
    key: realKey(address),
    address,
    weight: s.weight ?? 1,
    forwarding: s.forwarding ?? forwarding,
    check: { type: 'none', intervalMs: 1000, timeoutMs: 500, rise: 1, fall: 1, port: address.port },
    slowStartMs: s.slowStartMs ?? 0,
    pos: POS,
  };
}

export interface ServiceSpec {
  /** "tcp:192.0.2.10:80", "udp:[2001:db8::10]:53", "fwmark:12:v4" */
  readonly key: string;
  readonly scheduler?: string;
  readonly persistence?: Persistence | null;
  readonly quiescent?: boolean;
  readonly quorum?: number;
  readonly hysteresis?: number;
  readonly forwarding?: Forwarding;
  readonly reals?: readonly (RealSpec | string)[];
  readonly sorry?: readonly (RealSpec | string)[];
}

export function serviceConfig(spec: ServiceSpec): ServiceConfig {
  const fw = spec.forwarding ?? 'masq';
  const common = {
    name: spec.key,
    key: spec.key,
    scheduler: spec.scheduler ?? 'wlc',
    persistence: spec.persistence ?? null,
    quiescent: spec.quiescent ?? false,
    quorum: spec.quorum ?? 1,
    hysteresis: spec.hysteresis ?? 0,
    notify: { commands: {}, timeoutMs: 10_000 },
    reals: (spec.reals ?? []).map((r) => realConfig(r, fw)),
    sorry: (spec.sorry ?? []).map((r) => realConfig(r, fw)),
    pos: POS,
  };
  const fwmark = /^fwmark:(\d+):v([46])$/.exec(spec.key);
  if (fwmark) {
    const target = { kind: 'fwmark', fwmark: Number(fwmark[1]), family: Number(fwmark[2]) as 4 | 6 } as const;
    return { ...common, ...target, key: keyOf(target, spec.key) };
  }
  const i = spec.key.indexOf(':');
  const vip = endpoint(spec.key.slice(i + 1));
  const target = { kind: 'address', protocol: spec.key.slice(0, i) as Protocol, vip } as const;
  return { ...common, ...target, key: keyOf(target, spec.key), family: vip.family };
}

export const GLOBAL: GlobalConfig = {
  listen: { host: '127.0.0.1', port: 0 },
  ipvsadm: '/usr/sbin/ipvsadm',
  resyncIntervalMs: 30_000,
  drainTimeoutMs: 60_000,
  cleanStop: true,
  logLevel: 'info',
  stateDir: '/nonexistent',
  maxConcurrentChecks: 10,
  checkThreads: null,
  controlSocket: '/nonexistent/control.sock',
  maintenanceDir: null, dnsStateFile: null, announce: null,
  syncDaemon: null,
};

export function snapshot(services: readonly ServiceSpec[], global: Partial<GlobalConfig> = {}): Snapshot {
  return { global: { ...GLOBAL, ...global }, services: services.map(serviceConfig), files: [], hash: 'h' };
}

/** The key made from the parsed spec, which must be the text the spec gave (else the fixture is wrong). */
function keyOf(target: ServiceTarget, text: string): ServiceKey {
  const key = serviceKey(target);
  if (key !== text) throw new Error(`fixture service key ${text} is not canonical (${key})`);
  return key;
}

/** A kernel real: [key, weight, forwarding?, upper?, lower?]. */
export type RealTuple = readonly [string, number, Forwarding?, number?, number?];

export interface KernelServiceSpec {
  readonly key: string;
  readonly scheduler?: string;
  readonly persistence?: Persistence | null;
  readonly extraArgs?: readonly string[];
  readonly reals?: readonly RealTuple[];
}

export function kernelReal([key, weight, forwarding, upper, lower]: RealTuple): IpvsReal {
  const address = endpoint(key);
  return {
    key: realKey(address),
    address,
    forwarding: forwarding ?? 'masq',
    weight,
    upperThreshold: upper ?? 0,
    lowerThreshold: lower ?? 0,
  };
}

export function kernelService(spec: KernelServiceSpec): IpvsService {
  const reals = new Map((spec.reals ?? []).map((t) => { const r = kernelReal(t); return [r.key, r] as const; }));
  const common = {
    key: spec.key,
    scheduler: spec.scheduler ?? 'wlc',
    persistence: spec.persistence ?? null,
    extraArgs: spec.extraArgs ?? [],
    reals,
  };
  const fwmark = /^fwmark:(\d+):v([46])$/.exec(spec.key);
  if (fwmark) {
    const target = { kind: 'fwmark', fwmark: Number(fwmark[1]), family: Number(fwmark[2]) as 4 | 6 } as const;
    return { ...common, ...target, key: keyOf(target, spec.key) };
  }
  const i = spec.key.indexOf(':');
  const vip = endpoint(spec.key.slice(i + 1));
  const target = { kind: 'address', protocol: spec.key.slice(0, i) as Protocol, vip } as const;
  return { ...common, ...target, key: keyOf(target, spec.key), family: vip.family };
}

export function table(services: readonly KernelServiceSpec[]): IpvsTable {
  return { services: new Map(services.map((s) => [s.key, kernelService(s)] as const)) };
}

/** A table in a comparable plain form: service key -> head fields and sorted real tuples. */
export function plain(t: IpvsTable): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of [...t.services.values()].sort((a, b) => (a.key < b.key ? -1 : 1))) {
    out[s.key] = {
      scheduler: s.scheduler,
      persistence: s.persistence,
      extraArgs: [...s.extraArgs],
      reals: [...s.reals.values()]
        .sort((a, b) => (a.key < b.key ? -1 : 1))
        .map((r) => [r.key, r.weight, r.forwarding, r.upperThreshold, r.lowerThreshold]),
    };
  }
  return out;
}

/** Health from a table "serviceKey realKey" -> state or { state, weight }; missing pairs are `fallback`. */
export function healthOf(
  states: Readonly<Record<string, HealthState | RealHealth>>,
  fallback: HealthState = 'up',
): HealthView {
  return (serviceKey, realKey) => {
    const h = states[`${serviceKey} ${realKey}`];
    if (h === undefined) return { state: fallback };
    return typeof h === 'string' ? { state: h } : h;
  };
}
