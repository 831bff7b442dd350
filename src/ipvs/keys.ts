// Identity keys of IPVS services and reals, and endpoints as ipvsadm writes and reads them.

import { formatEndpoint, formatHost, normaliseIp } from '../config/endpoint.js';
import type { Endpoint, Family, Protocol } from '../config/model.js';

export type ServiceTarget =
  | { readonly kind: 'address'; readonly protocol: Protocol; readonly vip: Endpoint }
  | { readonly kind: 'fwmark'; readonly fwmark: number; readonly family: Family };

/** "tcp:192.0.2.10:80", "udp:[2001:db8::10]:53", "fwmark:12:v4". A VIP port of 0 (persistent
 *  wildcard service) stays explicit ("tcp:192.0.2.12:0") so the key always names a port. */
export function serviceKey(t: ServiceTarget): string {
  if (t.kind === 'fwmark') return `fwmark:${t.fwmark}:v${t.family}`;
  return `${t.protocol}:${formatHost(t.vip)}:${t.vip.port}`;
}

/** "10.0.0.11:80", "[2001:db8::11]:80"; port 0 (fwmark real without a port) prints bare. */
export function realKey(address: Endpoint): string {
  return formatEndpoint(address);
}

/** An endpoint as an ipvsadm argument: always with a port, because ipvsadm rejects a bracketed
 *  IPv6 real without one ("illegal real server address[:port] specified"). */
export function ipvsadmEndpoint(e: Endpoint): string {
  return `${formatHost(e)}:${e.port}`;
}

/**
 * Parse an endpoint the way ipvsadm prints it: "10.0.0.1:80", "[2001:db8::1]:0", or without a
 * port ("10.0.0.1", "[2001:db8::1]": port null). Numeric ports only (ipvsadm -n output).
 */
export function parseIpvsEndpoint(
  text: string,
): { host: string; family: Family; port: number | null } | null {
  let hostText: string;
  let portText: string | null = null;
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracket) {
    hostText = bracket[1]!;
    portText = bracket[2] ?? null;
  } else {
    const parts = text.split(':');
    if (parts.length > 2) return null;
    hostText = parts[0]!;
    portText = parts[1] ?? null;
  }
  const ip = normaliseIp(hostText);
  if (!ip) return null;
  if (portText === null) return { ...ip, port: null };
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) return null;
  return { ...ip, port: Number(portText) };
}
