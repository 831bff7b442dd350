// What the daemon scenarios (scenarios-*.test.ts) share: lvsd.yaml with fast checks, a fresh
// listen port and a state dir per daemon; the daemon's log read as facts (the ipvsadm lines it
// applied, health transitions, reloads); a background recorder of every kernel table seen; and
// the daemon's own counters from /metrics.

import assert from 'node:assert/strict';
import type { Daemon, LogLine } from './daemon.js';
import { pollUntil, sleep } from './exec.js';
import { readFile } from 'node:fs/promises';
import { parseProcTable } from './ipvsadm.js';
import type { Table, TableService } from './ipvsadm.js';

/**
 * Checks fast enough that a scenario takes seconds, slow enough not to flap under TCG emulation on
 * a loaded machine: a TCP connect to a live realserver answers from the kernel, but while another
 * node process starts (20 s of emulated CPU for lvsd) the daemon itself may take 500 ms to see it.
 */
export const FAST_CHECK = { type: 'tcp', interval: '1s', timeout: '900ms', rise: 2, fall: 2 } as const;

// Every daemon gets its own listen port, so a daemon that has not let go of its port yet (or a
// test that forgot one) cannot make the next start fail.
let nextPort = 19_700 + (process.pid % 100) * 10;

/**
 * An lvsd.yaml for a scenario: its own listen port, its state in the config dir (`state`, relative
 * to it, so every fresh config dir starts with an empty ownership record), debug logs, fast
 * default checks. `extra` keys are added or override.
 */
export function globalConfig(extra: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  return {
    listen: `127.0.0.1:${nextPort++}`,
    state_dir: 'state',
    control_socket: 'control.sock',
    log_level: 'debug',
    defaults: { scheduler: 'rr', forwarding: 'masq', check: FAST_CHECK },
    ...extra,
  };
}

/** The listen port of a global config made by globalConfig(). */
export function listenPort(global: Readonly<Record<string, unknown>>): number {
  return Number(String(global['listen']).split(':').pop());
}

export interface Applied {
  /** Index of the log line. */
  readonly index: number;
  readonly reasons: readonly string[];
  readonly lines: readonly string[];
}

/** Every "applying IPVS changes" entry logged from index `since` on. */
export function appliedPasses(daemon: Daemon, since = 0): Applied[] {
  const out: Applied[] = [];
  daemon.logs.forEach((l, index) => {
    if (index < since || l.msg !== 'applying IPVS changes') return;
    out.push({ index, reasons: (l['reasons'] as string[] | undefined) ?? [], lines: (l['lines'] as string[] | undefined) ?? [] });
  });
  return out;
}

/** The ipvsadm -R lines the daemon applied from log index `since` on, in order. */
export function appliedLines(daemon: Daemon, since = 0): string[] {
  return appliedPasses(daemon, since).flatMap((p) => p.lines);
}

export interface Transition {
  readonly service: string;
  /** The real's key as the daemon logs it: "10.10.1.2:80", "[fd00:10:1::2]:80". */
  readonly real: string;
  readonly to: 'up' | 'down';
  readonly from?: 'unknown' | 'up' | 'down';
}

function isTransition(l: LogLine, t: Transition): boolean {
  return (
    l['event'] === 'health_transition' &&
    l['service'] === t.service &&
    l['real'] === t.real &&
    l['to'] === t.to &&
    (t.from === undefined || l['from'] === t.from)
  );
}

/** Waits for a health_transition log line; resolves with it and its index. */
export async function waitForTransition(
  daemon: Daemon,
  t: Transition,
  timeoutMs = 30_000,
  since = 0,
): Promise<{ line: LogLine; index: number }> {
  const line = await daemon.waitForLog((l) => isTransition(l, t), timeoutMs, since);
  return { line, index: daemon.logs.indexOf(line, since) };
}

/** Index of the first log line whose message contains `msg`, or -1. */
export function indexOfMessage(daemon: Daemon, msg: string, since = 0): number {
  const i = daemon.logs.slice(since).findIndex((l) => typeof l.msg === 'string' && l.msg.includes(msg));
  return i < 0 ? -1 : i + since;
}

