// Parsers for what ipvsadm prints: the `-Sn` rules (the table) and the `-Ln` listings (counters,
// thresholds). Anything unexpected throws LVSD_IPVS_PARSE naming the line.

import { LvsdError } from '../errors.js';
import type { IpvsReal, IpvsService, IpvsServiceHead, IpvsTable, RealCounters, TableCounters } from './model.js';
import { isKnownOption, parseCommandLine, splitLine } from './args.js';
import { parseIpvsEndpoint } from './keys.js';
import { realKey, serviceKey } from '../model/keys.js';
import type { Protocol } from '../config/model.js';

/** A service from its head and reals (spelled out per kind so the union stays exact). */
export function withReals(head: IpvsServiceHead, reals: ReadonlyMap<string, IpvsReal>): IpvsService {
  return head.kind === 'address' ? { ...head, reals } : { ...head, reals };
}

function parseError(what: string, lineNo: number, line: string, why: string): LvsdError {
  return new LvsdError('LVSD_IPVS_PARSE', `${what} line ${lineNo}: ${why}: "${line}"`);
}

/** Options of an `-A` line that ipvsadm may print but this parser does not know, kept verbatim
 *  (with their value when the next token is not an option) so nothing read is lost. */
function takeUnknown(tokens: string[]): { known: string[]; unknown: string[] } {
  const known: string[] = [];
  const unknown: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.startsWith('-') && !isKnownOption(t) && !/^-\d/.test(t)) {
      unknown.push(t);
      const next = tokens[i + 1];
      if (next !== undefined && !next.startsWith('-')) unknown.push(tokens[++i]!);
    } else known.push(t);
  }
  return { known, unknown };
}

/**
 * Parse `ipvsadm -Sn` output into a table, services and reals in the printed order. `-Sn` does not
 * print thresholds (-x/-y), so they read as 0 here; see parseThresholds and withThresholds.
 * Tunnel options other than plain IPIP (GUE, GRE) are kept in IpvsReal.tunnel.
 */
export function parseSave(text: string): IpvsTable {
  const services = new Map<string, { head: IpvsServiceHead; reals: Map<string, IpvsReal> }>();
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    if (line.trim() === '') continue;
    const { known, unknown } = takeUnknown(splitLine(line));
    const parsed = parseCommandLine(known, { savedOutput: true });
    if (parsed.cmd === 'error') throw parseError('ipvsadm -Sn', n + 1, line, parsed.message);
    if (parsed.cmd === 'add-service') {
      if (services.has(parsed.key)) throw parseError('ipvsadm -Sn', n + 1, line, 'service listed twice');
      const head: IpvsServiceHead = { ...parsed.service, extraArgs: [...parsed.service.extraArgs, ...unknown] };
      services.set(parsed.key, { head, reals: new Map() });
    } else if (parsed.cmd === 'add-real') {
      const svc = services.get(parsed.key);
      if (!svc) throw parseError('ipvsadm -Sn', n + 1, line, 'real server before its service');
      if (svc.reals.has(parsed.real.key)) throw parseError('ipvsadm -Sn', n + 1, line, 'real server listed twice');
      svc.reals.set(parsed.real.key, parsed.real);
    } else {
      throw parseError('ipvsadm -Sn', n + 1, line, 'expected an -A or -a rule');
    }
  }
  const out = new Map<string, IpvsService>();
  for (const [key, { head, reals }] of services) out.set(key, withReals(head, reals));
  return { services: out };
}

/** One real's row of an `ipvsadm -Ln` listing: its column values by header name. */
export interface ListingRow {
  readonly serviceKey: string;
  readonly realKey: string;
  readonly columns: ReadonlyMap<string, number>;
}

const SERVICE_LINE = /^(TCP|UDP|SCTP)\s+(\S+)(?:\s|$)/;
/** ipvsadm prints marks of 2^31 and up as negative numbers (captured). */
const FWMARK_LINE = /^FWM\s+(-?\d+)(\s+IPv6)?(?:\s|$)/;
const REAL_LINE = /^\s+->\s+(\S+)\s*(.*)$/;

/** A listing number; without --exact ipvsadm abbreviates large ones ("12K", "3M", "1G"). */
function listingNumber(text: string): number | null {
  const m = /^(\d+)([KMG]?)$/.exec(text);
  if (!m) return null;
  return Number(m[1]) * (m[2] === 'K' ? 1e3 : m[2] === 'M' ? 1e6 : m[2] === 'G' ? 1e9 : 1);
}

/**
 * Parse any `ipvsadm -Ln` listing (plain, --exact, --stats, --rate, --thresholds,
 * --persistent-conn) into per-real rows keyed by the header's column names. The columns are those
 * of the "  -> RemoteAddress:Port" header, or when it has none, those of the "Prot" header.
 */
