// The one module that runs ipvsadm (and the dry-run stand-in that never does). No shell, bounded
// time, the child in its own process group so a timeout kills whatever it started (modprobe).

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { LvsdError } from '../errors.js';
import type { Snapshot } from '../config/model.js';
import type { Logger } from '../log.js';
import type { ExecOptions, IpvsRunner, IpvsTable, RealCounters, TableCounters, TableStats, TrafficStats } from './model.js';
import { MemoryTable } from './memory-table.js';
import { PACED_LOG_BATCH, PACED_LOG_PAUSE_MS, logPause, nextPause } from '../paced-log.js';
import { parseCounters, parseSave, parseThresholds, withThresholds } from './parse.js';
import { parseStatsListing } from './parse-stats.js';
import { MemoryDaemons, parseDaemonListing, startDaemonArgs, stopDaemonArgs } from '../sync-daemon/ipvsadm.js';
import type { SyncDaemonRunner, SyncDaemonSpec, SyncDaemonState, SyncDaemons } from '../sync-daemon/ipvsadm.js';

export interface IpvsadmRunnerOptions {
  /** ipvsadm to run: an absolute path, or a name looked up on PATH. */
  readonly path: string;
  readonly logger: Logger;
  /** Base limit of one read (-Sn, -Ln); default 10 s, plus perEntryMs per entry of the last table read. */
  readonly readTimeoutMs?: number;
  /** Base limit of one -R; default 10 s, plus perEntryMs per line applied. */
  readonly applyTimeoutMs?: number;
  /** What one table entry (service or real) adds to a deadline; default 5 ms (10k reals: +50 s). */
  readonly perEntryMs?: number;
  /** After ipvsadm exited (or was SIGKILLed), how long its pipes may stay open; default 2 s. */
  readonly pipeGraceMs?: number;
}

interface RunResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  /** ipvsadm exited but something it started still held its stdout/stderr after the grace. */
  readonly pipesHeld: boolean;
}

interface RunLimits {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  readonly pipeGraceMs?: number | undefined;
}

/** Most output kept from one run; a table of 10k services prints well under this. */
const MAX_OUTPUT = 64 * 1024 * 1024;
export const DEFAULT_READ_TIMEOUT_MS = 10_000;
export const DEFAULT_APPLY_TIMEOUT_MS = 10_000;
export const DEFAULT_PER_ENTRY_MS = 5;
export const DEFAULT_PIPE_GRACE_MS = 2_000;

/** Explain the failures an operator can fix, from what ipvsadm printed. */
function hintFor(stderr: string): string {
  if (/Permission denied|Operation not permitted/i.test(stderr)) {
    return 'lvsd must run as root or with CAP_NET_ADMIN to change IPVS';
  }
  if (/Can't initialize ipvs|Protocol not available/i.test(stderr)) {
    return 'the kernel has no IPVS loaded: run "modprobe ip_vs" (the kernel needs CONFIG_IP_VS)';
  }
  return '';
}

function failed(path: string, args: readonly string[], why: string, stderr = ''): LvsdError {
  const hint = hintFor(stderr);
  const text = stderr.trim().replace(/\s*\n\s*/g, ' / ');
  return new LvsdError(
    'LVSD_IPVSADM_FAILED',
    `${path} ${args.join(' ')}: ${why}${text ? `: ${text}` : ''}${hint ? ` (${hint})` : ''}`,
  );
}

function abortedError(path: string, args: readonly string[], signal: AbortSignal): LvsdError {
  const why = signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'aborted');
  return new LvsdError('LVSD_IPVSADM_ABORTED', `${path} ${args.join(' ')}: aborted (${why})`);
}

/** Whether stderr says ipvsadm could not talk to IPVS at all (nothing was read or applied). */
function isInitFailure(stderr: string): boolean {
  return /Can't initialize ipvs/.test(stderr);
}

/**
 * Run ipvsadm once: resolves with its status and output; rejects when it cannot run, times out or
 * is aborted. Always settles in bounded time: on the deadline or the abort its process group is
 * SIGKILLed, and the run ends on 'exit' plus at most pipeGraceMs for the pipes to close (a child
 * that left the group may hold them open forever), or pipeGraceMs after the kill when even 'exit'
 * never comes (a process stuck in the kernel, D state): that process is then left behind.
 */
