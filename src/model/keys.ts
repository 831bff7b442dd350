// The identities lvsd keys its state by, and the one way to make each: a service's kernel key, a
// real's key (its address as the kernel lists it) and the (service, real) pair id.

import { formatEndpoint, formatHost } from './endpoint.js';
import type { Endpoint, Family, Protocol } from './endpoint.js';

declare const brand: unique symbol;
type Branded<B extends string> = string & { readonly [brand]: B };

/** "tcp:192.0.2.10:80", "udp:[2001:db8::10]:53", "fwmark:12:v4": the service's kernel identity. */
export type ServiceKey = Branded<'ServiceKey'>;
/** "10.0.0.11:80", "[2001:db8::11]:80", "10.0.0.11" (a fwmark real without a port). */
export type RealKey = Branded<'RealKey'>;
/** One (service, real) pair: what health, admin state, drains, slow start and metrics are keyed by. */
export type PairId = Branded<'PairId'>;

export type ServiceTarget =
  | { readonly kind: 'address'; readonly protocol: Protocol; readonly vip: Endpoint }
  | { readonly kind: 'fwmark'; readonly fwmark: number; readonly family: Family };

/** A VIP port of 0 (persistent wildcard service) stays explicit ("tcp:192.0.2.12:0") so the key
 *  always names a port. */
export function serviceKey(t: ServiceTarget): ServiceKey {
  if (t.kind === 'fwmark') return `fwmark:${t.fwmark}:v${t.family}` as ServiceKey;
  return `${t.protocol}:${formatHost(t.vip)}:${t.vip.port}` as ServiceKey;
}

/** Port 0 (fwmark real without a port) prints bare. */
export function realKey(address: Endpoint): RealKey {
  return formatEndpoint(address) as RealKey;
}

// A newline can be in neither key, so the pair splits back unambiguously.
const SEP = '\n';

/** The pair id "SERVICE\nREAL". Takes plain strings: keys also arrive as text (views, the control socket). */
export function pairId(service: string, real: string): PairId {
  return `${service}${SEP}${real}` as PairId;
}

/** The service and real keys of a pair id. */
export function pairParts(id: PairId): readonly [ServiceKey, RealKey] {
  const cut = id.indexOf(SEP);
  return [id.slice(0, cut) as ServiceKey, id.slice(cut + 1) as RealKey];
}
