// An in-memory IPVS table with the kernel's and ipvsadm's semantics: what `lvsd run --dry-run`
// applies its lines to, and the model the fake ipvsadm (test/fixtures/bin/ipvsadm) is a thin CLI over.
//
// Behaviour pinned by real captures (test/fixtures/ipvs/restore/*): a kernel error prints its
// message and -R goes on; an argument error ipvsadm itself detects stops -R with status 2; the
// exit status is that of the last line run (0, 255 for a kernel error).

import type { Endpoint } from '../config/model.js';
import type { IpvsReal, IpvsService, IpvsServiceHead, IpvsTable, RealCounters } from './model.js';
import { parseCommandLine, splitLine } from './args.js';
import type { ParsedCommand } from './args.js';
import { ipvsadmEndpoint } from './keys.js';
import { realKey } from '../model/keys.js';
import { withReals } from './parse.js';
import { serviceArgs } from './format.js';

/** ipvsadm's wording of the kernel's answers (libipvs ipvs_strerror; captured). */
export const KERNEL_ERRORS = {
  serviceExists: 'Service already exists',
  noService: 'No such service',
  serviceNotDefined: 'Service not defined',
  destExists: 'Destination already exists',
  noDest: 'No such destination',
  noScheduler: 'Scheduler or persistence engine not found',
} as const;

/** Schedulers of a stock kernel (ip_vs_*.ko) and the one persistence engine. */
export const KNOWN_SCHEDULERS: ReadonlySet<string> = new Set([
  'rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos',
]);
const KNOWN_PE: ReadonlySet<string> = new Set(['sip']);

export interface RestoreResult {
  /** What ipvsadm prints on stderr, one message per failed line. */
  readonly errors: readonly string[];
  /** The exit status `ipvsadm -R` would have. */
  readonly status: number;
}

/** One real as the table keeps it: the kernel entry, its tunnel options, its connection counters. */
export interface MemoryReal {
  readonly real: IpvsReal;
  readonly tunnel: readonly string[];
  /** Only the fake ipvsadm sets them (--fake-counters); an edit keeps them, as the kernel does. */
  readonly counters: RealCounters;
}
/** One service with its reals, in ipvsadm's listing order (see entries()). */
export interface MemoryEntry {
  readonly head: IpvsServiceHead;
  readonly reals: readonly MemoryReal[];
}
/** The table as plain JSON, in insertion order (which decides the kernel's listing order). */
export interface MemoryTableState {
  readonly services: readonly { readonly head: IpvsServiceHead; readonly reals: readonly MemoryReal[] }[];
}
interface MemService {
  readonly head: IpvsServiceHead;
  readonly reals: Map<string, MemoryReal>;
}

const NO_COUNTERS: RealCounters = { activeConns: 0, inactiveConns: 0, persistentConns: 0 };

const PROTO_NUMBER = { tcp: 6, udp: 17, sctp: 132 } as const;

/** Address as the four 32-bit words of the kernel's union (IPv4 in the first). */
function addressWords(e: Pick<Endpoint, 'host' | 'family'>): number[] {
  if (e.family === 4) return [e.host.split('.').reduce((n, p) => n * 256 + Number(p), 0), 0, 0, 0];
  let [head, tail] = e.host.includes('::') ? e.host.split('::') as [string, string] : [e.host, ''];
  const expandV4 = (g: string[]): string[] => g.flatMap((x) => {
    if (!x.includes('.')) return [x];
    const b = x.split('.').map(Number);
    return [((b[0]! << 8) | b[1]!).toString(16), ((b[2]! << 8) | b[3]!).toString(16)];
  });
  const h = head ? expandV4(head.split(':')) : [];
  const t = tail ? expandV4(tail.split(':')) : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((g) => parseInt(g, 16));
  return [0, 1, 2, 3].map((i) => groups[2 * i]! * 65536 + groups[2 * i + 1]!);
}

