// Reading and changing the kernel IPVS table from kernel tests with the real ipvsadm. The parser
// here is deliberately the test's own (not src/ipvs): assertions should not share the code under test.

import { readFile } from 'node:fs/promises';
import { output, pollUntil, run } from './exec.js';

/** Runs ipvsadm with these arguments and returns its stdout. */
export async function ipvsadm(...args: string[]): Promise<string> {
  return output('ipvsadm', args);
}

/**
 * Applies several ipvsadm commands in one process (`ipvsadm -R`, one command per line without
 * the leading "ipvsadm", e.g. "-A -t 10.20.0.10:80 -s rr"); one exec instead of many.
 * ipvsadm -R (v1.31) goes on after a failing line and still exits 0, so anything it prints on
 * stderr counts as a failure here.
 */
export async function ipvsadmRestore(lines: readonly string[]): Promise<void> {
  const result = await run('ipvsadm', ['-R'], { input: `${lines.join('\n')}\n` });
  if (result.stderr.trim() !== '') {
    throw new Error(`ipvsadm -R: ${result.stderr.trim()}\ninput:\n${lines.join('\n')}`);
  }
}

export type TableForwarding = 'masq' | 'gate' | 'ipip';

export interface TableReal {
  /** "10.10.1.2:80" or "[fd00:10:1::2]:80", as ipvsadm -Sn prints it. */
  readonly address: string;
  readonly forwarding: TableForwarding;
  readonly weight: number;
  /** Anything else on the line (-x, -y, tunnel options). */
  readonly extra: readonly string[];
}

export interface TableService {
  /** "tcp:10.20.0.10:80", "udp:[fd00:20::10]:53", "sctp:...", "fwmark:7:v4" / "fwmark:7:v6". */
  readonly key: string;
  /** The ipvsadm service selector: ["-t", "10.20.0.10:80"] or ["-f", "7"] (plus "-6"). */
  readonly selector: readonly string[];
  readonly scheduler: string;
  /** Persistence timeout in seconds (-p), or null. */
  readonly persistent: number | null;
  /** Other flags as printed (-M, -b, --pe ...). */
  readonly extra: readonly string[];
  readonly reals: readonly TableReal[];
}

export interface Table {
  readonly services: readonly TableService[];
  /** Service by key. */
  readonly byKey: ReadonlyMap<string, TableService>;
}

const PROTOCOL_FLAGS: Readonly<Record<string, string>> = {
  '-t': 'tcp',
  '-u': 'udp',
  '--sctp-service': 'sctp',
};

const FORWARDING_FLAGS: Readonly<Record<string, TableForwarding>> = { '-m': 'masq', '-g': 'gate', '-i': 'ipip' };

/** Parses `ipvsadm -Sn` output. */
export function parseTable(text: string): Table {
  const services: { head: Omit<TableService, 'reals'>; reals: TableReal[] }[] = [];
  const find = new Map<string, TableReal[]>();
  for (const raw of text.split('\n')) {
    const tokens = raw.trim().split(/\s+/).filter((t) => t !== '');
    if (tokens.length === 0) continue;
    const [cmd, ...rest] = tokens;
    const { key, selector, remaining } = takeSelector(rest, raw);
    if (cmd === '-A') {
      let scheduler = '';
      let persistent: number | null = null;
      const extra: string[] = [];
      for (let i = 0; i < remaining.length; i++) {
        const t = remaining[i] ?? '';
        if (t === '-s') scheduler = remaining[++i] ?? '';
        else if (t === '-p') persistent = Number(remaining[++i]);
        else extra.push(t);
      }
      const reals: TableReal[] = [];
      services.push({ head: { key, selector, scheduler, persistent, extra }, reals });
      find.set(key, reals);
    } else if (cmd === '-a') {
      const reals = find.get(key);
      if (reals === undefined) throw new Error(`ipvsadm -Sn: real before its service: ${raw}`);
      let address = '';
      let forwarding: TableForwarding = 'gate';
      let weight = 1;
      const extra: string[] = [];
      for (let i = 0; i < remaining.length; i++) {
        const t = remaining[i] ?? '';
        if (t === '-r') address = remaining[++i] ?? '';
        else if (t === '-w') weight = Number(remaining[++i]);
        else if (t in FORWARDING_FLAGS) forwarding = FORWARDING_FLAGS[t] ?? 'gate';
        else extra.push(t);
      }
      reals.push({ address, forwarding, weight, extra });
    } else {
      throw new Error(`ipvsadm -Sn: unexpected line: ${raw}`);
    }
  }
  const list = services.map(({ head, reals }) => ({ ...head, reals }));
  return { services: list, byKey: new Map(list.map((s) => [s.key, s])) };
}

function takeSelector(
  tokens: readonly string[],
  raw: string,
): { key: string; selector: string[]; remaining: string[] } {
  const [flag, value, ...rest] = tokens;
  if (flag === undefined || value === undefined) throw new Error(`ipvsadm -Sn: no service on line: ${raw}`);
  if (flag === '-f') {
    const v6 = rest.includes('-6');
    return {
      key: `fwmark:${value}:${v6 ? 'v6' : 'v4'}`,
      selector: v6 ? ['-f', value, '-6'] : ['-f', value],
      remaining: rest.filter((t) => t !== '-6'),
    };
  }
  const protocol = PROTOCOL_FLAGS[flag];
  if (protocol === undefined) throw new Error(`ipvsadm -Sn: unknown service flag ${flag}: ${raw}`);
  return { key: `${protocol}:${value}`, selector: [flag, value], remaining: rest };
}

