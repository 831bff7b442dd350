// Processes kernel tests start inside namespaces (realservers, DNS servers, the client agent):
// started with `ip netns exec`, ready when their output says so, killable and revivable, their
// output kept (last lines in memory, everything in /vmout/logs when running in the VM).

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { vmLogDir } from './exec.js';

const libDir = fileURLToPath(new URL('.', import.meta.url));
/** The compiled realserver program (see http-server.ts). */
export const httpServerScript = join(libDir, 'http-server.js');

export interface ProcessSpec {
  /** Label for messages and the log file name ("rs1-http"). */
  readonly label: string;
  /** Namespace to run in; undefined = the root namespace. */
  readonly ns?: string;
  readonly command: string;
  readonly args: readonly string[];
  /** A line on stdout or stderr that means "ready". */
  readonly ready: RegExp;
  readonly readyTimeoutMs?: number;
}

const TAIL_LINES = 50;

// Children must not outlive a test file that crashed or timed out: the next file would find
// their servers (or a daemon still editing IPVS) in its way.
const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/** Spawns a child that is SIGKILLed if this process exits first. */
export function spawnTracked(file: string, args: readonly string[], env?: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env });
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  return child;
}

/** One managed process: start, wait until ready, kill, revive with the same spec. */
export class ManagedProcess {
  private child: ChildProcess | null = null;
  private exitPromise: Promise<void> = Promise.resolve();
  private readonly tail: string[] = [];
  private log: WriteStream | null = null;
  private readonly lineListeners = new Set<(line: string) => void>();

  constructor(readonly spec: ProcessSpec) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last output lines, for error messages. */
  get recentOutput(): string {
    return this.tail.join('\n');
  }

  /** Starts the process and resolves once it printed its ready line (rejects if it exits first). */
  async start(): Promise<this> {
    if (this.running) throw new Error(`${this.spec.label} already running`);
    const { ns, command, args } = this.spec;
    const [file, argv] = ns === undefined ? [command, args] : ['ip', ['netns', 'exec', ns, command, ...args]];
    if (vmLogDir !== null && this.log === null) {
      this.log = createWriteStream(join(vmLogDir, `${this.spec.label}.log`), { flags: 'a' });
    }
    this.log?.write(`--- start ${file} ${argv.join(' ')}\n`);
    const child = spawnTracked(file, argv);
    this.child = child;
    this.exitPromise = new Promise((resolve) => child.once('close', () => resolve()));

    const timeoutMs = this.spec.readyTimeoutMs ?? 60_000;
    await new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (err?: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err === undefined) resolve();
        else reject(err);
      };
      const timer = setTimeout(
        () => finish(new Error(`${this.spec.label} not ready after ${timeoutMs} ms:\n${this.recentOutput}`)),
        timeoutMs,
      );
      const onLine = (line: string): void => {
        this.tail.push(line);
        if (this.tail.length > TAIL_LINES) this.tail.shift();
        for (const listener of this.lineListeners) listener(line);
        if (this.spec.ready.test(line)) finish();
      };
      for (const stream of [child.stdout, child.stderr]) {
        let buf = '';
        stream?.setEncoding('utf8');
        stream?.on('data', (chunk: string) => {
          this.log?.write(chunk);
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            onLine(buf.slice(0, nl));
            buf = buf.slice(nl + 1);
          }
        });
      }
      child.once('error', (err) => finish(new Error(`${this.spec.label}: ${err.message}`)));
      child.once('exit', (code, signal) =>
        finish(new Error(`${this.spec.label} exited (${code ?? signal}) before ready:\n${this.recentOutput}`)),
      );
    });
    return this;
  }

  /** The child's stdin, for line protocols (the client agent). */
  get stdin(): NodeJS.WritableStream {
    if (this.child?.stdin == null) throw new Error(`${this.spec.label} not running`);
    return this.child.stdin;
  }

  /** Calls `listener` with every output line (stdout and stderr) from now on; returns an unsubscribe. */
  onLine(listener: (line: string) => void): () => void {
    this.lineListeners.add(listener);
    return () => this.lineListeners.delete(listener);
  }

  /** Resolves when the process has exited (at once if it never started). */
  get exited(): Promise<void> {
    return this.exitPromise;
  }

  /** Kills the process (SIGKILL by default: a crash, no goodbye) and waits until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child === null) return;
    if (this.running) this.child.kill(signal);
    await this.exitPromise;
    this.log?.write(`--- stopped (${signal})\n`);
  }

  /** Starts it again with the same command line. */
  async revive(): Promise<this> {
    await this.kill();
    return this.start();
  }

  async dispose(): Promise<void> {
    await this.kill();
    await new Promise<void>((resolve) => (this.log === null ? resolve() : this.log.end(resolve)));
    this.log = null;
  }
}

export interface HttpServerOptions {
  readonly ns: string;
  /** The name it answers with: "hello from NAME". */
  readonly name: string;
  readonly port?: number;
  readonly mode?: 'http' | 'tcp';
  /** Bind address; default "::" (IPv4 and IPv6). */
  readonly host?: string;
  /** Listen on port .. port+portCount-1 (default 1). */
  readonly portCount?: number;
}

/** A node http (or tcp banner) realserver in a namespace; see http-server.ts. */
export function httpServer(opts: HttpServerOptions): ManagedProcess {
  const port = opts.port ?? 80;
  const mode = opts.mode ?? 'http';
  const args = [httpServerScript, '--port', String(port), '--name', opts.name, '--mode', mode];
  if (opts.host !== undefined) args.push('--host', opts.host);
  if (opts.portCount !== undefined) args.push('--port-count', String(opts.portCount));
  return new ManagedProcess({
    label: `${opts.ns}-${mode}-${port}`,
    ns: opts.ns,
    command: process.execPath,
    args,
    ready: /"ready":true/,
  });
}

export interface DnsServerOptions {
  readonly ns: string;
  /** Returned as the TXT record of whoami.test, so a client sees which server answered. */
  readonly name: string;
  /** Addresses to listen on (the namespace's own). */
  readonly listen: readonly string[];
  readonly port?: number;
  /** Extra A/AAAA records: { 'svc.test': '10.99.0.1' }. */
  readonly records?: Readonly<Record<string, string>>;
}

/** dnsmasq answering authoritative-style from its own records only (no upstream, no files). */
export function dnsServer(opts: DnsServerOptions): ManagedProcess {
  const port = opts.port ?? 53;
  const args = [
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--no-resolv',
    '--no-hosts',
    '--no-poll',
    '--bind-interfaces',
    '--user=root',
    '--pid-file=',
    '--log-facility=-',
    `--port=${port}`,
    ...opts.listen.map((a) => `--listen-address=${a}`),
    `--txt-record=whoami.test,${opts.name}`,
    ...Object.entries(opts.records ?? {}).map(([host, addr]) => `--host-record=${host},${addr}`),
  ];
  return new ManagedProcess({
    label: `${opts.ns}-dns-${port}`,
    ns: opts.ns,
    command: 'dnsmasq',
    args,
    ready: /started, version/,
  });
}