/** C's `int r = (u32)a - (u32)b`: ipvsadm sorts with this, wrap-around included, so its order is
 *  not transitive (10.x sorts after 200.x, captured: restore/sort-order) and depends on the sort. */
const diff32 = (a: number, b: number): number => (a - b) | 0;

/** glibc's qsort for ipvsadm's small arrays: top-down merge sort, left element first on ties.
 *  With ipvsadm's comparators only this reproduces the kernel listing's order exactly. */
export function glibcMergeSort<T>(items: readonly T[], cmp: (a: T, b: T) => number): T[] {
  if (items.length <= 1) return [...items];
  const n1 = Math.floor(items.length / 2);
  const left = glibcMergeSort(items.slice(0, n1), cmp);
  const right = glibcMergeSort(items.slice(n1), cmp);
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length && j < right.length) out.push(cmp(left[i]!, right[j]!) <= 0 ? left[i++]! : right[j++]!);
  return out.concat(left.slice(i), right.slice(j));
}

/** ipvsadm's service order (libipvs ipvs_cmp_services): fwmark, family, protocol, address, port. */
function compareServices(a: IpvsServiceHead, b: IpvsServiceHead): number {
  const mark = (s: IpvsServiceHead): number => (s.kind === 'fwmark' ? s.fwmark : 0);
  const af = (s: IpvsServiceHead): number => (s.family === 6 ? 10 : 2);
  let r = diff32(mark(a), mark(b)) || af(a) - af(b);
  if (r || a.kind === 'fwmark' || b.kind === 'fwmark') return r;
  r = PROTO_NUMBER[a.protocol] - PROTO_NUMBER[b.protocol];
  const wa = addressWords(a.vip);
  const wb = addressWords(b.vip);
  for (let i = 0; !r && i < (a.family === 6 ? 4 : 1); i++) r = diff32(wa[i]!, wb[i]!);
  return r || a.vip.port - b.vip.port;
}

/** ipvsadm's real order (libipvs ipvs_cmp_dests): address (width of the first), then port. */
function compareReals(a: IpvsReal, b: IpvsReal): number {
  const wa = addressWords(a.address);
  const wb = addressWords(b.address);
  let r = 0;
  for (let i = 0; !r && i < (a.address.family === 6 ? 4 : 1); i++) r = diff32(wa[i]!, wb[i]!);
  return r || a.address.port - b.address.port;
}

/** Lines restoreInTurns() applies per loop turn. */
export const RESTORE_LINES_PER_TURN = 250;

export class MemoryTable {
  readonly #services = new Map<string, MemService>();
  /** view()'s services, kept up to date per touched service once built (null: not built yet). */
  #view: Map<string, IpvsService> | null = null;
  /** Services changed since the view was last brought up to date: rebuilt once each in view(),
   *  not once per applied line (2,000 `-e` lines in one service rebuilt it 2,000 times: ~300 ms). */
  readonly #stale = new Set<string>();

  /** A table holding `initial` (thresholds and all), e.g. parseSave of a captured `-Sn`. */
  constructor(initial?: IpvsTable) {
    for (const [key, svc] of initial?.services ?? []) {
      const { reals } = svc;
      const head = headOf(svc);
      const memReals = new Map<string, MemoryReal>();
      for (const [rk, real] of reals) {
        const tunnel = real.forwarding !== 'ipip' ? [] : real.tunnel ?? ['--tun-type', 'ipip'];
        memReals.set(rk, { real, tunnel, counters: NO_COUNTERS });
      }
      this.#services.set(key, { head, reals: memReals });
    }
  }

  /** Run ipvsadm -R on these lines: kernel errors continue, ipvsadm's own argument errors stop. */
  restore(lines: readonly string[]): RestoreResult {
    const errors: string[] = [];
    let status = 0;
    for (const line of lines) {
      const args = splitLine(line);
      if (args.length === 0) continue; // blank lines are skipped (captured)
      const r = this.exec(args);
      errors.push(...r.errors);
      status = r.status;
      if (r.stop) break;
    }
    return { errors, status };
  }