function run(path: string, args: readonly string[], stdin: string | null, limits: RunLimits): Promise<RunResult> {
  const { timeoutMs, signal } = limits;
  const graceMs = limits.pipeGraceMs ?? DEFAULT_PIPE_GRACE_MS;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortedError(path, args, signal));
      return;
    }
    let child: ChildProcess;
    try {
      child = spawn(path, args, { stdio: [stdin === null ? 'ignore' : 'pipe', 'pipe', 'pipe'], detached: true });
    } catch (err) {
      reject(failed(path, args, `cannot start (${(err as Error).message})`));
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let killedFor: 'timeout' | 'abort' | 'output' | null = null;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let settled = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const killGroup = (why: 'timeout' | 'abort' | 'output'): void => {
      killedFor ??= why;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      // Bounded even if the kill cannot take effect (D state): the second deadline.
      graceTimer ??= setTimeout(() => finish(false), graceMs);
    };
    const timer = setTimeout(() => killGroup('timeout'), timeoutMs);
    const onAbort = (): void => killGroup('abort');
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (closed: boolean, spawnError?: NodeJS.ErrnoException): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(graceTimer);
      signal?.removeEventListener('abort', onAbort);
      if (!closed) {
        // Stop waiting for a writer that is not ipvsadm: drop our ends so nothing keeps us busy.
        child.stdout?.destroy();
        child.stderr?.destroy();
        child.stdin?.destroy();
        child.unref();
      }
      const stderr = Buffer.concat(err).toString('utf8');
      if (spawnError) {
        if (spawnError.code === 'ENOENT') {
          reject(new LvsdError('LVSD_IPVSADM_MISSING',
            `ipvsadm not found at "${path}": install the ipvsadm package or set "ipvsadm:" in lvsd.yaml`, { cause: spawnError }));
        } else {
          reject(new LvsdError('LVSD_IPVSADM_FAILED', `${path}: cannot run (${spawnError.code ?? spawnError.message})`, { cause: spawnError }));
        }
      } else if (killedFor === 'abort') reject(abortedError(path, args, signal!));
      else if (killedFor === 'timeout') {
        const stuck = exit === null ? '; it did not exit after SIGKILL and was left behind' : '';
        reject(failed(path, args, `timed out after ${timeoutMs} ms${stuck}`, stderr));
      } else if (killedFor === 'output') reject(failed(path, args, `printed more than ${MAX_OUTPUT} bytes`));
      else if (exit?.code === null || exit === null) reject(failed(path, args, `killed by ${exit?.signal ?? 'a signal'}`, stderr));
      else resolve({ status: exit.code, stdout: Buffer.concat(out).toString('utf8'), stderr, pipesHeld: !closed });
    };
    const collect = (into: Buffer[]) => (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_OUTPUT) killGroup('output');
      else into.push(chunk);
    };
    child.stdout!.on('data', collect(out));
    child.stderr!.on('data', collect(err));
    child.on('error', (e: NodeJS.ErrnoException) => finish(true, e));
    child.on('exit', (code, sig) => {
      exit = { code, signal: sig };
      clearTimeout(graceTimer);
      graceTimer = setTimeout(() => finish(false), graceMs);
    });
    child.on('close', () => finish(true));
    if (stdin !== null) {
      // ipvsadm -R stops reading at an argument error; the rest of the input then meets a closed pipe.
      child.stdin!.on('error', () => {});
      child.stdin!.end(stdin);
    }
  });
}

/** Refuse what must never reach ipvsadm -R: a flush, or a line that is really several. */
function checkLines(lines: readonly string[]): void {
  for (const line of lines) {
    if (/[\r\n]/.test(line)) throw new TypeError(`ipvsadm line contains a line break: ${JSON.stringify(line)}`);
    if (/(^|\s)(-C|--clear)(\s|$)/.test(line)) throw new TypeError(`refusing to flush the IPVS table: ${JSON.stringify(line)}`);
  }
}

