// Notify commands (keepalived notify_up/notify_down/quorum_up/quorum_down, ldirectord's
// fallbackcommand): argv, no shell, run asynchronously with LVSD_* variables describing the event.
// Bounded concurrency and queue, a timeout that kills the whole process group; never awaited by
// a reconcile pass or a check.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { NotifyEvent, ServiceConfig } from '../config/model.js';
import { formatEndpoint } from '../config/endpoint.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { OutputTail, PIPE_WAIT_MS, signalGroup } from '../checks/process-group.js';
import { killTagged, newRunTag, RUN_TAG_VAR } from '../checks/escapees.js';

/** How long a SIGKILLed command may take to be reaped before its slot is freed anyway. */
const REAP_WAIT_MS = 1000;

export type NotifyResult = 'ok' | 'failed' | 'timeout' | 'dropped';

export interface NotifyDetails {
  /** Real events: "ip:port", from and to states, and why. */
  readonly real?: { readonly address: string; readonly host: string; readonly port: number };
  readonly from?: string;
  readonly to?: string;
  readonly reason?: string;
  /** Quorum and sorry events. */
  readonly weightSum?: number;
}

export interface NotifierOptions {
  readonly logger: Logger;
  /** Commands running at once; later events queue (default 4). */
  readonly concurrency?: number;
  /** Queued events beyond this are dropped and counted (default 1000). */
  readonly maxQueued?: number;
  /** Each finished command (metrics). */
  readonly onResult?: (event: NotifyEvent, result: NotifyResult) => void;
  readonly now?: () => number;
}

interface Job {
  readonly event: NotifyEvent;
  readonly service: string;
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly timeoutMs: number;
}

/** The documented environment of a notify command. */
export function notifyEnv(event: NotifyEvent, service: ServiceConfig, details: NotifyDetails, at: number): Record<string, string> {
  const env: Record<string, string> = {
    LVSD_EVENT: event,
    LVSD_SERVICE: service.name,
    LVSD_SERVICE_KEY: service.key,
    LVSD_PROTOCOL: service.kind === 'fwmark' ? 'fwmark' : service.protocol,
    LVSD_VIP: service.kind === 'address' ? service.vip.host : '',
    LVSD_VPORT: service.kind === 'address' ? String(service.vip.port) : '',
    LVSD_FWMARK: service.kind === 'fwmark' ? String(service.fwmark) : '',
    LVSD_QUORUM: String(service.quorum),
    LVSD_HYSTERESIS: String(service.hysteresis),
    LVSD_SORRY: service.sorry.map((s) => formatEndpoint(s.address)).join(' '),
    LVSD_TIME: new Date(at).toISOString(),
  };
  if (details.real) {
    env.LVSD_REAL = details.real.address;
    env.LVSD_RIP = details.real.host;
    env.LVSD_RPORT = String(details.real.port);
  }
  if (details.from !== undefined) env.LVSD_FROM = details.from;
  if (details.to !== undefined) env.LVSD_TO = details.to;
  if (details.reason !== undefined) env.LVSD_REASON = details.reason;
  if (details.weightSum !== undefined) env.LVSD_WEIGHT_SUM = String(details.weightSum);
  return env;
}

export class Notifier {
  readonly #o: NotifierOptions;
  readonly #concurrency: number;
  readonly #maxQueued: number;
  readonly #queue: Job[] = [];
  readonly #running = new Set<Promise<void>>();
  readonly #now: () => number;
  /** Kill switches of the running commands (close past its budget). */
  readonly #kills = new Set<() => void>();
  #closed = false;