  /**
   * restore(), `linesPerTurn` lines per event-loop turn: the same result, without holding the loop
   * (2,000 lines take 10-40 ms to parse and apply; the daemon's model and its dry run use this).
   * Nothing else may change this table until it resolves.
   */
  async restoreInTurns(lines: readonly string[], linesPerTurn = RESTORE_LINES_PER_TURN): Promise<RestoreResult> {
    const errors: string[] = [];
    let status = 0;
    for (let i = 0; i < lines.length; i++) {
      if (i > 0 && i % linesPerTurn === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const args = splitLine(lines[i]!);
      if (args.length === 0) continue;
      const r = this.exec(args);
      errors.push(...r.errors);
      status = r.status;
      if (r.stop) break;
    }
    return { errors, status };
  }

  /** One ipvsadm invocation with these arguments (a table command). */
  exec(args: readonly string[]): RestoreResult & { readonly stop: boolean } {
    const parsed = parseCommandLine(args);
    if (parsed.cmd === 'error') return { errors: [parsed.message], status: parsed.status, stop: parsed.fatal };
    const error = this.#apply(parsed);
    return error ? { errors: [error], status: 255, stop: false } : { errors: [], status: 0, stop: false };
  }

  #apply(c: ParsedCommand): string | null {
    const error = this.#change(c);
    if (error === null && this.#view !== null) this.#stale.add(c.key);
    return error;
  }

  #change(c: ParsedCommand): string | null {
    const svc = this.#services.get(c.key);
    switch (c.cmd) {
      case 'add-service':
      case 'edit-service': {
        if (c.cmd === 'add-service' && svc) return KERNEL_ERRORS.serviceExists;
        if (c.cmd === 'edit-service' && !svc) return KERNEL_ERRORS.noService;
        if (!KNOWN_SCHEDULERS.has(c.service.scheduler)) return KERNEL_ERRORS.noScheduler;
        const pe = c.service.extraArgs.indexOf('--pe');
        if (pe >= 0 && !KNOWN_PE.has(c.service.extraArgs[pe + 1] ?? '')) return KERNEL_ERRORS.noScheduler;
        this.#services.set(c.key, { head: c.service, reals: svc?.reals ?? new Map() });
        return null;
      }
      case 'delete-service':
        if (!svc) return KERNEL_ERRORS.noService;
        this.#services.delete(c.key);
        return null;
      case 'add-real':
      case 'edit-real': {
        if (!svc) return KERNEL_ERRORS.serviceNotDefined;
        const exists = svc.reals.has(c.real.key);
        if (c.cmd === 'add-real' && exists) return KERNEL_ERRORS.destExists;
        if (c.cmd === 'edit-real' && !exists) return KERNEL_ERRORS.noDest;
        const counters = svc.reals.get(c.real.key)?.counters ?? NO_COUNTERS;
        svc.reals.set(c.real.key, { real: c.real, tunnel: c.tunnel, counters });
        return null;
      }
      case 'delete-real': {
        if (!svc) return KERNEL_ERRORS.serviceNotDefined;
        const key = realKey(c.address);
        if (!svc.reals.delete(key)) return KERNEL_ERRORS.noDest;
        return null;
      }
    }
  }

  /** A table saved with toState() (the fake ipvsadm keeps its table in a file between runs). */
  static fromState(state: MemoryTableState): MemoryTable {
    const t = new MemoryTable();
    for (const s of state.services) {
      t.#services.set(s.head.key, { head: s.head, reals: new Map(s.reals.map((r) => [r.real.key, r])) });
    }
    return t;
  }