export function createIpvsadmRunner(options: IpvsadmRunnerOptions): IpvsRunner & SyncDaemonRunner {
  const { path, logger } = options;
  const readBase = options.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  const applyBase = options.applyTimeoutMs ?? DEFAULT_APPLY_TIMEOUT_MS;
  const perEntry = options.perEntryMs ?? DEFAULT_PER_ENTRY_MS;
  const pipeGraceMs = options.pipeGraceMs ?? DEFAULT_PIPE_GRACE_MS;
  /** Services + reals of the last table read: what a listing's deadline scales with. */
  let entries = 0;

  async function exec(args: readonly string[], stdin: string | null, timeoutMs: number, o: ExecOptions | undefined): Promise<RunResult> {
    const r = await run(path, args, stdin, { timeoutMs, signal: o?.signal, pipeGraceMs });
    if (r.pipesHeld) {
      logger.warn({ args, pipeGraceMs }, 'ipvsadm exited but a process it started still holds its output open; not waiting for it');
    }
    return r;
  }

  async function list(args: readonly string[], o: ExecOptions | undefined): Promise<string> {
    const r = await exec(args, null, readBase + perEntry * entries, o);
    if (r.status !== 0) throw failed(path, args, `exit status ${r.status}`, r.stderr);
    return r.stdout;
  }

  return {
    async read(o?: ExecOptions): Promise<IpvsTable> {
      // -Sn leaves out thresholds (-x/-y); an edit that does not restate them clears them, so
      // they are read from the one listing that shows them.
      const table = parseSave(await list(['-Sn'], o));
      entries = tableEntries(table);
      const hasReals = [...table.services.values()].some((s) => s.reals.size > 0);
      return hasReals ? withThresholds(table, parseThresholds(await list(['-Ln', '--thresholds', '--exact'], o))) : table;
    },
    async counters(o?: ExecOptions): Promise<TableCounters> {
      return parseCounters(await list(['-Ln', '--persistent-conn', '--exact'], o));
    },
    async stats(o?: ExecOptions): Promise<TableStats> {
      return parseStatsListing(await list(['-Ln', '--stats', '--exact'], o));
    },
    async apply(lines: readonly string[], o?: ExecOptions): Promise<{ readonly errors: readonly string[] }> {
      checkLines(lines);
      if (lines.length === 0) return { errors: [] };
      const r = await exec(['-R'], lines.map((l) => `${l}\n`).join(''), applyBase + perEntry * lines.length, o);
      if (isInitFailure(r.stderr)) throw failed(path, ['-R'], `exit status ${r.status}`, r.stderr);
      const errors = r.stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
      if (errors.length > 0 || r.status !== 0) {
        // Status 2 means ipvsadm stopped at a line it rejected itself; later lines were not run.
        logger.warn({ status: r.status, errors, lines: lines.length }, 'ipvsadm -R reported errors');
        // A failing status with nothing printed still means something did not take effect.
        if (errors.length === 0) return { errors: [`ipvsadm -R exit status ${r.status}`] };
      }
      return { errors };
    },
    async daemons(o?: ExecOptions): Promise<SyncDaemons> {
      return parseDaemonListing(await list(['-L', '--daemon'], o));
    },
    async startDaemon(state: SyncDaemonState, spec: SyncDaemonSpec, o?: ExecOptions): Promise<void> {
      await command(startDaemonArgs(state, spec), o);
    },
    async stopDaemon(state: SyncDaemonState, o?: ExecOptions): Promise<void> {
      await command(stopDaemonArgs(state), o);
    },
  };

  /** One ipvsadm command that changes something (a sync daemon): a failing status rejects with its words. */
  async function command(args: readonly string[], o: ExecOptions | undefined): Promise<void> {
    const r = await exec(args, null, readBase, o);
    if (r.status !== 0) throw failed(path, args, `exit status ${r.status}`, r.stderr);
  }
}

/** Services plus reals. */
export function tableEntries(table: IpvsTable): number {
  let n = table.services.size;
  for (const s of table.services.values()) n += s.reals.size;
  return n;
}

export interface DryRunRunnerOptions {
  readonly logger: Logger;
  /** The table the dry run starts from; empty by default. */
  readonly initial?: IpvsTable;
}

