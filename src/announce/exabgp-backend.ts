// Backend `exabgp`: lvsd listens on a root-only Unix socket (announce.socket, 0600); `lvsd
// exabgp-bridge`, run by ExaBGP as an API `process`, connects to it and relays. lvsd writes
// `announce route VIP/32 next-hop self` / `withdraw route VIP/32` lines (IPv6: /128); ExaBGP answers
// each with `done` or `error` (its API acks, on by default in 4.2) and says `shutdown` when it
// stops. On every (re)connection a bridge gets the whole state, so a restarted ExaBGP re-announces.

import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { chmod, chown, unlink } from 'node:fs/promises';
import type { Family } from '../config/model.js';
import { LvsdError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { listenPrivate } from '../private-socket.js';
import type { AnnounceBackend, BackendErrorHook, BackendStatus, VipSet } from './backend.js';
import { prefixOf } from './backend.js';
import { groupId } from '../config/announce-resolve.js';
import { ThrottledWarning } from '../throttled-warning.js';

/** Bridges connected at once; ExaBGP runs one (two while it restarts). Past it: closed at once. */
export const EXABGP_MAX_BRIDGES = 16;
/**
 * Refused connections, `error` acks, and bridges connecting, disconnecting or failing: one log line
 * per period and kind, with the count folded into it.
 */
const EXABGP_LOG_PERIOD_MS = 60_000;

export interface ExabgpBackendOptions {
  readonly socket: string;
  /** A group that may connect too (mode 0660); null: owner only (0600). */
  readonly socketGroup?: string | null;
  readonly logger: Logger;
  readonly onError: BackendErrorHook;
  /** Longest wait for ExaBGP's acks of the withdraws of a clean stop (default 3 s). */
  readonly stopAckMs?: number;
  /** The period of the rate-limited lines (default 60 s; tests shorten it). */
  readonly logPeriodMs?: number;
}

/** The API line for one VIP. */
export function exabgpLine(announce: boolean, vip: string, family: Family): string {
  const prefix = prefixOf(vip, family);
  return announce ? `announce route ${prefix} next-hop self` : `withdraw route ${prefix}`;
}

interface Bridge {
  readonly socket: Socket;
  /** Commands sent and not acknowledged yet, oldest first (ExaBGP acks in order). */
  readonly pending: string[];
  buffer: string;
}

/** An answer of ExaBGP relayed by the bridge, or null for a line lvsd does not act on. */
export function parseAck(line: string): 'done' | 'error' | 'shutdown' | null {
  const word = line.trim().split(/\s+/)[0];
  return word === 'done' || word === 'error' || word === 'shutdown' ? word : null;
}

export class ExabgpBackend implements AnnounceBackend {
  readonly kind = 'exabgp' as const;
  readonly #o: ExabgpBackendOptions;
  readonly #server: Server;
  readonly #bridges = new Set<Bridge>();
  #listening = false;
  /** What the bridges were told last: VIP -> family, announced. */
  #announced = new Map<string, Family>();
  #known = new Map<string, Family>();
  /** set() was called: there is a state to tell (before the first results there is none). */
  #haveState = false;
  #lastAckError: string | null = null;
  #acks = { done: 0, error: 0 };
  #ackWaiters: (() => void)[] = [];
  readonly #refused: ThrottledWarning;
  readonly #ackErrorLine: ThrottledWarning;
  /**
   * The first bridge connecting (info), the last one leaving (warn), a bridge's socket error (warn):
   * each at most once a period (the rest at debug), so a connect/close loop on the socket cannot fill the log (issue 18).
   * What a period folded is summed up once it ends (#flapSummary), with the bridges connected then,
   * so the log always ends on the state the socket is in.
   */
  readonly #connectedLine: ThrottledWarning;
  readonly #disconnectedLine: ThrottledWarning;
  readonly #bridgeErrorLine: ThrottledWarning;
  #flapTimer: NodeJS.Timeout | null = null;
  readonly #periodMs: number;

  constructor(options: ExabgpBackendOptions) {
    this.#o = options;
    const period = (this.#periodMs = options.logPeriodMs ?? EXABGP_LOG_PERIOD_MS);
    this.#refused = new ThrottledWarning(options.logger, period);
    this.#ackErrorLine = new ThrottledWarning(options.logger, period, Date.now, 'error');
    this.#connectedLine = new ThrottledWarning(options.logger, period, Date.now, 'info');
    this.#disconnectedLine = new ThrottledWarning(options.logger, period, Date.now, 'warn');
    this.#bridgeErrorLine = new ThrottledWarning(options.logger, period, Date.now, 'warn');
    this.#server = createServer((socket) => this.#accept(socket));
    this.#server.on('error', (err) => {
      this.#o.logger.error({ code: 'LVSD_ANNOUNCE_FAILED', socket: this.#o.socket, err: errorMessage(err) }, 'exabgp socket error');
      this.#o.onError('socket', errorMessage(err));
    });
  }

  /** Listen on the socket, 0600 from its creation. ExaBGP keeps its own routes: nothing to adopt. */
  async start(configured: VipSet): Promise<VipSet> {
    this.#known = new Map(configured);
    const path = this.#o.socket;
    try {
      await listenPrivate(this.#server, path);
      const group = this.#o.socketGroup ?? null;
      if (group !== null) {
        // Debian's exabgp.service runs ExaBGP (and so the bridge) as the user exabgp.
        const gid = await groupId(group);
        if (gid === null) throw new Error(`no group "${group}" in /etc/group (announce.socket_group)`);
        await chown(path, process.getuid?.() ?? 0, gid);
        await chmod(path, 0o660);
      }
    } catch (err) {
      throw new LvsdError('LVSD_ANNOUNCE_FAILED', `cannot open the exabgp socket ${path}: ${errorMessage(err)}`, { cause: err });
    }
    this.#listening = true;
    this.#o.logger.info({ event: 'exabgp_socket_ready', socket: path, group: this.#o.socketGroup ?? null }, `waiting for lvsd exabgp-bridge on ${path}`);
    return new Map();
  }

  set(announced: VipSet, known: VipSet): void {
    const lines: string[] = [];
    for (const [vip, family] of announced) if (!this.#announced.has(vip)) lines.push(exabgpLine(true, vip, family));
    for (const [vip, family] of this.#announced) if (!announced.has(vip)) lines.push(exabgpLine(false, vip, family));
    this.#announced = new Map(announced);
    this.#known = new Map(known);
    this.#haveState = true;
    for (const b of this.#bridges) this.#send(b, lines);
  }

  /** Resolves once every command sent has been acknowledged (or its bridge is gone). */
  async settled(): Promise<void> {
    while ([...this.#bridges].some((b) => b.pending.length > 0)) {
      await new Promise<void>((resolve) => this.#ackWaiters.push(resolve));
    }
  }

  async close(withdraw: boolean): Promise<void> {
    if (withdraw) {
      // Also before any results: routes an earlier lvsd left in ExaBGP must not outlive the table.
      if (!this.#haveState) for (const b of this.#bridges) this.#send(b, [...this.#known].map(([vip, family]) => exabgpLine(false, vip, family)));
      else this.set(new Map(), this.#known);
      // Bounded: a stuck ExaBGP must not hold the stop; the lines are written either way.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.settled(), new Promise<void>((r) => (timer = setTimeout(r, this.#o.stopAckMs ?? 3000)))]);
      clearTimeout(timer);
    }
    for (const b of this.#bridges) b.socket.end();
    if (this.#listening) {
      this.#listening = false;
      await new Promise<void>((resolve) => this.#server.close(() => resolve()));
      await unlink(this.#o.socket).catch(() => undefined);
    }
    for (const b of this.#bridges) b.socket.destroy();
    this.#bridges.clear();
    if (this.#flapTimer !== null) clearTimeout(this.#flapTimer);
    this.#flapTimer = null;
    this.#wake();
  }

  status(): BackendStatus {
    const connected = this.#bridges.size;
    const error = !this.#listening ? 'the exabgp socket is not open' : connected === 0 ? 'no lvsd exabgp-bridge connected' : this.#lastAckError;
    return {
      backend: 'exabgp',
      ok: error === null,
      error,
      detail: {
        socket: this.#o.socket,
        bridges: connected,
        pending_acks: [...this.#bridges].reduce((n, b) => n + b.pending.length, 0),
        acks_done: this.#acks.done,
        acks_error: this.#acks.error,
      },
    };
  }

  #accept(socket: Socket): void {
    if (this.#bridges.size >= EXABGP_MAX_BRIDGES) {
      socket.on('error', () => undefined);
      socket.destroy();
      this.#refused.log(
        { code: 'LVSD_ANNOUNCE_FAILED', event: 'exabgp_connection_refused', socket: this.#o.socket, max_bridges: EXABGP_MAX_BRIDGES },
        `exabgp socket: ${EXABGP_MAX_BRIDGES} bridges connected already; further connections closed`,
      );
      return;
    }
    const bridge: Bridge = { socket, pending: [], buffer: '' };
    this.#bridges.add(bridge);
    socket.setEncoding('utf8');
    // Info only for the first bridge (announcing becomes possible), at most once a period; more are
    // debug, so that a member of socket_group cannot fill the log with connections (issue 18).
    const fields = { event: 'exabgp_bridge_connected', bridges: this.#bridges.size };
    if (this.#bridges.size > 1) this.#o.logger.debug(fields, 'lvsd exabgp-bridge connected');
    else if (!this.#connectedLine.log(fields, 'lvsd exabgp-bridge connected')) this.#folded(fields, 'lvsd exabgp-bridge connected');
    // The whole state: an ExaBGP that restarted has no routes, one that kept running gets the same
    // announces again (harmless) and the withdraws of what went down while no bridge was there.
    if (this.#haveState) {
      const lines: string[] = [];
      for (const [vip, family] of this.#announced) lines.push(exabgpLine(true, vip, family));
      for (const [vip, family] of this.#known) if (!this.#announced.has(vip)) lines.push(exabgpLine(false, vip, family));
      this.#send(bridge, lines);
    }
    socket.on('data', (chunk: string) => {
      bridge.buffer += chunk;
      // A bridge relays short ack lines; anything longer than this without a newline is not one.
      if (bridge.buffer.length > 65_536) bridge.buffer = bridge.buffer.slice(-65_536);
      let nl: number;
      while ((nl = bridge.buffer.indexOf('\n')) >= 0) {
        const line = bridge.buffer.slice(0, nl);
        bridge.buffer = bridge.buffer.slice(nl + 1);
        this.#answer(bridge, line);
      }
    });
    socket.on('error', (err) => {
      const fields = { event: 'exabgp_bridge_error', err: errorMessage(err) };
      if (!this.#bridgeErrorLine.log(fields, 'exabgp bridge connection error')) this.#folded(fields, 'exabgp bridge connection error');
    });
    socket.on('close', () => {
      if (!this.#bridges.delete(bridge)) return;
      bridge.pending.length = 0;
      this.#wake();
      if (!this.#listening) return;
      const fields = { event: 'exabgp_bridge_disconnected', bridges: this.#bridges.size };
      const msg = 'lvsd exabgp-bridge disconnected (ExaBGP stopped or restarts its process)';
      // The last bridge leaving stops announcing (warn, rate-limited); one of several leaving is
      // debug, like one of several connecting (a loop's next connection often comes before the close).
      if (this.#bridges.size > 0) this.#o.logger.debug(fields, msg);
      else if (!this.#disconnectedLine.log(fields, msg)) this.#folded(fields, msg);
    });
  }

  /**
   * A bridge line not logged at its level: debug only (log_level debug shows every one), and once
   * its period is over a summary says how many there were and where the socket stands.
   */
  #folded(fields: Record<string, unknown>, msg: string): void {
    this.#o.logger.debug({ ...fields, folded: true }, msg);
    if (this.#flapTimer !== null) return;
    this.#flapTimer = setTimeout(() => this.#flapSummary(), this.#periodMs);
    this.#flapTimer.unref();
  }

  #flapSummary(): void {
    this.#flapTimer = null;
    // Reset: the next connection after the summary is logged at once, with nothing left to fold.
    const connects = this.#connectedLine.reset();
    const disconnects = this.#disconnectedLine.reset();
    const errors = this.#bridgeErrorLine.reset();
    if (connects + disconnects + errors === 0 || !this.#listening) return;
    const bridges = this.#bridges.size;
    this.#o.logger[bridges === 0 ? 'warn' : 'info'](
      { event: 'exabgp_bridge_flapping', connects, disconnects, errors, bridges, period_s: this.#periodMs / 1000 },
      `lvsd exabgp-bridge: ${connects} connection(s), ${disconnects} disconnection(s) and ${errors} error(s) not logged in the last ${this.#periodMs / 1000}s; ${bridges} bridge(s) connected now`,
    );
  }

  #send(bridge: Bridge, lines: readonly string[]): void {
    if (lines.length === 0 || bridge.socket.destroyed) return;
    bridge.pending.push(...lines);
    bridge.socket.write(lines.map((l) => `${l}\n`).join(''));
    for (const l of lines) this.#o.logger.debug({ event: 'exabgp_command', command: l }, `exabgp: ${l}`);
  }

  #answer(bridge: Bridge, line: string): void {
    const ack = parseAck(line);
    if (ack === 'shutdown') {
      this.#o.logger.info({ event: 'exabgp_shutdown' }, 'ExaBGP says it is shutting down');
      return;
    }
    if (ack === null) {
      if (line.trim() !== '') this.#o.logger.debug({ event: 'exabgp_line', line: line.slice(0, 200) }, 'exabgp: line ignored');
      return;
    }
    const command = bridge.pending.shift() ?? null;
    this.#acks[ack]++;
    if (ack === 'done') {
      if (this.#lastAckError !== null) this.#lastAckError = null;
    } else {
      const message = `ExaBGP answered error to: ${command ?? '(no command pending)'}`;
      this.#lastAckError = message;
      // Counted each (acks_error), logged at most once a period: a bridge can send thousands.
      this.#ackErrorLine.log({ code: 'LVSD_ANNOUNCE_FAILED', event: 'exabgp_ack_error', command }, message);
      this.#o.onError('ack_error', message);
    }
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#ackWaiters;
    this.#ackWaiters = [];
    for (const w of waiters) w();
  }
}
