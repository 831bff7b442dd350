// The virtual addresses of keepalived virtual_server blocks: an address and port, a firewall mark,
// or a virtual_server_group whose entries are addresses, ranges (A-B, A-LAST, A/nn) and marks.

import { isIPv4 } from 'node:net';
import type { ParseError } from './model.js';
import type { KNode } from './keepalived-parse.js';
import { familyOf } from './common.js';
import { mark } from './ledger.js';

export const GROUP_LIMIT = 4096;
/** Virtual services one file may expand to (groups of ranges): far above any real director. */
const MAX_SERVICES = 100_000;

export interface Vip {
  fwmark?: number;
  host?: string;
  /** 0: every port (a persistent all-port service). */
  port: number;
  /** The statement it came from (the virtual_server, or its group entry). */
  at: KNode;
}

/** keepalived's port: a number 0..65535; absent is 0 (inet_stosockaddr without a port). */
function portOf(text: string | undefined): number | null {
  if (text === undefined) return 0;
  return /^\d{1,5}$/.test(text) && Number(text) <= 65535 ? Number(text) : null;
}

/** The virtual addresses of one virtual_server: itself, or each entry of its group. */
export function virtualsOf(n: KNode, groups: Map<string, KNode>, errors: ParseError[], limit: { services: number }): Vip[] {
  const [a, b] = n.args;
  const err = (message: string): Vip[] => (errors.push({ file: n.file, line: n.line, col: n.col, message }), []);
  if (a === 'fwmark') {
    if (!b || !/^\d+$/.test(b) || Number(b) < 1 || Number(b) > 0xffffffff) return err(`virtual_server fwmark needs a mark from 1 to 4294967295, got ${JSON.stringify(b ?? '')}`);
    limit.services++;
    return [{ fwmark: Number(b), port: 0, at: n }];
  }
  if (a === 'group') {
    const g = b ? groups.get(b) : undefined;
    if (!g) return err(`virtual_server group ${b ?? ''}: no virtual_server_group with that name`);
    mark(g, 'mapped');
    const out: Vip[] = [];
    for (const e of g.children ?? []) {
      mark(e, 'mapped');
      if (e.keyword === 'fwmark') {
        const m = e.args[0];
        if (!m || !/^\d+$/.test(m) || Number(m) < 1 || Number(m) > 0xffffffff) {
          errors.push({ file: e.file, line: e.line, col: e.col, message: `fwmark needs a mark from 1 to 4294967295, got ${JSON.stringify(m ?? '')}` });
          continue;
        }
        out.push({ fwmark: Number(m), port: 0, at: e });
        continue;
      }
      const hosts = expandRange(e.keyword);
      if (!hosts) {
        errors.push({ file: e.file, line: e.line, col: e.col, message: `"${e.keyword}" is not an address, an address range (A-B, A-LAST) or a prefix (A/nn)` });
        continue;
      }
      if (hosts.length > GROUP_LIMIT) {
        errors.push({ file: e.file, line: e.line, col: e.col, message: `"${e.keyword}" expands to ${hosts.length} addresses (at most ${GROUP_LIMIT})` });
        continue;
      }
      const port = portOf(e.args[0]);
      if (port === null) {
        errors.push({ file: e.file, line: e.line, col: e.col, message: `${JSON.stringify(e.args[0])} is not a port (0 to 65535; 0 or none is every port)` });
        continue;
      }
      if ((limit.services += hosts.length) > MAX_SERVICES) {
        errors.push({ file: e.file, line: e.line, col: e.col, message: `too large: the groups expand to more than ${MAX_SERVICES.toLocaleString('en')} virtual services` });
        return out;
      }
      for (const h of hosts) out.push({ host: h, port, at: e });
    }
    return out;
  }
  if (!a || familyOf(a) === null) return err(`virtual_server takes an IP address (and port), "fwmark N" or "group NAME"; got ${JSON.stringify(a ?? '')}`);
  const port = portOf(b);
  if (port === null) return err(`${JSON.stringify(b)} is not a port (0 to 65535; 0 or none is every port)`);
  limit.services++;
  return [{ host: a, port, at: n }];
}

/** 192.168.200.3-10, 192.168.200.250-192.168.201.10, 192.168.202.8/29, 2001:db8::1-a (last group). */
export function expandRange(text: string): string[] | null {
  if (familyOf(text) !== null) return [text];
  const cidr = /^([\d.]+)\/(\d{1,2})$/.exec(text);
  if (cidr && isIPv4(cidr[1]!)) {
    const bits = Number(cidr[2]);
    if (bits > 32) return null;
    const size = 2 ** (32 - bits);
    const base = Math.floor(v4(cidr[1]!) / size) * size;
    return Array.from({ length: Math.min(size, GROUP_LIMIT + 1) }, (_, i) => fromV4(base + i));
  }
  const dash = text.lastIndexOf('-');
  if (dash < 0) return null;
  const from = text.slice(0, dash);
  const to = text.slice(dash + 1);
  if (isIPv4(from)) {
    const end = isIPv4(to) ? v4(to) : /^\d{1,3}$/.test(to) ? Math.floor(v4(from) / 256) * 256 + Number(to) : NaN;
    if (!Number.isFinite(end) || end < v4(from) || (!isIPv4(to) && Number(to) > 255)) return null;
    return Array.from({ length: Math.min(end - v4(from) + 1, GROUP_LIMIT + 1) }, (_, i) => fromV4(v4(from) + i));
  }
  if (familyOf(from) === 6 && /^[0-9a-f]{1,4}$/i.test(to)) {
    const full = new URL(`http://[${from}]/`).hostname.slice(1, -1);
    const lastColon = full.lastIndexOf(':');
    const prefix = full.slice(0, lastColon + 1);
    const start = parseInt(full.slice(lastColon + 1) || '0', 16);
    const end = parseInt(to, 16);
    if (end < start) return null;
    return Array.from({ length: Math.min(end - start + 1, GROUP_LIMIT + 1) }, (_, i) => `${prefix}${(start + i).toString(16)}`);
  }
  return null;
}

function v4(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function fromV4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}
