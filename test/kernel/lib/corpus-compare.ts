// Comparing one corpus file's IPVS table under the original tool with lvsd's on the conversion:
// normalised `ipvsadm -Sn` lines per service, the differing services, whether convert warned about
// them, and test/corpus/known-differences (FILE, SERVICE KEY, reason; tab-separated).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Diagnostic, OutService } from '../../../src/convert/model.js';
import { corpusDir } from '../../helpers/corpus.js';
import { lineKey } from './ipvsadm.js';
import type { Table } from './ipvsadm.js';

/** The -Sn lines, blanks collapsed, sorted. Services, scheduler, flags, persistence, netmask, forwarding, weights. */
export function normalisedLines(sn: string): string[] {
  return sn
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.trim().split(/\s+/).join(' '))
    .sort();
}

export interface ServiceDiff {
  readonly key: string;
  /** Lines only the original tool's table has. */
  readonly peerOnly: readonly string[];
  /** Lines only lvsd's table has. */
  readonly lvsdOnly: readonly string[];
}

export function diffTables(peer: readonly string[], lvsd: readonly string[]): ServiceDiff[] {
  const p = new Set(peer);
  const l = new Set(lvsd);
  const byKey = new Map<string, { peerOnly: string[]; lvsdOnly: string[] }>();
  const entry = (line: string): { peerOnly: string[]; lvsdOnly: string[] } => {
    const key = lineKey(line) ?? line;
    let e = byKey.get(key);
    if (e === undefined) byKey.set(key, (e = { peerOnly: [], lvsdOnly: [] }));
    return e;
  };
  for (const line of peer) if (!l.has(line)) entry(line).peerOnly.push(line);
  for (const line of lvsd) if (!p.has(line)) entry(line).lvsdOnly.push(line);
  return [...byKey].map(([key, e]) => ({ key, ...e })).sort((a, b) => a.key.localeCompare(b.key));
}

/** Services, schedulers, reals with forwarding and weight: what /proc/net/ip_vs shows, as one string. */
export function signature(table: Table): string {
  return table.services
    .map((s) => `${s.key} ${s.scheduler} ${s.reals.map((r) => `${r.address}/${r.forwarding}/${r.weight}`).sort().join(',')}`)
    .sort()
    .join('\n');
}

/** "tcp:10.10.10.2:1358" -> ["10.10.10.2:1358", "10.10.10.2 1358"]; "fwmark:1:v4" -> ["fwmark 1"]. */
function mentions(key: string): string[] {
  const fw = /^fwmark:(\d+):/.exec(key);
  if (fw) return [`fwmark ${fw[1]}`, `fwmark=${fw[1]}`, `virtual=${fw[1]}`];
  const endpoint = key.slice(key.indexOf(':') + 1);
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(endpoint);
  if (!m) return [endpoint];
  return [endpoint, `${m[1]} ${m[2]}`, `${m[1]}:${m[2]}`];
}

/**
 * Whether convert warned about a service: a warning inside the source block of a converted service
 * with that key (from its line up to the next service's), or one naming its address or fwmark.
 */
export function warnedAbout(key: string, services: readonly OutService[], diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const warnings = diagnostics.filter((d) => d.severity === 'warning');
  const starts = [...new Set(services.map((s) => s.line))].sort((a, b) => a - b);
  const blocks = services
    .filter((s) => serviceKey(s) === key)
    .map((s) => [s.line, starts.find((l) => l > s.line) ?? Number.MAX_SAFE_INTEGER] as const);
  const names = mentions(key);
  return warnings.filter((w) => blocks.some(([from, to]) => w.line >= from && w.line < to) || names.some((n) => w.message.includes(n)));
}

/** The IPVS key of a converted service ("tcp:ADDR:PORT" / "fwmark:N:v4|v6"), as parseTable writes it. */
export function serviceKey(s: OutService): string {
  const v = s.value;
  if (v['fwmark'] !== undefined) {
    // A fwmark service takes its family from its first real (or sorry server).
    const first = [...(Array.isArray(v['reals']) ? v['reals'] : []), ...(Array.isArray(v['sorry']) ? v['sorry'] : [])][0];
    const address = first !== undefined && typeof first === 'object' && !Array.isArray(first) ? String(first['address'] ?? '') : '';
    return `fwmark:${String(v['fwmark'])}:${address.split(':').length > 2 ? 'v6' : 'v4'}`;
  }
  return `${String(v['protocol'] ?? 'tcp')}:${String(v['address'])}`;
}

export interface KnownDifference {
  readonly file: string;
  /** A service key, or "*" for the whole file (refusals). */
  readonly key: string;
  readonly reason: string;
}

/** test/corpus/known-differences: "FILE<TAB>KEY<TAB>reason" lines; # comments. Every entry needs a reason. */
export function knownDifferences(): KnownDifference[] {
  const text = readFileSync(join(corpusDir, 'known-differences'), 'utf8');
  const out: KnownDifference[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    if (raw.trim() === '' || raw.startsWith('#')) continue;
    const [file, key, reason] = raw.split('\t');
    if (!file || !key || !reason || reason.trim().length < 20) throw new Error(`known-differences:${i + 1}: want FILE<TAB>KEY<TAB>reason (a reason, not a word)`);
    out.push({ file, key, reason: reason.trim() });
  }
  return out;
}
