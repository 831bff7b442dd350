// The kernel's IPVS connection sync daemon as ipvsadm 1.31 shows and drives it: the argument lists of
// `--start-daemon`/`--stop-daemon`, the parser of `ipvsadm -L --daemon`, the comparison of a running
// daemon with the wanted one, and an in-memory stand-in (dry run, fake ipvsadm) with the kernel's
// answers as captured in test/fixtures/ipvs/daemon/. src/sync-daemon/ holds everything about the sync
// daemon: this ipvsadm part (used by ipvs/runner.ts), the keeper loop and its record in state_dir.

import { isIPv4, isIPv6 } from 'node:net';
import { LvsdError } from '../errors.js';
import type { ExecOptions } from '../ipvs/model.js';

/** One kernel sync thread; `both` in lvsd.yaml is one of each. */
export type SyncDaemonState = 'master' | 'backup';
export const SYNC_DAEMON_STATES: readonly SyncDaemonState[] = ['master', 'backup'];

/** What lvsd asks of one daemon (null: ipvsadm's and the kernel's default). */
export interface SyncDaemonSpec {
  readonly interface: string;
  readonly syncid: number;
  readonly maxlen: number | null;
  readonly group: string | null;
  readonly port: number | null;
  readonly ttl: number | null;
}

/** One daemon as `ipvsadm -L --daemon` prints it (every field filled in by the kernel). */
export interface KernelSyncDaemon {
  readonly state: SyncDaemonState;
  readonly interface: string;
  readonly syncid: number;
  readonly maxlen: number;
  readonly group: string;
  readonly port: number;
  readonly ttl: number;
}

export type SyncDaemons = ReadonlyMap<SyncDaemonState, KernelSyncDaemon>;

/** The part of the runner that drives sync daemons (the one module that runs ipvsadm, again). */
export interface SyncDaemonRunner {
  /** `ipvsadm -L --daemon`. */
  daemons(options?: ExecOptions): Promise<SyncDaemons>;
  /** `ipvsadm --start-daemon STATE ...`; rejects LVSD_IPVSADM_FAILED with ipvsadm's words. */
  startDaemon(state: SyncDaemonState, spec: SyncDaemonSpec, options?: ExecOptions): Promise<void>;
  /** `ipvsadm --stop-daemon STATE`. */
  stopDaemon(state: SyncDaemonState, options?: ExecOptions): Promise<void>;
}

/** ipvsadm's defaults (man ipvsadm; the kernel fills them in). */
export const SYNC_DEFAULTS = { group: '224.0.0.81', port: 8848, ttl: 1 } as const;
/** --sync-maxlen's range: 1 .. 65535 - 20 - 8 (IPv4 and UDP headers). */
export const SYNC_MAXLEN_MAX = 65507;

export function startDaemonArgs(state: SyncDaemonState, spec: SyncDaemonSpec): string[] {
  const args = ['--start-daemon', state, '--mcast-interface', spec.interface, '--syncid', String(spec.syncid)];
  if (spec.maxlen !== null) args.push('--sync-maxlen', String(spec.maxlen));
  if (spec.group !== null) args.push('--mcast-group', spec.group);
  if (spec.port !== null) args.push('--mcast-port', String(spec.port));
  if (spec.ttl !== null) args.push('--mcast-ttl', String(spec.ttl));
  return args;
}

export function stopDaemonArgs(state: SyncDaemonState): string[] {
  return ['--stop-daemon', state];
}

const LINE = /^(master|backup) sync daemon \(mcast=(\S+), syncid=(\d+), maxlen=(\d+), group=([0-9A-Fa-f.:]+), port=(\d+), ttl=(\d+)\)$/;

/** Parse `ipvsadm -L --daemon`; anything else throws LVSD_IPVS_PARSE (never guess a daemon's state). */
export function parseDaemonListing(text: string): Map<SyncDaemonState, KernelSyncDaemon> {
  const out = new Map<SyncDaemonState, KernelSyncDaemon>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const m = LINE.exec(line);
    if (!m) throw new LvsdError('LVSD_IPVS_PARSE', `ipvsadm -L --daemon: unexpected line ${JSON.stringify(line.slice(0, 200))}`);
    const state = m[1] as SyncDaemonState;
    out.set(state, {
      state,
      interface: m[2]!,
      syncid: Number(m[3]),
      maxlen: Number(m[4]),
      group: m[5]!.toLowerCase(),
      port: Number(m[6]),
      ttl: Number(m[7]),
    });
  }
  return out;
}

