// `ipvsadm -Ln` listings laid out byte for byte as ipvsadm 1.31 prints them (captured in
// test/fixtures/ipvs/list*.txt): the inverse of parseListing, for the in-memory table behind the
// fake ipvsadm. Traffic numbers (--stats, --rate) are not simulated and print as 0.

import type { IpvsServiceHead } from './model.js';
import type { MemoryEntry } from './memory-table.js';
import { ipvsadmEndpoint } from './keys.js';

export type ListingKind = 'plain' | 'stats' | 'rate' | 'thresholds' | 'persistent';

/** Which listing ipvsadm prints for these options (its own precedence when several are given). */
export function listingKind(options: ReadonlySet<string>): ListingKind {
  if (options.has('--stats')) return 'stats';
  if (options.has('--rate')) return 'rate';
  if (options.has('--thresholds')) return 'thresholds';
  if (options.has('--persistent-conn')) return 'persistent';
  return 'plain';
}

const pad = (v: string | number, n: number): string => String(v).padEnd(n);
const num = (v: string | number): string => String(v).padStart(8);
/** ipvsadm prints marks of 2^31 and up as negative numbers (captured: fwmark-high). */
const signedMark = (m: number): number => (m > 0x7fffffff ? m - 2 ** 32 : m);
const FORWARD_NAME = { gate: 'Route', masq: 'Masq', ipip: 'Tunnel' } as const;

function title(s: IpvsServiceHead): string {
  if (s.kind === 'fwmark') return `FWM  ${signedMark(s.fwmark)}${s.family === 6 ? ' IPv6' : ''}`;
  return `${s.protocol.toUpperCase().padEnd(4)} ${ipvsadmEndpoint(s.vip)}`;
}

function flags(s: IpvsServiceHead): string {
  const extra = (flag: string): string | null => {
    const i = s.extraArgs.indexOf(flag);
    return i >= 0 ? (s.extraArgs[i + 1] ?? null) : null;
  };
  let out = ` ${s.scheduler}`;
  const b = extra('-b');
  if (b) out += ` (${b})`;
  if (s.persistence) {
    out += ` persistent ${s.persistence.timeoutS}`;
    if (s.persistence.netmask !== (s.family === 6 ? '128' : '255.255.255.255')) out += ` mask ${s.persistence.netmask}`;
  }
  const pe = extra('--pe');
  if (pe) out += ` pe ${pe}`;
  if (s.extraArgs.includes('-o')) out += ' ops';
  return out;
}

/**
 * The listing of `entries` (already in ipvsadm's order). `only` selects one service by key, as
 * `ipvsadm -Ln -t VIP:PORT` does: then the version banner is left out, like ipvsadm does.
 */
export function formatListing(entries: readonly MemoryEntry[], kind: ListingKind, only: string | null = null): string {
  let out = only === null ? 'IP Virtual Server version 1.2.1 (size=4096)\n' : '';
  const head = pad('Prot LocalAddress:Port', 33);
  const traffic = kind === 'stats' || kind === 'rate';
  if (kind === 'stats') out += `${head} ${['Conns', 'InPkts', 'OutPkts', 'InBytes', 'OutBytes'].map(num).join(' ')}\n  -> RemoteAddress:Port\n`;
  else if (kind === 'rate') out += `${head} ${['CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS'].map(num).join(' ')}\n  -> RemoteAddress:Port\n`;
  else if (kind === 'thresholds') out += `${head} Uthreshold Lthreshold ActiveConn InActConn \n  -> RemoteAddress:Port\n`;
  else if (kind === 'persistent') out += `${head} Weight    PersistConn ActiveConn InActConn \n  -> RemoteAddress:Port\n`;
  else out += 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';
  const zeros = [0, 0, 0, 0, 0].map(num).join(' ');
  for (const { head: s, reals } of entries) {
    if (only !== null && s.key !== only) continue;
    out += traffic ? `${pad(title(s), 33)} ${zeros}\n` : `${title(s)}${flags(s)}\n`;
    for (const { real: r, counters: c } of reals) {
      const a = `  -> ${pad(ipvsadmEndpoint(r.address), 28)}`;
      const [act, inact] = [c.activeConns, c.inactiveConns];
      if (traffic) out += `${a} ${zeros}\n`;
      else if (kind === 'thresholds') out += `${a} ${pad(r.upperThreshold, 10)} ${pad(r.lowerThreshold, 10)} ${pad(act, 10)} ${pad(inact, 10)}\n`;
      else if (kind === 'persistent') out += `${a} ${pad(r.weight, 9)} ${pad(c.persistentConns, 11)} ${pad(act, 10)} ${pad(inact, 10)}\n`;
      else out += `${a} ${pad(FORWARD_NAME[r.forwarding], 7)} ${pad(r.weight, 6)} ${pad(act, 10)} ${pad(inact, 10)}\n`;
    }
  }
  return out;
}
