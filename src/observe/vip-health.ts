// Health of a VIP for DNS load balancers (PowerDNS ifurlextup, gdnsd extfile): pure functions of the
// configured services and their quorum. Seesaw's rule: a VIP is healthy when every address service
// on it (any port, any protocol) has quorum; fwmark services have no address and do not count.

import { normaliseIp } from '../config/endpoint.js';
import type { ServiceConfig } from '../config/model.js';

export interface VipServiceHealth {
  readonly name: string;
  readonly quorum: boolean;
}

export interface VipHealth {
  /** Normalised address: dotted IPv4 or compressed lower-case IPv6. */
  readonly vip: string;
  readonly healthy: boolean;
  /** The services on that address, in configuration order. */
  readonly services: readonly VipServiceHealth[];
}

/** Quorum of a service by key as of the last committed reconcile pass (false before the first one). */
export type QuorumOf = (serviceKey: string) => boolean;

/** The normalised form of an address written in a URL path segment, or null if it is not an IP. */
export function parseVipAddress(text: string): string | null {
  // "[2001:db8::10]" is accepted too: some operators copy the bracketed form from a key.
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  return normaliseIp(bare)?.host ?? null;
}

/** Every VIP of the snapshot with its health, sorted by address text (stable file output). */
export function vipHealthAll(services: readonly ServiceConfig[], quorumOf: QuorumOf): VipHealth[] {
  const byVip = new Map<string, VipServiceHealth[]>();
  for (const s of services) {
    if (s.kind !== 'address') continue;
    const list = byVip.get(s.vip.host) ?? [];
    list.push({ name: s.name, quorum: quorumOf(s.key) });
    byVip.set(s.vip.host, list);
  }
  return [...byVip]
    .map(([vip, list]) => ({ vip, healthy: list.every((x) => x.quorum), services: list }))
    .sort((a, b) => (a.vip < b.vip ? -1 : a.vip > b.vip ? 1 : 0));
}

/** One VIP's health; null when no address service uses that (normalised) address. */
export function vipHealthOf(services: readonly ServiceConfig[], vip: string, quorumOf: QuorumOf): VipHealth | null {
  const mine = services.filter((s) => s.kind === 'address' && s.vip.host === vip);
  if (mine.length === 0) return null;
  return vipHealthAll(mine, quorumOf)[0]!;
}

/**
 * gdnsd extfile plugin data: one "NAME => UP" / "NAME => DOWN" line per VIP, the VIP's address as
 * the NAME (what a gdnsd resource lists), no TTL (gdnsd's def_ttl applies).
 */
export function renderExtfile(vips: readonly VipHealth[]): string {
  return vips.map((v) => `${v.vip} => ${v.healthy ? 'UP' : 'DOWN'}\n`).join('');
}
