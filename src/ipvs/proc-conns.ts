// Connection counters of every IPVS real from /proc/net/ip_vs: ActiveConn and InActConn without
// running ipvsadm (a process per read). The kernel prints addresses and ports in hex there
// (net/netfilter/ipvs/ip_vs_ctl.c, ip_vs_info_seq_show):
//
//   TCP  C000020A:0050 wlc
//     -> 0A00000B:0050      Masq    1      3          12
//   UDP  [2001:0db8:0000:0000:0000:0000:0000:0035]:0035 rr
//     -> [2001:0db8:0000:0000:0000:0000:0000:0011]:0035      Route   1      0          0
//   FWM  0000000C wlc persistent 300 FFFFFFFF
//
// A fwmark service's line does not say its family; it is taken from its reals (a mark with no
// real needs no counters). Anything else unexpected is an error: the caller then runs ipvsadm.

import { readFile } from 'node:fs/promises';
import { normaliseIp } from '../config/endpoint.js';
import type { Family, Protocol } from '../config/model.js';
import { LvsdError } from '../errors.js';
import type { RealCounters, TableCounters } from './model.js';
import { realKey, serviceKey } from '../model/keys.js';

/** Where the kernel lists the table; LVSD_PROC_NET_IP_VS overrides it ('' = never read it). */
export function procIpVsPath(): string | null {
  const env = process.env.LVSD_PROC_NET_IP_VS;
  if (env === undefined) return '/proc/net/ip_vs';
  return env === '' ? null : env;
}

/** Read and parse the file; rejects when it cannot be read or parsed. */
export async function readProcConnections(path: string): Promise<TableCounters> {
  return parseProcIpVs(await readFile(path, 'utf8'));
}

const SERVICE = /^(TCP|UDP|SCTP)\s+(\S+)\s/;
const FWMARK = /^FWM\s+([0-9A-Fa-f]{8})\s/;
const REAL = /^\s+->\s+(\S+)\s+\S+\s+(-?\d+)\s+(\d+)\s+(\d+)\s*$/;

function bad(n: number, line: string, why: string): LvsdError {
  return new LvsdError('LVSD_IPVS_PARSE', `/proc/net/ip_vs line ${n}: ${why}: "${line}"`);
}

/** "0A00000B:0050" or "[2001:0db8:...:0011]:0035". */
function hexEndpoint(text: string): { host: string; family: Family; port: number } | null {
  const v6 = /^\[([0-9a-fA-F:]+)\]:([0-9A-Fa-f]{4})$/.exec(text);
  if (v6) {
    const ip = normaliseIp(v6[1]!);
    return ip && ip.family === 6 ? { ...ip, port: parseInt(v6[2]!, 16) } : null;
  }
  const v4 = /^([0-9A-Fa-f]{8}):([0-9A-Fa-f]{4})$/.exec(text);
  if (!v4) return null;
  const n = parseInt(v4[1]!, 16);
  return { host: `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`, family: 4, port: parseInt(v4[2]!, 16) };
}

export function parseProcIpVs(text: string): TableCounters {
  const out = new Map<string, Map<string, RealCounters>>();
  // A fwmark service is keyed once its first real tells the family.
  let current: { key: string | null; fwmark: number | null; family: Family | null; reals: Map<string, RealCounters> } | null = null;
  const close = (n: number, line: string): void => {
    // A fwmark service without reals cannot be keyed (no family) and has nothing to count.
    if (!current || (current.key === null && current.reals.size === 0)) return;
    const key = current.key ?? serviceKey({ kind: 'fwmark', fwmark: current.fwmark!, family: current.family! });
    if (out.has(key)) throw bad(n, line, `service ${key} listed twice`);
    out.set(key, current.reals);
  };
  const lines = text.split('\n');
  let header = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trimEnd();
    if (line === '') continue;
    if (line.startsWith('IP Virtual Server version') || line.startsWith('Prot LocalAddress:Port')) continue;
    if (/^\s+->\s+RemoteAddress:Port/.test(line)) {
      if (!/ActiveConn\s+InActConn$/.test(line)) throw bad(i + 1, line, 'unexpected columns');
      header = true;
      continue;
    }
    if (!header) throw bad(i + 1, line, 'no header');
    const svc = SERVICE.exec(line);
    const fwm = svc ? null : FWMARK.exec(line);
    if (svc || fwm) {
      close(i + 1, line);
      if (svc) {
        const ep = hexEndpoint(svc[2]!);
        if (!ep) throw bad(i + 1, line, 'bad virtual service address');
        current = { key: serviceKey({ kind: 'address', protocol: svc[1]!.toLowerCase() as Protocol, vip: ep }), fwmark: null, family: ep.family, reals: new Map() };
      } else {
        current = { key: null, fwmark: parseInt(fwm![1]!, 16), family: null, reals: new Map() };
      }
      continue;
    }
    const real = REAL.exec(line);
    if (!real || !current) throw bad(i + 1, line, 'not a service or real line');
    const ep = hexEndpoint(real[1]!);
    if (!ep) throw bad(i + 1, line, 'bad real server address');
    if (current.key === null) {
      if (current.family !== null && current.family !== ep.family) throw bad(i + 1, line, 'a fwmark service with reals of both families');
      current.family = ep.family;
    }
    current.reals.set(realKey(ep), { activeConns: Number(real[3]), inactiveConns: Number(real[4]), persistentConns: 0 });
  }
  close(lines.length, '');
  return out;
}