  constructor(options: NotifierOptions) {
    this.#o = options;
    this.#concurrency = options.concurrency ?? 4;
    this.#maxQueued = options.maxQueued ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  /** Queue the service's command for `event`, if it has one. Returns at once. */
  emit(event: NotifyEvent, service: ServiceConfig, details: NotifyDetails = {}): void {
    const argv = service.notify.commands[event];
    if (!argv || this.#closed) return;
    if (this.#queue.length >= this.#maxQueued) {
      this.#o.logger.error({ event: 'notify_dropped', notify: event, service: service.name, queued: this.#queue.length }, 'notify queue full; command dropped');
      this.#o.onResult?.(event, 'dropped');
      return;
    }
    const env = { ...process.env, ...notifyEnv(event, service, details, this.#now()) };
    this.#queue.push({ event, service: service.name, argv, env, timeoutMs: service.notify.timeoutMs });
    this.#pump();
  }

  /**
   * Stop: no new events are taken, queued ones are dropped (counted), running ones may finish
   * within their timeout. Whatever still runs after `maxMs` is killed (group and tagged escapees)
   * and its pipes closed, so nothing of a command outlives the daemon's "stopped" line.
   */
  async close(maxMs = Infinity): Promise<void> {
    this.#closed = true;
    const dropped = this.#queue.splice(0);
    if (dropped.length) {
      this.#o.logger.warn({ event: 'notify_dropped', dropped: dropped.length }, `stopping: ${dropped.length} queued notify command(s) not run`);
      for (const job of dropped) this.#o.onResult?.(job.event, 'dropped');
    }
    let timer: NodeJS.Timeout | undefined;
    const over = new Promise<void>((resolve) => {
      if (Number.isFinite(maxMs)) timer = setTimeout(resolve, Math.max(0, maxMs));
    });
    const all = async (): Promise<void> => {
      while (this.#running.size > 0) await Promise.all([...this.#running]);
    };
    await Promise.race([all(), over]);
    clearTimeout(timer);
    for (const kill of this.#kills) kill();
    await Promise.race([all(), new Promise<void>((resolve) => setTimeout(resolve, PIPE_WAIT_MS).unref())]);
  }

  #pump(): void {
    while (!this.#closed && this.#running.size < this.#concurrency && this.#queue.length > 0) {
      const job = this.#queue.shift()!;
      const p: Promise<void> = this.#run(job).finally(() => {
        this.#running.delete(p);
        this.#pump();
      });
      this.#running.add(p);
    }
  }

  async #run(job: Job): Promise<void> {
    const { logger } = this.#o;
    const fields = { event: 'notify', notify: job.event, service: job.service, command: job.argv[0] };
    const result = await this.#execute(job);
    if (result.result === 'ok') logger.info(fields, `notify ${job.event} for ${job.service}: ok`);
    else logger.warn({ ...fields, result: result.result, detail: result.detail }, `notify ${job.event} for ${job.service} ${result.result}: ${result.detail}`);
    this.#o.onResult?.(job.event, result.result);
  }

  /**
   * Run one command as MISC checks run theirs (src/checks/misc.ts): own process group, a run tag
   * its descendants inherit, SIGKILL of the group and the tagged at the timeout or when the
   * command exits, and at most PIPE_WAIT_MS for the stderr pipe to close after that, so a
   * descendant that left the group (setsid) and holds the pipe cannot hold a slot.
   */
  async #execute(job: Job): Promise<{ result: NotifyResult; detail: string }> {
    const tail = new OutputTail();
    const tag = newRunTag();
    let proc: ChildProcess;
    try {
      proc = spawn(job.argv[0]!, job.argv.slice(1), {
        detached: true, // own process group: a timeout kills everything the command started
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...job.env, [RUN_TAG_VAR]: tag },
      });
    } catch (err) {
      return { result: 'failed', detail: `cannot run: ${errorMessage(err)}` };
    }
    proc.stderr?.on('data', (c: Buffer) => tail.push(c));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null } | Error>((resolve) => {
      proc.once('exit', (code, signal) => resolve({ code, signal }));
      proc.once('error', resolve);
    });
    proc.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => proc.once('close', () => resolve()));
    const killAll = (): void => {
      if (proc.pid === undefined) return;
      signalGroup(proc.pid, 'SIGKILL');
      void killTagged(tag, proc.pid);
    };
    this.#kills.add(killAll);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), job.timeoutMs)));
    try {
      const first = await Promise.race([exited, timedOut]);
      if (first instanceof Error) return { result: 'failed', detail: `cannot run: ${errorMessage(first)}` };
      if (proc.pid !== undefined) {
        // At the timeout, or leftovers of a command that exited: the group, then those that left it.
        signalGroup(proc.pid, 'SIGKILL');
        await killTagged(tag, proc.pid);
      }
      if (first === 'timeout') {
        await waitMs(exited, REAP_WAIT_MS);
        await waitMs(closed, PIPE_WAIT_MS);
        return { result: 'timeout', detail: `killed after ${job.timeoutMs} ms` };
      }
      await waitMs(closed, PIPE_WAIT_MS);
      if (first.code === 0) return { result: 'ok', detail: '' };
      const last = tail.lastLine();
      return { result: 'failed', detail: `${first.signal ? `killed by ${first.signal}` : `exit ${first.code}`}${last ? `: ${last}` : ''}` };
    } finally {
      clearTimeout(timer);
      this.#kills.delete(killAll);
      proc.stderr?.destroy();
    }
  }
}

/** Wait for `p` at most `ms`. True if `p` settled in time. */
async function waitMs(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
