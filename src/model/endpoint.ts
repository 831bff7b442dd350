// Endpoints (normalised address + port) and the two ways they are written: the key text and the
// host as URLs and ipvsadm arguments take it. Below config/, so identities can be made from them.

export type Protocol = 'tcp' | 'udp' | 'sctp';
export type Family = 4 | 6;

/**
 * A normalised IP endpoint. `host` is dotted IPv4 or compressed lower-case IPv6 without brackets.
 * `port` is 0 only for reals/sorry servers of a fwmark service that gave no port
 * (IPVS then keeps the destination port of each packet).
 */
export interface Endpoint {
  readonly host: string;
  readonly family: Family;
  readonly port: number;
}

/** "10.0.0.1:80", "[2001:db8::1]:80"; a port of 0 is omitted ("10.0.0.1", "[2001:db8::1]"). */
export function formatEndpoint(e: Endpoint): string {
  const host = e.family === 6 ? `[${e.host}]` : e.host;
  return e.port === 0 ? host : `${host}:${e.port}`;
}

/** The host as it appears in a URL or an ipvsadm argument: IPv6 in brackets. */
export function formatHost(e: Pick<Endpoint, 'host' | 'family'>): string {
  return e.family === 6 ? `[${e.host}]` : e.host;
}
