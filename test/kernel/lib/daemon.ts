// The lvsd daemon as a child process for kernel tests: `node bin/lvsd.js run -c DIR` with a config
// directory written here (lvsd.yaml + conf.d/*.yaml on the guest's tmpfs), its JSON log lines
// (pino, one object per stdout line) collected for waitForLog(), SIGHUP reloads, SIGTERM stops.

import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { repoRoot } from '../../helpers/paths.js';
import { vmLogDir } from './exec.js';
import { spawnTracked } from './servers.js';

export { waitForTable } from './ipvsadm.js';

/** The daemon's entry point; LVSD_BIN overrides it. */
export const lvsdBin = process.env['LVSD_BIN'] ?? join(repoRoot, 'bin', 'lvsd.js');

/** One log line: a pino object, or `{ level: 'unparsed', msg }` for a line that was not JSON. */
export interface LogLine {
  readonly level?: string | number;
  readonly msg?: string;
  readonly [key: string]: unknown;
}

type YamlDoc = string | Readonly<Record<string, unknown>>;

export interface DaemonConfig {
  /** lvsd.yaml: YAML text or an object; omitted = no global file. */
  readonly global?: YamlDoc;
  /** conf.d files by name ("web" or "web.yaml"): YAML text, an object, or a list of objects
   *  (one YAML document each, i.e. several virtual services in one file). */
  readonly services?: Readonly<Record<string, YamlDoc | readonly Readonly<Record<string, unknown>>[]>>;
}

function toYaml(doc: YamlDoc | readonly Readonly<Record<string, unknown>>[]): string {
  if (typeof doc === 'string') return doc;
  if (Array.isArray(doc)) return doc.map((d) => stringify(d)).join('---\n');
  return stringify(doc);
}

function serviceFile(dir: string, name: string): string {
  return join(dir, 'conf.d', /\.ya?ml$/.test(name) ? name : `${name}.yaml`);
}

/** Writes lvsd.yaml and conf.d/ into `dir` (created if needed); existing files are overwritten. */
export async function writeConfigDir(dir: string, config: DaemonConfig): Promise<void> {
  await mkdir(join(dir, 'conf.d'), { recursive: true });
  if (config.global !== undefined) await writeFile(join(dir, 'lvsd.yaml'), toYaml(config.global));
  for (const [name, doc] of Object.entries(config.services ?? {})) {
    await writeFile(serviceFile(dir, name), toYaml(doc));
  }
}

/** A fresh config directory on the guest's tmpfs holding `config`. */
export async function makeConfigDir(config: DaemonConfig = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lvsd-conf-'));
  await writeConfigDir(dir, config);
  return dir;
}

export interface DaemonOptions {
  readonly configDir: string;
  /** Extra arguments after `run -c DIR` (e.g. ["--dry-run"]). */
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Names the log file in /vmout/logs (default "lvsd"). */
  readonly label?: string;
  /** Entry point to run instead of lvsdBin (harness self-tests use a stand-in, the scale scenario the packaged bundle). */
  readonly bin?: string;
  /** Node/V8 flags before the entry (an entry's own `#!` line is not read when node runs it). */
  readonly nodeArgs?: readonly string[];
  /** Run in this network namespace (`ip netns exec NS`, which execs: the pid is lvsd's). */
  readonly netns?: string;
}

export interface DaemonExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

interface Waiter {
  readonly predicate: (line: LogLine) => boolean;
  readonly resolve: (line: LogLine) => void;
}

export class Daemon {
  /** Every log line so far, in order. */
  readonly logs: LogLine[] = [];
  /** stderr lines (should stay empty; pino logs to stdout). */
  readonly stderr: string[] = [];
  /** Resolves when the process exits. */
  readonly exited: Promise<DaemonExit>;
  private exitInfo: DaemonExit | null = null;
  private readonly waiters = new Set<Waiter>();
  private readonly logFile: WriteStream | null;