/** What `lvsd run --dry-run` uses: never spawns ipvsadm; logs each line it would apply. */
export function createDryRunRunner(options: DryRunRunnerOptions): IpvsRunner & SyncDaemonRunner & { readonly memory: MemoryTable; readonly syncDaemons: MemoryDaemons } {
  const memory = new MemoryTable(options.initial);
  const syncDaemons = new MemoryDaemons();
  const { logger } = options;
  const daemonCommand = (args: readonly string[], c: Parameters<MemoryDaemons['exec']>[0], o?: ExecOptions): void => {
    o?.signal?.throwIfAborted();
    logger.info({ args }, 'dry-run: ipvsadm command');
    const r = syncDaemons.exec(c);
    if (r) throw failed('ipvsadm (dry run)', args, `exit status ${r.status}`, r.error);
  };
  return {
    memory,
    syncDaemons,
    async daemons(): Promise<SyncDaemons> {
      return syncDaemons.list();
    },
    async startDaemon(state: SyncDaemonState, spec: SyncDaemonSpec, o?: ExecOptions): Promise<void> {
      daemonCommand(startDaemonArgs(state, spec), { cmd: 'start', state, spec }, o);
    },
    async stopDaemon(state: SyncDaemonState, o?: ExecOptions): Promise<void> {
      daemonCommand(stopDaemonArgs(state), { cmd: 'stop', state }, o);
    },
    async read(): Promise<IpvsTable> {
      return memory.table();
    },
    async counters(): Promise<TableCounters> {
      const zero: RealCounters = { activeConns: 0, inactiveConns: 0, persistentConns: 0 };
      const out = new Map<string, Map<string, RealCounters>>();
      for (const [key, svc] of memory.table().services) out.set(key, new Map([...svc.reals.keys()].map((k) => [k, zero])));
      return out;
    },
    async stats(): Promise<TableStats> {
      // No packets flow through an in-memory table.
      const zero: TrafficStats = { connections: 0, inPackets: 0, outPackets: 0, inBytes: 0, outBytes: 0 };
      const out = new Map<string, { total: TrafficStats; reals: Map<string, TrafficStats> }>();
      for (const [key, svc] of memory.table().services) out.set(key, { total: zero, reals: new Map([...svc.reals.keys()].map((k) => [k, zero])) });
      return out;
    },
    async apply(lines: readonly string[], o?: ExecOptions): Promise<{ readonly errors: readonly string[] }> {
      checkLines(lines);
      o?.signal?.throwIfAborted();
      // A batch of lines per loop turn, paced: 2,000 lines at once held the loop (the logger blocks on a full pipe).
      let pause = PACED_LOG_PAUSE_MS;
      let t = performance.now();
      for (let i = 0; i < lines.length; i++) {
        if (i > 0 && i % PACED_LOG_BATCH === 0) {
          pause = nextPause(pause, performance.now() - t);
          await logPause(pause);
          t = performance.now();
        }
        logger.info({ line: lines[i] }, 'dry-run: ipvsadm -R line');
      }
      const { errors, status } = await memory.restoreInTurns(lines);
      if (errors.length > 0) logger.warn({ status, errors }, 'dry-run: ipvsadm -R would report errors');
      return { errors };
    },
  };
}

export type IpvsadmCheck = { readonly ok: true; readonly version: string } | { readonly ok: false; readonly error: LvsdError };

/**
 * Start-up check: `ipvsadm --version`. ipvsadm opens IPVS before it even prints its version, so
 * this also proves the kernel side (module loaded, enough privilege).
 */
export async function checkIpvsadm(path: string, timeoutMs = 10_000, signal?: AbortSignal): Promise<IpvsadmCheck> {
  try {
    const r = await run(path, ['--version'], null, { timeoutMs, signal });
    const version = /ipvsadm\s+(v\S+)/.exec(r.stdout)?.[1];
    if (r.status !== 0 || !version) {
      return { ok: false, error: failed(path, ['--version'], `exit status ${r.status}`, r.stderr || r.stdout) };
    }
    return { ok: true, version };
  } catch (err) {
    return { ok: false, error: err instanceof LvsdError ? err : failed(path, ['--version'], String(err)) };
  }
}

/** The runner of `lvsd run` and `lvsd plan`: ipvsadm, or under --dry-run the in-memory table. */
export function createRunner(snapshot: Snapshot, dryRun: boolean, logger: Logger): IpvsRunner & SyncDaemonRunner {
  return dryRun ? createDryRunRunner({ logger }) : createIpvsadmRunner({ path: snapshot.global.ipvsadm, logger });
}
