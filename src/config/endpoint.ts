// Parsing and formatting of "ip:port" / "[ipv6]:port" endpoints, normalised so equal addresses compare equal.

import { isIPv4, isIPv6 } from 'node:net';
import type { Endpoint, Family } from './model.js';

// Formatting lives with the type in model/ (identities are made from it); kept reachable here.
export { formatEndpoint, formatHost } from '../model/endpoint.js';

/** Canonical text of an IP address (lower-case, compressed IPv6), or null if it is not one. */
export function normaliseIp(text: string): { host: string; family: Family } | null {
  if (isIPv4(text)) {
    // Reject leading zeros ("010.0.0.1") that some tools read as octal.
    if (text.split('.').some((p) => p.length > 1 && p.startsWith('0'))) return null;
    return { host: text, family: 4 };
  }
  if (isIPv6(text) && !text.includes('%')) {
    // URL's host parser gives the RFC 5952 canonical form.
    const host = new URL(`http://[${text}]/`).hostname.slice(1, -1);
    return { host, family: 6 };
  }
  return null;
}

export type EndpointParse = { ok: true; endpoint: Endpoint } | { ok: false; error: string };

/**
 * Parse "ip:port", "[ipv6]:port", or, when `portOptional`, a bare "ip" / "[ipv6]" (port 0).
 * `zeroPort`: ":0" is a port too (a service address for every port; its caller requires persistence).
 */
export function parseEndpoint(text: string, portOptional = false, zeroPort = false): EndpointParse {
  let hostText: string;
  let portText: string | null;
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracket) {
    hostText = bracket[1]!;
    portText = bracket[2] ?? null;
  } else if (text.split(':').length > 2) {
    return { ok: false, error: `IPv6 address must be written in brackets, as "[${text}]:PORT"` };
  } else {
    const i = text.lastIndexOf(':');
    hostText = i < 0 ? text : text.slice(0, i);
    portText = i < 0 ? null : text.slice(i + 1);
  }
  const ip = normaliseIp(hostText);
  if (!ip) return { ok: false, error: `"${hostText}" is not an IP address (host names are not resolved)` };
  if (portText === null) {
    if (portOptional) return { ok: true, endpoint: { ...ip, port: 0 } };
    return { ok: false, error: `"${text}" has no port (write ADDRESS:PORT)` };
  }
  if (zeroPort && /^0{1,5}$/.test(portText)) return { ok: true, endpoint: { ...ip, port: 0 } };
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    return { ok: false, error: `port "${portText}" is not a number from 1 to 65535` };
  }
  return { ok: true, endpoint: { ...ip, port: Number(portText) } };
}