  private constructor(
    readonly configDir: string,
    private readonly child: ChildProcess,
    label: string,
  ) {
    this.logFile = vmLogDir === null ? null : createWriteStream(join(vmLogDir, `${label}.log`), { flags: 'a' });
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.exitInfo = { code, signal };
        this.logFile?.end(`--- exited code=${code} signal=${signal}\n`);
        resolve(this.exitInfo);
      });
    });
    this.readLines(child.stdout, (line) => this.onStdout(line));
    this.readLines(child.stderr, (line) => {
      this.stderr.push(line);
      this.logFile?.write(`stderr: ${line}\n`);
    });
  }

  /** Spawns the daemon; it is not ready yet: wait for a log line or a table state. */
  static start(opts: DaemonOptions): Promise<Daemon> {
    const args = [...(opts.nodeArgs ?? []), opts.bin ?? lvsdBin, 'run', '-c', opts.configDir, ...(opts.args ?? [])];
    const child = opts.netns === undefined
      ? spawnTracked(process.execPath, args, { ...process.env, ...opts.env })
      : spawnTracked('ip', ['netns', 'exec', opts.netns, process.execPath, ...args], { ...process.env, ...opts.env });
    const daemon = new Daemon(opts.configDir, child, opts.label ?? 'lvsd');
    daemon.logFile?.write(`--- start node ${args.join(' ')}\n`);
    return new Promise((resolve, reject) => {
      child.once('spawn', () => resolve(daemon));
      child.once('error', (err) => reject(new Error(`cannot start lvsd: ${err.message}`)));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  /** Index of the next log line: pass as `since` to wait only for lines logged after now. */
  mark(): number {
    return this.logs.length;
  }

  /**
   * Resolves with the first log line (from index `since`, default 0) that matches. Rejects when
   * the timeout passes or the daemon exits first, with the last lines in the message.
   */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 30_000, since = 0): Promise<LogLine> {
    const seen = this.logs.slice(since).find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    if (this.exitInfo !== null) return Promise.reject(this.failure('the daemon had already exited'));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve: (line) => {
          cleanup();
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(this.failure(`no matching log line within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
      void this.exited.then(() => {
        if (!this.waiters.has(waiter)) return;
        cleanup();
        reject(this.failure('the daemon exited before a matching log line'));
      });
    });
  }

  /** Shorthand: wait for a line whose `msg` matches. */
  waitForMessage(msg: string | RegExp, timeoutMs = 30_000, since = 0): Promise<LogLine> {
    const test = (m: unknown): boolean =>
      typeof m === 'string' && (typeof msg === 'string' ? m.includes(msg) : msg.test(m));
    return this.waitForLog((line) => test(line.msg), timeoutMs, since);
  }

  /** Writes (or overwrites) conf.d files and/or lvsd.yaml; does not signal the daemon. */
  async writeConfig(config: DaemonConfig): Promise<void> {
    await writeConfigDir(this.configDir, config);
  }

  async removeService(name: string): Promise<void> {
    await rm(serviceFile(this.configDir, name), { force: true });
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }

  /** SIGHUP: reload the configuration. */
  reload(): void {
    this.signal('SIGHUP');
  }

  /**
   * SIGTERM and wait for the exit; returns the exit code (null if it died of a signal). After
   * `timeoutMs` it is SIGKILLed and this rejects: a daemon that ignores SIGTERM is a failure.
   */
  async stop(timeoutMs = 30_000): Promise<number | null> {
    if (!this.running) return this.exitInfo?.code ?? null;
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const result = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.child.kill('SIGKILL');
      await this.exited;
      throw this.failure(`lvsd did not exit within ${timeoutMs} ms of SIGTERM`);
    }
    return result.code;
  }

  /** SIGKILL (a crash) and wait; for tests of what a dead daemon leaves behind. */
  async kill(): Promise<DaemonExit> {
    this.signal('SIGKILL');
    return this.exited;
  }

  /** The last log lines as text, for failure messages. */
  recentLogs(count = 30): string {
    const lines = this.logs.slice(-count).map((l) => JSON.stringify(l));
    const err = this.stderr.slice(-10).map((l) => `stderr: ${l}`);
    return [...lines, ...err].join('\n');
  }

  private failure(message: string): Error {
    const exit = this.exitInfo === null ? '' : ` (exit code ${this.exitInfo.code}, signal ${this.exitInfo.signal})`;
    return new Error(`${message}${exit}; last output:\n${this.recentLogs()}`);
  }

  private onStdout(line: string): void {
    this.logFile?.write(`${line}\n`);
    let parsed: LogLine;
    try {
      const value: unknown = JSON.parse(line);
      parsed = typeof value === 'object' && value !== null ? (value as LogLine) : { level: 'unparsed', msg: line };
    } catch {
      parsed = { level: 'unparsed', msg: line };
    }
    this.logs.push(parsed);
    for (const waiter of [...this.waiters]) {
      let match = false;
      try {
        match = waiter.predicate(parsed);
      } catch {
        // A predicate that throws on an unexpected line shape simply does not match it.
      }
      if (match) waiter.resolve(parsed);
    }
  }

  private readLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
    if (stream === null) return;
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim() !== '') onLine(line);
      }
    });
    stream.on('end', () => {
      if (buf.trim() !== '') onLine(buf);
      buf = '';
    });
  }
}

/** Starts lvsd on a fresh config directory holding `config`. */
export async function startDaemon(
  config: DaemonConfig,
  opts: Omit<DaemonOptions, 'configDir'> = {},
): Promise<Daemon> {
  return Daemon.start({ ...opts, configDir: await makeConfigDir(config) });
}
