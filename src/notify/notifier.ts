// Notify commands (keepalived notify_up/notify_down/quorum_up/quorum_down, ldirectord's
// fallbackcommand): argv, no shell, run asynchronously with LVSD_* variables describing the event.
// Bounded concurrency and queue, a timeout that kills the whole process group; never awaited by
// a reconcile pass or a check.

import { spawn } from 'node:child_process';
import type { NotifyEvent, ServiceConfig } from '../config/model.js';
import { formatEndpoint } from '../config/endpoint.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { OutputTail, signalGroup } from '../checks/process-group.js';

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

  /** Wait for every queued and running command (stop, tests). No new events are taken. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }

  #pump(): void {
    while (this.#running.size < this.#concurrency && this.#queue.length > 0) {
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
    const result = await new Promise<{ result: NotifyResult; detail: string }>((resolve) => {
      const tail = new OutputTail();
      let timedOut = false;
      let child;
      try {
        child = spawn(job.argv[0]!, job.argv.slice(1), {
          detached: true, // own process group: a timeout kills everything the command started
          stdio: ['ignore', 'ignore', 'pipe'],
          env: job.env,
        });
      } catch (err) {
        resolve({ result: 'failed', detail: `cannot run: ${errorMessage(err)}` });
        return;
      }
      const proc = child;
      proc.stderr?.on('data', (c: Buffer) => tail.push(c));
      const timer = setTimeout(() => {
        timedOut = true;
        if (proc.pid !== undefined) signalGroup(proc.pid, 'SIGKILL');
      }, job.timeoutMs);
      proc.once('error', (err) => {
        clearTimeout(timer);
        resolve({ result: 'failed', detail: `cannot run: ${errorMessage(err)}` });
      });
      proc.once('close', (code, signal) => {
        clearTimeout(timer);
        if (timedOut) resolve({ result: 'timeout', detail: `killed after ${job.timeoutMs} ms` });
        else if (code === 0) resolve({ result: 'ok', detail: '' });
        else resolve({ result: 'failed', detail: `${signal ? `killed by ${signal}` : `exit ${code}`}${tail.lastLine() ? `: ${tail.lastLine()}` : ''}` });
      });
    });
    if (result.result === 'ok') logger.info(fields, `notify ${job.event} for ${job.service}: ok`);
    else logger.warn({ ...fields, result: result.result, detail: result.detail }, `notify ${job.event} for ${job.service} ${result.result}: ${result.detail}`);
    this.#o.onResult?.(job.event, result.result);
  }
}