/** [address, weight] of every real of a service, sorted by address; [] when the service is absent. */
export function realsOf(table: Table, key: string): [string, number][] {
  const service: TableService | undefined = table.byKey.get(key);
  return (service?.reals ?? []).map((r): [string, number] => [r.address, r.weight]).sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/** True when the service exists with exactly these [address, weight] reals (any order). */
export function hasReals(table: Table, key: string, want: readonly (readonly [string, number])[]): boolean {
  if (!table.byKey.has(key)) return false;
  const sorted = [...want].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  return JSON.stringify(realsOf(table, key)) === JSON.stringify(sorted);
}

/**
 * Reads the kernel table (/proc/net/ip_vs: no fork, cheap enough to read every 50 ms) over and
 * over in the background and keeps every distinct state seen, so a scenario can assert that no
 * intermediate state ever showed something (a dead real added, a service blinking during a
 * reload). It samples: the daemon's applied lines are the complete record, these are the kernel's
 * side of it. Only keys, addresses, weights, forwarding and schedulers (see parseProcTable).
 */
export class TableRecorder {
  private readonly seen: Table[] = [];
  private lastText = '';
  private running = true;
  private readonly loop: Promise<void>;
  private reads = 0;

  constructor(intervalMs = 50) {
    this.loop = (async () => {
      while (this.running) {
        await this.sample();
        await sleep(intervalMs);
      }
    })();
  }

  private async sample(): Promise<void> {
    try {
      const text = await readFile('/proc/net/ip_vs', 'utf8');
      this.reads++;
      if (text !== this.lastText) {
        this.lastText = text;
        this.seen.push(parseProcTable(text));
      }
    } catch {
      // A failing read is not a table state; the next one will do.
    }
  }

  /**
   * Stops after the read in flight, then reads once more: the table the caller has just waited for
   * is always among those seen (a stop during the loop's sleep lost it: the slow-start ramp test
   * once saw 10, 33, 55, 78 but not the final 100 it had waited for). The distinct tables, in order.
   */
  async stop(): Promise<Table[]> {
    this.running = false;
    await this.loop;
    await this.sample();
    return this.tables;
  }

  get tables(): Table[] {
    return [...this.seen];
  }

  /** [address, weight] of one service in every distinct table seen (absent service: null). */
  serviceHistory(key: string): ([string, number][] | null)[] {
    return this.seen.map((t) => (t.byKey.has(key) ? realsOf(t, key) : null));
  }

  get readCount(): number {
    return this.reads;
  }
}

/** One sample of the daemon's Prometheus text (no labels), e.g. lvsd_reconcile_passes_total. */
export async function metric(port: number, name: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await res.text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`metric ${name} not in /metrics`);
  return Number(line.slice(name.length + 1));
}

/** Waits until the daemon has run `count` more reconcile passes than it had at `from`. */
export async function waitForPasses(port: number, from: number, count: number, timeoutMs = 30_000): Promise<number> {
  return pollUntil(
    `${count} more reconcile passes`,
    async () => {
      const n = await metric(port, 'lvsd_reconcile_passes_total');
      return n >= from + count ? n : undefined;
    },
    timeoutMs,
    250,
  );
}

/** SIGTERM, and the daemon must exit 0 (a failed clean stop exits 1). */
export async function stopDaemon(daemon: Daemon): Promise<void> {
  if (!daemon.running) return;
  const code = await daemon.stop(60_000);
  assert.equal(code, 0, `lvsd exit code; last output:\n${daemon.recentLogs()}`);
}

/** Asserts that the daemon never logged an error (level 50+) or wrote to stderr. */
export function assertNoErrors(daemon: Daemon, allowed: readonly RegExp[] = []): void {
  const errors = daemon.logs.filter(
    (l) => (l.level === 'error' || l.level === 'fatal' || (typeof l.level === 'number' && l.level >= 50)) &&
      !allowed.some((re) => re.test(String(l.msg))),
  );
  assert.deepEqual(errors, [], 'error lines in the daemon log');
  assert.deepEqual(daemon.stderr, [], 'lvsd wrote to stderr');
}

/**
 * How long a daemon may take to start under TCG emulation: loading lvsd's modules alone costs
 * 15-45 s of emulated CPU (0.7 s on hardware), which is why scenarios share one daemon per file.
 */
export const START_WAIT = 180_000;

/** Lines (from `lines`) that name this VIP ("10.20.0.22:80", "[fd00:20::34]:80", "-f 33" = "33"). */
export function linesFor(lines: readonly string[], vipOrMark: string): string[] {
  return lines.filter((l) => (l.split(/\s+/)[2] ?? '') === vipOrMark);
}