export function formatDaemonLine(d: KernelSyncDaemon): string {
  return `${d.state} sync daemon (mcast=${d.interface}, syncid=${d.syncid}, maxlen=${d.maxlen}, group=${d.group}, port=${d.port}, ttl=${d.ttl})`;
}

/** `ipvsadm -L --daemon` output: master first, then backup. */
export function formatDaemonListing(daemons: SyncDaemons): string {
  return SYNC_DAEMON_STATES.flatMap((s) => {
    const d = daemons.get(s);
    return d ? [`${formatDaemonLine(d)}\n`] : [];
  }).join('');
}

/** An IPv6 address in one spelling, so "FF02:0::81" and "ff02::81" compare equal. */
function sameGroup(a: string, b: string): boolean {
  if (a === b) return true;
  if (!isIPv6(a) || !isIPv6(b)) return false;
  return new URL(`http://[${a}]/`).hostname === new URL(`http://[${b}]/`).hostname;
}

/**
 * How a running daemon differs from the wanted one ("syncid 3, want 10"); empty when it matches.
 * maxlen counts only when configured: the kernel derives it from the MTU otherwise, and a backup's
 * receive size may round up (1000 shows as 1024), so a backup matches at or above the wish.
 */
export function daemonDifferences(state: SyncDaemonState, spec: SyncDaemonSpec, k: KernelSyncDaemon): string[] {
  const out: string[] = [];
  const diff = (what: string, have: string | number, want: string | number): void => {
    out.push(`${what} ${have}, want ${want}`);
  };
  if (k.interface !== spec.interface) diff('interface', k.interface, spec.interface);
  if (k.syncid !== spec.syncid) diff('syncid', k.syncid, spec.syncid);
  const group = spec.group ?? SYNC_DEFAULTS.group;
  if (!sameGroup(k.group, group)) diff('mcast_group', k.group, group);
  const port = spec.port ?? SYNC_DEFAULTS.port;
  if (k.port !== port) diff('mcast_port', k.port, port);
  const ttl = spec.ttl ?? SYNC_DEFAULTS.ttl;
  if (k.ttl !== ttl) diff('mcast_ttl', k.ttl, ttl);
  if (spec.maxlen !== null) {
    const ok = state === 'master' ? k.maxlen === spec.maxlen : k.maxlen >= spec.maxlen;
    if (!ok) diff('sync_maxlen', k.maxlen, spec.maxlen);
  }
  return out;
}

/** What the kernel shows for a daemon started with `spec` (maxlen: the given one, else an MTU of 1500's). */
export function kernelViewOf(state: SyncDaemonState, spec: SyncDaemonSpec): KernelSyncDaemon {
  const group = spec.group ?? SYNC_DEFAULTS.group;
  const v6 = isIPv6(group);
  return {
    state,
    interface: spec.interface,
    syncid: spec.syncid,
    maxlen: spec.maxlen ?? (v6 ? 1452 : 1472),
    group,
    port: spec.port ?? SYNC_DEFAULTS.port,
    ttl: spec.ttl ?? SYNC_DEFAULTS.ttl,
  };
}

/** ipvsadm's and the kernel's answers (captured: test/fixtures/ipvs/daemon/commands.tsv). */
export const DAEMON_ERRORS = {
  alreadyRunning: 'Daemon has already run',
  notRunning: 'No daemon is running',
  noDevice: 'No such device',
  badStart: 'illegal start-daemon parameter specified',
  badStop: 'illegal start_daemon specified',
} as const;

export type DaemonCommand =
  | { readonly cmd: 'start'; readonly state: SyncDaemonState; readonly spec: Omit<SyncDaemonSpec, 'interface'> & { readonly interface: string | null } }
  | { readonly cmd: 'stop'; readonly state: SyncDaemonState }
  | { readonly cmd: 'error'; readonly message: string; readonly status: number };