  /** Everything, as plain JSON-able data in insertion order. */
  toState(): MemoryTableState {
    return { services: [...this.#services.values()].map((s) => ({ head: s.head, reals: [...s.reals.values()] })) };
  }

  /** Set one real's connection counters (what the fake ipvsadm's --fake-counters does). */
  setCounters(serviceKey: string, realKey: string, counters: RealCounters): boolean {
    const reals = this.#services.get(serviceKey)?.reals;
    const r = reals?.get(realKey);
    if (!reals || !r) return false;
    reals.set(realKey, { ...r, counters });
    return true;
  }

  /** Services and reals in ipvsadm's listing order, tunnel options and counters included. */
  entries(): MemoryEntry[] {
    return this.#sorted();
  }

  /** ipvsadm's order. The kernel hands out reals newest first (it adds them at the head of the
   *  list); services come in hash order, taken here as the order they were added. */
  #sorted(): { head: IpvsServiceHead; reals: MemoryReal[] }[] {
    return glibcMergeSort([...this.#services.values()], (a, b) => compareServices(a.head, b.head)).map((s) => ({
      head: s.head,
      reals: glibcMergeSort([...s.reals.values()].reverse(), (a, b) => compareReals(a.real, b.real)),
    }));
  }

  /** The table in ipvsadm's listing order, with thresholds (which `-Sn` cannot show). */
  table(): IpvsTable {
    const services = new Map<string, IpvsService>();
    for (const { head, reals } of this.#sorted()) {
      services.set(head.key, withReals(head, new Map(reals.map((r) => [r.real.key, r.real]))));
    }
    return { services };
  }

  /** The table in insertion order, without the listing sort: what the reconciler keeps as its
   *  model (order does not matter to it, and sorting 10,000 reals per change would). */
  view(): IpvsTable {
    if (this.#view === null) {
      this.#view = new Map();
      for (const svc of this.#services.values()) this.#view.set(svc.head.key, viewOf(svc));
    } else {
      for (const key of this.#stale) {
        const svc = this.#services.get(key);
        if (svc) this.#view.set(key, viewOf(svc));
        else this.#view.delete(key);
      }
    }
    this.#stale.clear();
    // A copy of the top-level map only: services are immutable, an apply replaces the ones it
    // touches, so a change costs O(services + its reals), not O(every real).
    return { services: new Map(this.#view) };
  }

  /** The table as `ipvsadm -Sn` prints it. */
  save(): string {
    let out = '';
    for (const { head, reals } of this.#sorted()) {
      // ipvsadm prints marks of 2^31 and up as negative numbers (captured: fwmark-high).
      const svc = head.kind === 'fwmark' && head.fwmark > 0x7fffffff
        ? serviceArgs({ ...head, fwmark: head.fwmark - 2 ** 32 })
        : serviceArgs(head);
      out += `-A ${svc}${saveServiceOptions(head)}\n`;
      for (const { real, tunnel } of reals) {
        const fwd = real.forwarding === 'gate' ? '-g' : real.forwarding === 'masq' ? '-m' : '-i';
        out += `-a ${svc} -r ${ipvsadmEndpoint(real.address)} ${fwd} -w ${real.weight}`;
        out += tunnel.length ? ` ${tunnel.join(' ')}\n` : '\n';
      }
    }
    return out;
  }
}

function viewOf(svc: MemService): IpvsService {
  const map = new Map<string, IpvsReal>();
  for (const [key, r] of svc.reals) map.set(key, r.real);
  return withReals(svc.head, map);
}

/** A service without its reals. */
function headOf(svc: IpvsService): IpvsServiceHead {
  const { reals: _reals, ...head } = svc;
  return head;
}

/** `-Sn`'s service options: -M only when not the default (/32 or /128). */
function saveServiceOptions(head: IpvsServiceHead): string {
  let out = ` -s ${head.scheduler}`;
  if (head.persistence) {
    out += ` -p ${head.persistence.timeoutS}`;
    const dflt = head.family === 6 ? '128' : '255.255.255.255';
    if (head.persistence.netmask !== dflt) out += ` -M ${head.persistence.netmask}`;
  }
  if (head.extraArgs.length) out += ` ${head.extraArgs.join(' ')}`;
  return out;
}
