// The one module that runs ipvsadm (and the dry-run stand-in that never does). No shell, bounded
// time, the child in its own process group so a timeout kills whatever it started (modprobe).

import { spawn } from 'node:child_process';
import { LvsdError } from '../errors.js';
import type { Logger } from '../log.js';
import type { IpvsRunner, IpvsTable, RealCounters, TableCounters, TableStats, TrafficStats } from './model.js';
import { MemoryTable } from './memory-table.js';
import { parseCounters, parseSave, parseThresholds, withThresholds } from './parse.js';
import { parseStatsListing } from './parse-stats.js';

export interface IpvsadmRunnerOptions {
  /** ipvsadm to run: an absolute path, or a name looked up on PATH. */
  readonly path: string;
  readonly logger: Logger;
  /** Limit for one read (-Sn, -Ln); default 10 s. */
  readonly readTimeoutMs?: number;
  /** Limit for one -R; default 60 s (large tables on slow machines). */
  readonly applyTimeoutMs?: number;
}

interface RunResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Most output kept from one run; a table of 10k services prints well under this. */
const MAX_OUTPUT = 64 * 1024 * 1024;

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

/** Whether stderr says ipvsadm could not talk to IPVS at all (nothing was read or applied). */
function isInitFailure(stderr: string): boolean {
  return /Can't initialize ipvs/.test(stderr);
}

/** Run ipvsadm once: resolves with its status and output; rejects only when it cannot run. */
function run(path: string, args: readonly string[], stdin: string | null, timeoutMs: number, signal?: AbortSignal): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(failed(path, args, 'aborted before it started'));
      return;
    }
    let child;
    try {
      child = spawn(path, args, { stdio: [stdin === null ? 'ignore' : 'pipe', 'pipe', 'pipe'], detached: true });
    } catch (err) {
      reject(failed(path, args, `cannot start (${(err as Error).message})`));
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let timedOut = false;
    const killGroup = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    // An abort (the daemon stopping) ends the run like a timeout: the whole group is killed.
    let aborted = false;
    const onAbort = (): void => {
      aborted = true;
      killGroup();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const collect = (into: Buffer[]) => (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_OUTPUT) killGroup();
      else into.push(chunk);
    };
    child.stdout!.on('data', collect(out));
    child.stderr!.on('data', collect(err));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (e.code === 'ENOENT') {
        reject(new LvsdError('LVSD_IPVSADM_MISSING',
          `ipvsadm not found at "${path}": install the ipvsadm package or set "ipvsadm:" in lvsd.yaml`, { cause: e }));
      } else {
        reject(new LvsdError('LVSD_IPVSADM_FAILED', `${path}: cannot run (${e.code ?? e.message})`, { cause: e }));
      }
    });
    child.on('close', (code, killedBy) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      const stderr = Buffer.concat(err).toString('utf8');
      if (aborted) reject(failed(path, args, 'aborted', stderr));
      else if (timedOut) reject(failed(path, args, `timed out after ${timeoutMs} ms`, stderr));
      else if (size > MAX_OUTPUT) reject(failed(path, args, `printed more than ${MAX_OUTPUT} bytes`));
      else if (code === null) reject(failed(path, args, `killed by ${killedBy}`, stderr));
      else resolve({ status: code, stdout: Buffer.concat(out).toString('utf8'), stderr });
    });
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

export function createIpvsadmRunner(options: IpvsadmRunnerOptions): IpvsRunner {
  const { path, logger } = options;
  const readTimeout = options.readTimeoutMs ?? 10_000;
  const applyTimeout = options.applyTimeoutMs ?? 60_000;

  async function list(args: readonly string[]): Promise<string> {
    const r = await run(path, args, null, readTimeout);
    if (r.status !== 0) throw failed(path, args, `exit status ${r.status}`, r.stderr);
    return r.stdout;
  }

  return {
    async read(): Promise<IpvsTable> {
      // -Sn leaves out thresholds (-x/-y); an edit that does not restate them clears them, so
      // they are read from the one listing that shows them.
      const table = parseSave(await list(['-Sn']));
      const hasReals = [...table.services.values()].some((s) => s.reals.size > 0);
      return hasReals ? withThresholds(table, parseThresholds(await list(['-Ln', '--thresholds', '--exact']))) : table;
    },
    async counters(): Promise<TableCounters> {
      return parseCounters(await list(['-Ln', '--persistent-conn', '--exact']));
    },
    async stats(): Promise<TableStats> {
      return parseStatsListing(await list(['-Ln', '--stats', '--exact']));
    },
    async apply(lines: readonly string[]): Promise<{ readonly errors: readonly string[] }> {
      checkLines(lines);
      if (lines.length === 0) return { errors: [] };
      const r = await run(path, ['-R'], lines.map((l) => `${l}\n`).join(''), applyTimeout);
      if (isInitFailure(r.stderr)) throw failed(path, ['-R'], `exit status ${r.status}`, r.stderr);
      const errors = r.stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
      if (errors.length > 0 || r.status !== 0) {
        // Status 2 means ipvsadm stopped at a line it rejected itself; later lines were not run.
        logger.warn({ status: r.status, errors, lines: lines.length }, 'ipvsadm -R reported errors');
      }
      return { errors };
    },
  };
}

export interface DryRunRunnerOptions {
  readonly logger: Logger;
  /** The table the dry run starts from; empty by default. */
  readonly initial?: IpvsTable;
}

/** What `lvsd run --dry-run` uses: never spawns ipvsadm; logs each line it would apply. */
export function createDryRunRunner(options: DryRunRunnerOptions): IpvsRunner & { readonly memory: MemoryTable } {
  const memory = new MemoryTable(options.initial);
  const { logger } = options;
  return {
    memory,
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
    async apply(lines: readonly string[]): Promise<{ readonly errors: readonly string[] }> {
      checkLines(lines);
      for (const line of lines) logger.info({ line }, 'dry-run: ipvsadm -R line');
      const { errors, status } = memory.restore(lines);
      if (errors.length > 0) logger.warn({ status, errors }, 'dry-run: ipvsadm -R would report errors');
      return { errors };
    },
  };
}

export type IpvsadmCheck = { readonly ok: true; readonly version: string } | { readonly ok: false; readonly error: LvsdError };

/**
 * Start-up check: `ipvsadm --version`. ipvsadm opens IPVS before it even prints its version, so
 * this also proves the kernel side (module loaded, enough privilege). `signal` aborts it (a stop
 * during start): the process group is killed and the check resolves not ok.
 */
export async function checkIpvsadm(path: string, timeoutMs = 10_000, signal?: AbortSignal): Promise<IpvsadmCheck> {
  try {
    const r = await run(path, ['--version'], null, timeoutMs, signal);
    const version = /ipvsadm\s+(v\S+)/.exec(r.stdout)?.[1];
    if (r.status !== 0 || !version) {
      return { ok: false, error: failed(path, ['--version'], `exit status ${r.status}`, r.stderr || r.stdout) };
    }
    return { ok: true, version };
  } catch (err) {
    return { ok: false, error: err instanceof LvsdError ? err : failed(path, ['--version'], String(err)) };
  }
}
