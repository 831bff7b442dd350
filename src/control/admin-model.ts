// Admin state, the operator's say over a real: its three states, the targets an entry can name, and
// the pure rules for matching a target and combining several sources (the most restrictive wins).

import { formatEndpoint, normaliseIp, parseEndpoint } from '../config/endpoint.js';
import type { Family } from '../config/model.js';

/** ready: normal; drain: weight 0, stays in the table; maint: weight 0, removed when idle (like a removal). */
export type AdminState = 'ready' | 'drain' | 'maint';

export const ADMIN_STATES: readonly AdminState[] = ['ready', 'drain', 'maint'];

const RANK: Readonly<Record<AdminState, number>> = { ready: 0, drain: 1, maint: 2 };

/** The more restrictive of two states. */
export function stricter(a: AdminState, b: AdminState): AdminState {
  return RANK[b] > RANK[a] ? b : a;
}

/** A host, with or without a port (port null = every port of that host). */
export interface HostSpec {
  readonly host: string;
  readonly family: Family;
  readonly port: number | null;
}

/**
 * What one admin entry applies to. Services are named by `name` (what an operator types and what
 * a maintenance file is called); a real by its address.
 */
export type AdminTarget =
  | { readonly kind: 'service'; readonly service: string }
  | { readonly kind: 'real'; readonly service: string; readonly real: HostSpec }
  | { readonly kind: 'host'; readonly real: HostSpec };

/** Where an entry comes from; the state of a real is the most restrictive over all sources. */
export type AdminSourceKind = 'operator' | 'maintenance' | 'agent';

export interface AdminEntry {
  readonly target: AdminTarget;
  readonly state: Exclude<AdminState, 'ready'>;
  readonly source: AdminSourceKind;
  /** Who or what set it: "socket uid 0 (root)", "file /etc/lvsd/maintenance/10.0.0.11", "agent 10.0.0.11:8081". */
  readonly by: string;
  /** Epoch ms. */
  readonly since: number;
}

/** What a target is matched against: one configured real of one service. */
export interface RealRef {
  readonly service: string;
  readonly host: string;
  readonly port: number;
}

export function hostMatches(spec: HostSpec, host: string, port: number): boolean {
  return spec.host === host && (spec.port === null || spec.port === port);
}

export function targetMatches(target: AdminTarget, ref: RealRef): boolean {
  switch (target.kind) {
    case 'service':
      return target.service === ref.service;
    case 'real':
      return target.service === ref.service && hostMatches(target.real, ref.host, ref.port);
    case 'host':
      return hostMatches(target.real, ref.host, ref.port);
  }
}

/** The combined state of one real and the entries that make it so (empty when ready). */
export interface AdminVerdict {
  readonly state: AdminState;
  readonly entries: readonly AdminEntry[];
}

export const READY: AdminVerdict = { state: 'ready', entries: [] };

export function combine(entries: readonly AdminEntry[], ref: RealRef): AdminVerdict {
  let state: AdminState = 'ready';
  const matching: AdminEntry[] = [];
  for (const e of entries) {
    if (!targetMatches(e.target, ref)) continue;
    matching.push(e);
    state = stricter(state, e.state);
  }
  return matching.length === 0 ? READY : { state, entries: matching };
}

/** "10.0.0.11", "10.0.0.11:80", "[2001:db8::1]", "[2001:db8::1]:80". */
export function formatHostSpec(spec: HostSpec): string {
  return formatEndpoint({ host: spec.host, family: spec.family, port: spec.port ?? 0 });
}

/** "service web", "web 10.0.0.11:80", "host 10.0.0.11" — how targets appear in logs and replies. */
export function formatTarget(target: AdminTarget): string {
  switch (target.kind) {
    case 'service':
      return `service ${target.service}`;
    case 'real':
      return `${target.service} ${formatHostSpec(target.real)}`;
    case 'host':
      return `host ${formatHostSpec(target.real)}`;
  }
}

/** Identity of a target, so the same target set twice by one source replaces the first. */
export function targetId(target: AdminTarget): string {
  return target.kind === 'host' ? `host ${formatHostSpec(target.real)}` : formatTarget(target);
}

/**
 * Parse `IP`, `IP:PORT`, `[IPv6]`, `[IPv6]:PORT` or a bare IPv6 address. Returns null when the text
 * is not an address (the caller decides whether it is then a service name or an error).
 */
export function parseHostSpec(text: string): HostSpec | null {
  const bare = normaliseIp(text);
  if (bare) return { ...bare, port: null };
  const r = parseEndpoint(text, true);
  if (!r.ok) return null;
  return { host: r.endpoint.host, family: r.endpoint.family, port: r.endpoint.port === 0 ? null : r.endpoint.port };
}