/** The key of one `ipvsadm -Sn` line ("-A -t 10.20.0.10:80 ..." -> "tcp:10.20.0.10:80"), or null. */
export function lineKey(line: string): string | null {
  const tokens = line.trim().split(/\s+/).filter((t) => t !== '');
  if (tokens.length < 3) return null;
  try {
    return takeSelector(tokens.slice(1), line).key;
  } catch {
    return null;
  }
}

/**
 * The lines of `ipvsadm -Sn` output that belong to one service (its -A line and its -a lines),
 * exactly as printed: for byte-for-byte comparisons of a service nobody should have touched.
 */
export function serviceLines(text: string, key: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '' && lineKey(l) === key);
}

/** `ipvsadm -Sn` as text. */
export async function readTableText(): Promise<string> {
  return ipvsadm('-Sn');
}

/** The current kernel table (`ipvsadm -Sn`). */
export async function readTable(): Promise<Table> {
  return parseTable(await ipvsadm('-Sn'));
}

/**
 * Polls the kernel table until `predicate` holds and returns that table. On timeout the error
 * shows the last table seen, which is usually all a failing kernel test needs to explain itself.
 */
export async function waitForTable(
  predicate: (table: Table) => boolean,
  timeoutMs = 30_000,
  intervalMs = 250,
): Promise<Table> {
  let lastText = '';
  try {
    return await pollUntil(
      'the IPVS table',
      async () => {
        lastText = await ipvsadm('-Sn');
        const table = parseTable(lastText);
        return predicate(table) ? table : undefined;
      },
      timeoutMs,
      intervalMs,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last table:\n${lastText || '(empty)'}`);
  }
}

const PROC_FORWARDING: Readonly<Record<string, TableForwarding>> = { Masq: 'masq', Route: 'gate', Tunnel: 'ipip' };

/** "0A0A0102:0050" -> "10.10.1.2:80"; "[fd00:0010:...:0002]:0050" -> "[fd00:10:1::2]:80". */
function procEndpoint(hex: string): string {
  const colon = hex.lastIndexOf(':');
  const port = parseInt(hex.slice(colon + 1), 16);
  const host = hex.slice(0, colon);
  if (host.startsWith('[')) return `${new URL(`http://${host}/`).hostname}:${port}`;
  const octets = [0, 2, 4, 6].map((i) => parseInt(host.slice(i, i + 2), 16));
  return `${octets.join('.')}:${port}`;
}

/**
 * Parses /proc/net/ip_vs into the same shape as parseTable() (keys, real addresses, weights,
 * forwarding, scheduler; no flags). Reading a file costs no fork, so it can be polled often
 * without loading the emulated machine the way an `ipvsadm` exec every few ms would.
 */
export function parseProcTable(text: string): Table {
  const services: TableService[] = [];
  let reals: TableReal[] | null = null;
  for (const line of text.split('\n')) {
    const t = line.trim().split(/\s+/);
    if (t[0] === '->' && reals !== null && t[1] !== 'RemoteAddress:Port' && t[1] !== undefined) {
      reals.push({ address: procEndpoint(t[1]), forwarding: PROC_FORWARDING[t[2] ?? ''] ?? 'gate', weight: Number(t[3]), extra: [] });
    } else if ((t[0] === 'TCP' || t[0] === 'UDP' || t[0] === 'SCTP' || t[0] === 'FWM') && t[1] !== undefined) {
      reals = [];
      const key =
        t[0] === 'FWM'
          ? `fwmark:${parseInt(t[1], 16)}:${t.includes('IPv6') ? 'v6' : 'v4'}`
          : `${t[0].toLowerCase()}:${procEndpoint(t[1])}`;
      const scheduler = t[0] === 'FWM' ? (t.find((x, i) => i > 1 && x !== 'IPv6') ?? '') : (t[2] ?? '');
      services.push({ key, selector: [], scheduler, persistent: null, extra: [], reals });
    }
  }
  return { services, byKey: new Map(services.map((s) => [s.key, s])) };
}

/** The kernel table from /proc/net/ip_vs (no fork; see parseProcTable). */
export async function readProcTable(): Promise<Table> {
  return parseProcTable(await readFile('/proc/net/ip_vs', 'utf8'));
}

export interface RealCounters {
  readonly activeConns: number;
  readonly inactiveConns: number;
}

/** Connection counters per service key and real address, from `ipvsadm -Ln --exact`. */
export async function readCounters(): Promise<Map<string, Map<string, RealCounters>>> {
  const text = await ipvsadm('-Ln', '--exact');
  const result = new Map<string, Map<string, RealCounters>>();
  let current: Map<string, RealCounters> | null = null;
  for (const line of text.split('\n')) {
    const t = line.trim().split(/\s+/);
    const svc = /^(TCP|UDP|SCTP|FWM)$/.exec(t[0] ?? '');
    if (svc !== null && t[1] !== undefined) {
      const proto = svc[1] === 'FWM' ? 'fwmark' : (svc[1] ?? '').toLowerCase();
      const key = proto === 'fwmark' ? `fwmark:${t[1]}:${line.includes(' IPv6') ? 'v6' : 'v4'}` : `${proto}:${t[1]}`;
      current = new Map();
      result.set(key, current);
    } else if (t[0] === '->' && current !== null && t[1] !== undefined && t[1] !== 'RemoteAddress:Port') {
      current.set(t[1], { activeConns: Number(t[4]), inactiveConns: Number(t[5]) });
    }
  }
  return result;
}

/** Deletes one service by its key (what a test created); never flushes the table. */
export async function deleteService(key: string): Promise<void> {
  const service = (await readTable()).byKey.get(key);
  if (service !== undefined) await ipvsadm('-D', ...service.selector);
}
