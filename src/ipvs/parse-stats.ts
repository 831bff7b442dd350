// Kernel traffic counters of IPVS services and reals, parsed from `ipvsadm -Ln --exact --stats`.

import { LvsdError } from '../errors.js';
import type { Protocol } from '../config/model.js';
import type { TableStats, TrafficStats } from './model.js';
import { parseIpvsEndpoint } from './keys.js';
import { realKey, serviceKey } from '../model/keys.js';

const COLUMNS = { Conns: 'connections', InPkts: 'inPackets', OutPkts: 'outPackets', InBytes: 'inBytes', OutBytes: 'outBytes' } as const;
type Column = keyof typeof COLUMNS;

const SERVICE_LINE = /^(TCP|UDP|SCTP)\s+(\S+)\s+(.*)$/;
// Marks of 2^31 and up print as negative numbers (ipvsadm formats them signed).
const FWMARK_LINE = /^FWM\s+(-?\d+)(\s+IPv6)?\s+(.*)$/;
const REAL_LINE = /^\s+->\s+(\S+)\s+(.*)$/;

/** A listing number; without --exact ipvsadm abbreviates ("12K", "3M", "1G"), so accept those too. */
function listingNumber(text: string): number | null {
  const m = /^(\d+)([KMG]?)$/.exec(text);
  if (!m) return null;
  return Number(m[1]) * (m[2] === 'K' ? 1e3 : m[2] === 'M' ? 1e6 : m[2] === 'G' ? 1e9 : 1);
}

function parseError(n: number, line: string, why: string): LvsdError {
  return new LvsdError('LVSD_IPVS_PARSE', `ipvsadm -Ln --stats line ${n}: ${why}: "${line}"`);
}

function toStats(values: string, columns: readonly Column[], n: number, line: string): TrafficStats {
  const parts = values.trim().split(/\s+/);
  if (parts.length !== columns.length) throw parseError(n, line, `expected ${columns.length} numbers`);
  const out: Record<string, number> = {};
  columns.forEach((c, i) => {
    const v = listingNumber(parts[i]!);
    if (v === null) throw parseError(n, line, `"${parts[i]}" is not a number`);
    out[COLUMNS[c]] = v;
  });
  return out as unknown as TrafficStats;
}

/**
 * Parse `ipvsadm -Ln --exact --stats` (the service and real rows; the columns are taken from the
 * "Prot LocalAddress:Port Conns InPkts OutPkts InBytes OutBytes" header).
 */
export function parseStatsListing(text: string): TableStats {
  const out = new Map<string, { total: TrafficStats; reals: Map<string, TrafficStats> }>();
  let columns: Column[] | null = null;
  let current: Map<string, TrafficStats> | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const line = lines[i]!.trimEnd();
    if (line === '' || line.startsWith('IP Virtual Server') || /^\s+->\s+RemoteAddress:Port/.test(line)) continue;
    if (line.startsWith('Prot LocalAddress:Port')) {
      const names = line.split(/\s+/).slice(2);
      const missing = Object.keys(COLUMNS).filter((c) => !names.includes(c));
      if (missing.length > 0) throw parseError(n, line, `no ${missing.join('/')} column (not a --stats listing?)`);
      columns = names as Column[];
      if (!columns.every((c) => c in COLUMNS)) throw parseError(n, line, 'unexpected column');
      continue;
    }
    const svc = SERVICE_LINE.exec(line);
    const fwm = svc ? null : FWMARK_LINE.exec(line);
    if (svc || fwm) {
      if (!columns) throw parseError(n, line, 'service before the header');
      let key: string;
      let values: string;
      if (svc) {
        const ep = parseIpvsEndpoint(svc[2]!);
        if (!ep || ep.port === null) throw parseError(n, line, 'bad virtual service address');
        const protocol = svc[1]!.toLowerCase() as Protocol;
        key = serviceKey({ kind: 'address', protocol, vip: { host: ep.host, family: ep.family, port: ep.port } });
        values = svc[3]!;
      } else {
        const mark = Number(fwm![1]);
        key = serviceKey({ kind: 'fwmark', fwmark: mark < 0 ? mark + 2 ** 32 : mark, family: fwm![2] ? 6 : 4 });
        values = fwm![3]!;
      }
      current = new Map();
      out.set(key, { total: toStats(values, columns, n, line), reals: current });
      continue;
    }
    const real = REAL_LINE.exec(line);
    if (real) {
      if (!current || !columns) throw parseError(n, line, 'real server before its service');
      const ep = parseIpvsEndpoint(real[1]!);
      if (!ep || ep.port === null) throw parseError(n, line, 'bad real server address');
      current.set(realKey({ host: ep.host, family: ep.family, port: ep.port }), toStats(real[2]!, columns, n, line));
      continue;
    }
    throw parseError(n, line, 'unrecognised line');
  }
  return out;
}
