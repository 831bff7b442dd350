// `lvsd` as a child process for integration tests (run, status, check-config...), plus loopback ports and listeners.
// Runs the CLI compiled beside this helper: bin/lvsd.js when that is build/ (as `npm test` does),
// else the sibling build's main.js, so a private build directory tests its own code.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixturesDir, repoRoot } from './paths.js';

const mainJs = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const usesStandardBuild = relative(repoRoot, mainJs) === join('build', 'src', 'cli', 'main.js');

/** The fake ipvsadm (plain JS, no build needed): a table in a JSON file. */
export const fakeIpvsadm = join(fixturesDir, 'bin', 'ipvsadm');

/** argv that runs `lvsd ARGS...` with this build. */
export function lvsdCommand(args: readonly string[]): string[] {
  if (usesStandardBuild) return [join(repoRoot, 'bin', 'lvsd.js'), ...args];
  const code = `const { main } = await import(${JSON.stringify(new URL('../../src/cli/main.js', import.meta.url).href)}); process.exitCode = await main(process.argv.slice(1));`;
  return ['--input-type=module', '-e', code, '--', ...args];
}

/** A port free on 127.0.0.1 right now (bound and released; good enough on a test machine). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface TcpListener {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A TCP listener that accepts and closes: a healthy real for a tcp check. `port` 0 picks a free one;
 * a given port lets a test bring the same real back after closing it.
 */
export async function tcpListener(port = 0, host = '127.0.0.1'): Promise<TcpListener> {
  // Checkers reset connections they are done with; that is no error here.
  const server: Server = createServer((socket) => {
    socket.on('error', () => {});
    socket.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as { port: number }).port;
  return { port: bound, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run `lvsd ARGS` to completion (status, check-config...). */
export function runLvsd(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, lvsdCommand(args), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

export interface ConfigDir {
  readonly dir: string;
  readonly listen: string;
  readonly stateDir: string;
  remove(): Promise<void>;
}

/**
 * A config dir with lvsd.yaml (listen on a free loopback port, state in the dir) and the given
 * conf.d files. `globalExtra` is appended to lvsd.yaml.
 */
export async function configDir(services: Readonly<Record<string, string>>, globalExtra = ''): Promise<ConfigDir> {
  const dir = await mkdtemp(join(tmpdir(), 'lvsd-observe-'));
  const listen = `127.0.0.1:${await freePort()}`;
  const stateDir = join(dir, 'state');
  await mkdir(join(dir, 'conf.d'));
  await writeFile(join(dir, 'lvsd.yaml'), `listen: ${listen}\nstate_dir: ${stateDir}\ncontrol_socket: ${join(dir, 'control.sock')}\nresync_interval: 5s\nlog_level: debug\n${globalExtra}`);
  for (const [name, text] of Object.entries(services)) await writeFile(join(dir, 'conf.d', name), text);
  return { dir, listen, stateDir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface DaemonProcess {
  readonly child: ChildProcess;
  /** Log lines parsed so far. */
  readonly logs: Record<string, unknown>[];
  stderr(): string;
  /** Resolves with the first log line (past or future) that `match` accepts. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>>;
  /** SIGTERM and wait for the exit (SIGKILL if it hangs); resolves with the exit status. */
  stop(): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

/** How long waitForLog waits before it fails (generous: the machine is shared and slow at times). */
const WAIT_FOR_LOG_MS = 180_000;

/** Start `lvsd run -c DIR ARGS...` (add --dry-run to ARGS to keep away from any ipvsadm). */
/** For benchmarks: node options before the script (--cpu-prof, --import), another build's bin/lvsd.js. */
export interface DaemonSpawnOptions {
  readonly nodeArgs?: readonly string[];
  readonly entry?: string;
}

export function startDaemon(dir: string, args: readonly string[] = [], env: NodeJS.ProcessEnv = {}, spawnOptions: DaemonSpawnOptions = {}): DaemonProcess {
  const argv = ['run', '-c', dir, ...args];
  const command = spawnOptions.entry ? [spawnOptions.entry, ...argv] : lvsdCommand(argv);
  const child = spawn(process.execPath, [...(spawnOptions.nodeArgs ?? []), ...command], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  let stderr = '';
  let partial = '';
  child.stdout!.on('data', (c: Buffer) => {
    partial += c.toString();
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const text of lines) {
      if (!text.trim()) continue;
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        line = { msg: text, unparsed: true };
      }
      logs.push(line);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.match(line)) waiters.splice(i, 1)[0]!.resolve(line);
      }
    }
  });
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    logs,
    exited,
    stderr: () => stderr,
    waitForLog(match, what) {
      const seen = logs.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const dump = (): string => `\nstderr: ${stderr}\nlogs: ${logs.map((l) => JSON.stringify(l)).join('\n')}`;
        // A failure bound, never a timing assertion: a wait that cannot end must fail the test, not
        // hang the tier (regression: a test waiting for a log line that never came hung CI).
        const bound = setTimeout(() => reject(new Error(`no log line within ${WAIT_FOR_LOG_MS} ms: ${what}${dump()}`)), WAIT_FOR_LOG_MS);
        bound.unref();
        waiters.push({ match, resolve: (l) => { clearTimeout(bound); resolve(l); } });
        void exited.then((code) => {
          clearTimeout(bound);
          reject(new Error(`daemon exited (${code}) before: ${what}${dump()}`));
        });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        const code = await exited;
        clearTimeout(killer);
        return code;
      }
      return exited;
    },
  };
}

/** Poll `probe` until it returns a value that is not undefined (no time assertions: the test runner's timeout bounds it). */
export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, limitMs = 60_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
