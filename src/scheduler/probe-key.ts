// Probe identity and the probe plan: which distinct checks to run, and whose health each one feeds.

import { formatHost } from '../config/endpoint.js';
import type { CheckSpec, RealConfig, ServiceConfig, Snapshot } from '../config/model.js';
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
 * MISC checks are keyed per service and per real: the command's environment (LVSD_SERVICE, VIP,
 * real address and port, ...) differs per service, so the command may legitimately answer
 * differently. That also makes a MISC dynamic weight (exit 2..255 -> weight code-2) belong to
 * exactly one (service, real) pair: the tracker stores it as that pair's weight override, and it
 * never leaks into another service that lists the same real.
 */
export function probeKey(real: RealConfig, service: ServiceConfig, spec: CheckSpec = real.check): string {
  const base = `${formatHost(real.address)}:${spec.port} ${specIdentity(spec)}`;
  if (spec.type !== 'misc') return base;
  return `${base} ${real.key} ${canonicalJson(checkContext(service))}`;
}

/**
 * Every distinct probe of a snapshot with the (service, real) pairs it feeds.
 * Sorry servers are never probed: they are used blind while no real is healthy (as ldirectord does).
 * `none` checks are planned like any other so every real gets its first result the same way.
 */
export function buildProbePlan(snapshot: Snapshot): Map<string, ProbePlanEntry> {
  const plan = new Map<string, { target: CheckTarget; members: ProbeMember[] }>();
  for (const service of snapshot.services) {
    let context: CheckContext | null = null;
    for (const real of service.reals) {
      const parts = real.checks === undefined ? null : distinctChecks(real, service);
      if (parts === null || parts.length === 1) {
        context = addMember(plan, probeKey(real, service), real, real.check, service, context, undefined);
        continue;
      }
      for (const [index, [key, spec]] of parts.entries()) {
        context = addMember(plan, key, real, spec, service, context, { index, of: parts.length });
      }
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

function addMember(
  plan: Map<string, { target: CheckTarget; members: ProbeMember[] }>,
  key: string,
  real: RealConfig,
  spec: CheckSpec,
  service: ServiceConfig,
  context: CheckContext | null,
  part: ProbeMember['part'],
): CheckContext | null {
  const member: ProbeMember = {
    serviceKey: service.key,
    realKey: real.key,
    rise: spec.rise,
    fall: spec.fall,
    ...(part === undefined ? {} : { part }),
  };
  const entry = plan.get(key);
  if (entry) {
    entry.members.push(member);
    return context;
  }
  context ??= checkContext(service);
  plan.set(key, { target: { address: real.address, spec, context }, members: [member] });
  return context;
}
