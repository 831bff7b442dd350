// Endpoints as ipvsadm writes and reads them (the service and real keys are in model/keys.ts).

import { formatHost, normaliseIp } from '../config/endpoint.js';
import type { Endpoint, Family } from '../config/model.js';

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