export function parseListing(text: string): ListingRow[] {
  const rows: ListingRow[] = [];
  let protColumns: string[] | null = null;
  let columns: string[] | null = null;
  let current: string | null = null;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trimEnd();
    if (line === '' || line.startsWith('IP Virtual Server version')) continue;
    if (line.startsWith('Prot LocalAddress:Port')) {
      protColumns = line.split(/\s+/).slice(2);
      continue;
    }
    if (/^\s+->\s+RemoteAddress:Port/.test(line)) {
      const own = line.trim().split(/\s+/).slice(2);
      columns = own.length > 0 ? own : protColumns;
      continue;
    }
    const svc = SERVICE_LINE.exec(line);
    const fwm = FWMARK_LINE.exec(line);
    if (svc) {
      const ep = parseIpvsEndpoint(svc[2]!);
      if (!ep || ep.port === null) throw parseError('ipvsadm -Ln', n + 1, line, 'bad virtual service address');
      const protocol = svc[1]!.toLowerCase() as Protocol;
      current = serviceKey({ kind: 'address', protocol, vip: { host: ep.host, family: ep.family, port: ep.port } });
      continue;
    }
    if (fwm) {
      const mark = Number(fwm[1]);
      current = serviceKey({ kind: 'fwmark', fwmark: mark < 0 ? mark + 2 ** 32 : mark, family: fwm[2] ? 6 : 4 });
      continue;
    }
    const real = REAL_LINE.exec(line);
    if (real) {
      if (!current || !columns) throw parseError('ipvsadm -Ln', n + 1, line, 'real server before a header and service');
      const ep = parseIpvsEndpoint(real[1]!);
      if (!ep || ep.port === null) throw parseError('ipvsadm -Ln', n + 1, line, 'bad real server address');
      const values = real[2]!.split(/\s+/).filter((v) => v !== '');
      if (values.length !== columns.length) throw parseError('ipvsadm -Ln', n + 1, line, `expected ${columns.length} columns`);
      const map = new Map<string, number>();
      columns.forEach((name, i) => {
        const v = listingNumber(values[i]!);
        if (v !== null) map.set(name, v);
      });
      rows.push({ serviceKey: current, realKey: realKey({ host: ep.host, family: ep.family, port: ep.port }), columns: map });
      continue;
    }
    throw parseError('ipvsadm -Ln', n + 1, line, 'unrecognised line');
  }
  return rows;
}

function byService<T>(rows: readonly ListingRow[], pick: (row: ListingRow) => T): Map<string, Map<string, T>> {
  const out = new Map<string, Map<string, T>>();
  for (const row of rows) {
    let reals = out.get(row.serviceKey);
    if (!reals) out.set(row.serviceKey, (reals = new Map()));
    reals.set(row.realKey, pick(row));
  }
  return out;
}

/**
 * Connection counters from `ipvsadm -Ln --exact` or, better, `ipvsadm -Ln --persistent-conn --exact`
 * (the only listing with PersistConn; without it persistentConns is 0).
 */
export function parseCounters(text: string): TableCounters {
  const rows = parseListing(text);
  if (rows.length > 0 && !rows.every((r) => r.columns.has('ActiveConn') && r.columns.has('InActConn'))) {
    throw new LvsdError('LVSD_IPVS_PARSE', 'ipvsadm listing has no ActiveConn/InActConn columns');
  }
  return byService(rows, (r): RealCounters => ({
    activeConns: r.columns.get('ActiveConn')!,
    inactiveConns: r.columns.get('InActConn')!,
    persistentConns: r.columns.get('PersistConn') ?? 0,
  }));
}

export type TableThresholds = ReadonlyMap<string, ReadonlyMap<string, { readonly upper: number; readonly lower: number }>>;

/** Thresholds from `ipvsadm -Ln --thresholds --exact` (the only place ipvsadm shows -x/-y). */
export function parseThresholds(text: string): TableThresholds {
  const rows = parseListing(text);
  if (rows.length > 0 && !rows.every((r) => r.columns.has('Uthreshold') && r.columns.has('Lthreshold'))) {
    throw new LvsdError('LVSD_IPVS_PARSE', 'ipvsadm listing has no Uthreshold/Lthreshold columns');
  }
  return byService(rows, (r) => ({ upper: r.columns.get('Uthreshold')!, lower: r.columns.get('Lthreshold')! }));
}

/** The table with each real's thresholds filled in (reals missing from `thresholds` keep theirs). */
export function withThresholds(table: IpvsTable, thresholds: TableThresholds): IpvsTable {
  const services = new Map<string, IpvsService>();
  for (const [key, svc] of table.services) {
    const t = thresholds.get(key);
    if (!t) {
      services.set(key, svc);
      continue;
    }
    const reals = new Map<string, IpvsReal>();
    for (const [rk, real] of svc.reals) {
      const th = t.get(rk);
      reals.set(rk, th ? { ...real, upperThreshold: th.upper, lowerThreshold: th.lower } : real);
    }
    services.set(key, { ...svc, reals });
  }
  return { services };
}