const intIn = (text: string | undefined, min: number, max: number): number | null => {
  if (text === undefined || !/^\d+$/.test(text)) return null;
  const n = Number(text);
  return n >= min && n <= max ? n : null;
};

/** ipvsadm's own checks of `--start-daemon`/`--stop-daemon` arguments (exit 2, as captured). */
export function parseDaemonCommand(args: readonly string[]): DaemonCommand | null {
  const start = args.indexOf('--start-daemon');
  const stop = args.indexOf('--stop-daemon');
  if (start < 0 && stop < 0) return null;
  const fail = (message: string): DaemonCommand => ({ cmd: 'error', message, status: 2 });
  if (stop >= 0) {
    const s = args[stop + 1];
    if (s === undefined) return { cmd: 'error', message: "Try `ipvsadm -h' or 'ipvsadm --help' for more information.", status: 255 };
    return s === 'master' || s === 'backup' ? { cmd: 'stop', state: s } : fail(DAEMON_ERRORS.badStop);
  }
  const state = args[start + 1];
  if (state !== 'master' && state !== 'backup') return fail(DAEMON_ERRORS.badStart);
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i < 0 ? undefined : args[i + 1] ?? '';
  };
  let syncid = 0;
  let maxlen: number | null = null;
  let group: string | null = null;
  let port: number | null = null;
  let ttl: number | null = null;
  if (opt('--syncid') !== undefined && (syncid = intIn(opt('--syncid'), 0, 255) ?? -1) < 0) return fail('illegal syncid specified');
  if (opt('--sync-maxlen') !== undefined && (maxlen = intIn(opt('--sync-maxlen'), 1, SYNC_MAXLEN_MAX)) === null) return fail('illegal sync-maxlen specified');
  const g = opt('--mcast-group');
  if (g !== undefined) {
    if (isIPv4(g)) {
      const first = Number(g.split('.')[0]);
      if (first < 224 || first > 239) return fail(`invalid IPv4 mcast-group \`${g}'`);
    } else if (!isIPv6(g) || g.includes('%') || !/^ff/i.test(g)) {
      return fail(`invalid mcast-group \`${g}'`);
    }
    group = g;
  }
  if (opt('--mcast-port') !== undefined && (port = intIn(opt('--mcast-port'), 1, 65535)) === null) return fail('illegal mcast-port specified');
  if (opt('--mcast-ttl') !== undefined && (ttl = intIn(opt('--mcast-ttl'), 1, 255)) === null) return fail('illegal mcast-ttl specified');
  return { cmd: 'start', state, spec: { interface: opt('--mcast-interface') ?? null, syncid, maxlen, group, port, ttl } };
}

/**
 * The daemons of one kernel in memory: what `lvsd run --dry-run` drives, and what the fake ipvsadm
 * keeps in its state file. Interfaces are not known here, so any name is accepted (the real kernel
 * answers "No such device" for a missing one).
 */
export class MemoryDaemons {
  readonly #daemons = new Map<SyncDaemonState, KernelSyncDaemon>();

  constructor(initial: Iterable<KernelSyncDaemon> = []) {
    for (const d of initial) this.#daemons.set(d.state, d);
  }

  /** Run one parsed command: the error text and exit status ipvsadm would give, or null. */
  exec(c: Exclude<DaemonCommand, { cmd: 'error' }>): { readonly error: string; readonly status: number } | null {
    if (c.cmd === 'stop') {
      if (!this.#daemons.delete(c.state)) return { error: DAEMON_ERRORS.notRunning, status: 255 };
      return null;
    }
    if (this.#daemons.has(c.state)) return { error: DAEMON_ERRORS.alreadyRunning, status: 255 };
    if (c.spec.interface === null || c.spec.interface === '') return { error: DAEMON_ERRORS.noDevice, status: 255 };
    this.#daemons.set(c.state, kernelViewOf(c.state, { ...c.spec, interface: c.spec.interface }));
    return null;
  }

  list(): SyncDaemons {
    return new Map(SYNC_DAEMON_STATES.flatMap((s) => (this.#daemons.has(s) ? [[s, this.#daemons.get(s)!] as const] : [])));
  }

  toState(): KernelSyncDaemon[] {
    return [...this.list().values()];
  }
}
