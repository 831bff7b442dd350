// Probe identity and the probe plan: which distinct checks to run, and whose health each one feeds.

import { formatHost } from '../config/endpoint.js';
import type { CheckSpec, RealConfig, ServiceConfig, Snapshot } from '../config/model.js';
import { probedPerService } from '../checks/per-service.js';
import type { CheckContext, CheckTarget } from '../checks/types.js';

/** A (service, real) pair whose health a probe feeds, with its own rise/fall (not part of the probe). */
export interface ProbeMember {
  readonly serviceKey: string;
  readonly realKey: string;
  readonly rise: number;
  readonly fall: number;
  /**
   * For a real with several checks (`checks:`): which of its distinct checks this probe is, and how
   * many it has. The tracker keeps rise/fall per check and the real is up when all of them are.
   * Absent for a real with one check.
   */
  readonly part?: { readonly index: number; readonly of: number };
}

export interface ProbePlanEntry {
  /** The target of the first member; for shared probes every member's target is equivalent. */
  readonly target: CheckTarget;
  readonly members: readonly ProbeMember[];
}

/** Probe key -> what to run and who listens. Map order is config order (service, then real). */
export type ProbePlan = ReadonlyMap<string, ProbePlanEntry>;

/** JSON with object keys sorted at every level, so equal specs give equal text whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(obj).sort()) {
    if (obj[k] === undefined) continue;
    parts.push(`${JSON.stringify(k)}:${canonicalJson(obj[k])}`);
  }
  return `{${parts.join(',')}}`;
}

/** Snapshots are immutable, and reals without an override often share one spec object. */
const identities = new WeakMap<CheckSpec, string>();

/** The spec without rise/fall: those are per-member thresholds, not part of what is sent on the wire. */
function specIdentity(spec: CheckSpec): string {
  let id = identities.get(spec);
  if (id === undefined) {
    const { rise: _rise, fall: _fall, ...rest } = spec;
    id = canonicalJson(rest);
    identities.set(spec, id);
  }
  return id;
}

export function checkContext(service: ServiceConfig): CheckContext {
  return service.kind === 'address'
    ? { serviceName: service.name, vip: service.vip, fwmark: null, protocol: service.protocol }
    : { serviceName: service.name, vip: null, fwmark: service.fwmark, protocol: 'fwmark' };
}

/**
 * Identity of a distinct probe: target host + check port + the check spec minus rise/fall.
 *
 * The service is deliberately NOT part of the key for tcp/http/https/dns/none: the same backend
 * with the same check listed under several virtual services is probed once per interval and the
 * result fans out to every service (keepalived #2111, #2358 ask for this). Interval and timeout
 * ARE part of the key, so two services asking for different intervals get two probes.
 *
 * Checks whose checker reads the service (misc: the command's environment, LVSD_SERVICE, VIP, real
 * address and port, ... differs per service, so the command may legitimately answer differently;
 * checks/per-service.ts) are keyed per service and per real. That also makes a MISC dynamic
 * weight (exit 2..255 -> weight code-2) belong to exactly one (service, real) pair: the tracker
 * stores it as that pair's weight override, and it never leaks into another service that lists the
 * same real.
 */
export function probeKey(real: RealConfig, service: ServiceConfig, spec: CheckSpec = real.check): string {
  const base = `${formatHost(real.address)}:${spec.port} ${specIdentity(spec)}`;
  if (!probedPerService(spec.type)) return base;
  return `${base} ${real.key} ${canonicalJson(checkContext(service))}`;
}

/** One (service, real, check) of a service's plan: the probe it belongs to and the member it adds. */
interface Fragment {
  readonly key: string;
  readonly target: CheckTarget;
  readonly member: ProbeMember;
}

/**
 * Each service's share of the plan, computed once per ServiceConfig object. Reloads reuse the
 * ServiceConfig of every unchanged file (config/load.ts), so a reload computes the probe keys of
 * the changed services only, and the plan of an unchanged real holds the very same key strings,
 * targets and members as before (Map lookups by those keys compare by identity).
 */
const fragments = new WeakMap<ServiceConfig, readonly Fragment[]>();

function fragmentsOf(service: ServiceConfig): readonly Fragment[] {
  let list = fragments.get(service);
  if (list !== undefined) return list;
  const out: Fragment[] = [];
  let context: CheckContext | null = null;
  const add = (key: string, real: RealConfig, spec: CheckSpec, part: ProbeMember['part']): void => {
    context ??= checkContext(service);
    const member: ProbeMember = {
      serviceKey: service.key,
      realKey: real.key,
      rise: spec.rise,
      fall: spec.fall,
      ...(part === undefined ? {} : { part }),
    };
    out.push({ key, target: { address: real.address, spec, context }, member });
  };
  for (const real of service.reals) {
    const parts = real.checks === undefined ? null : distinctChecks(real, service);
    if (parts === null || parts.length === 1) {
      add(probeKey(real, service), real, real.check, undefined);
      continue;
    }
    for (const [index, [key, spec]] of parts.entries()) add(key, real, spec, { index, of: parts.length });
  }
  list = out;
  fragments.set(service, list);
  return list;
}

/**
 * Every distinct probe of a snapshot with the (service, real) pairs it feeds.
 * Sorry servers are never probed: they are used blind while no real is healthy (as ldirectord does).
 * `none` checks are planned like any other so every real gets its first result the same way.
 * A probe shared by several services runs with the target of its first member (config order).
 */
export function buildProbePlan(snapshot: Snapshot): Map<string, ProbePlanEntry> {
  const plan = new Map<string, { target: CheckTarget; members: ProbeMember[] }>();
  for (const service of snapshot.services) {
    for (const f of fragmentsOf(service)) {
      const entry = plan.get(f.key);
      if (entry) entry.members.push(f.member);
      else plan.set(f.key, { target: f.target, members: [f.member] });
    }
  }
  return plan;
}

/** A real's checks by probe key; a check listed twice is one check (its probe runs once anyway). */
function distinctChecks(real: RealConfig, service: ServiceConfig): [string, CheckSpec][] {
  const byKey = new Map<string, CheckSpec>();
  for (const spec of real.checks ?? [real.check]) {
    const key = probeKey(real, service, spec);
    if (!byKey.has(key)) byKey.set(key, spec);
  }
  return [...byKey];
}
