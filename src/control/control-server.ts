// The control socket: a Unix socket, mode 0600 and owned by the daemon's user (root), so that only
// root can change admin state; the TCP listener stays read-only. One request line, one reply line.

import { unlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { LvsdError, errorMessage } from '../errors.js';
import { listenPrivate } from '../private-socket.js';
import type { Logger } from '../log.js';
import { MAX_LINE_BYTES, encodeLine } from './protocol.js';
import type { ControlReply, ControlRequest, SyncRoleReply } from './protocol.js';
import { ADMIN_STATES } from './admin-model.js';
import type { AdminState } from './admin-model.js';
import { CONTROL_BAD_REQUEST } from './commands.js';
import { ThrottledWarning } from '../throttled-warning.js';

/** Connections served at once; past it a new one is closed at once (a CLI call holds one briefly). */
export const CONTROL_MAX_CONNECTIONS = 64;
/** Refused connections: one log line per period, with the count folded into it. */
const CONTROL_REFUSED_PERIOD_MS = 60_000;

export type ControlHandler = (request: ControlRequest, by: string) => Promise<ControlReply | SyncRoleReply> | ControlReply | SyncRoleReply;

/** What `sync-role` accepts: a role, or "config" to clear the run-time role. */
export const SYNC_ROLE_CHOICES = ['master', 'backup', 'both', 'none', 'config'] as const;

/** Validate the shape of a decoded request; returns an error text or the request. */
export function checkRequest(data: unknown): ControlRequest | string {
  if (typeof data !== 'object' || data === null) return 'a request is one JSON object';
  const r = data as Record<string, unknown>;
  if (r.v !== 1) return 'unsupported protocol version (expected "v": 1)';
  const str = (k: string): boolean => r[k] === undefined || typeof r[k] === 'string';
  if (r.cmd === 'list') return data as ControlRequest;
  if (r.cmd === 'sync-role') {
    if (r.role !== undefined && !(SYNC_ROLE_CHOICES as readonly unknown[]).includes(r.role)) return `role must be one of ${SYNC_ROLE_CHOICES.join(', ')}`;
    return data as ControlRequest;
  }
  if (r.cmd !== 'set') return `unknown cmd ${JSON.stringify(r.cmd)} (list, set, sync-role)`;
  if (!ADMIN_STATES.includes(r.state as AdminState)) return `state must be one of ${ADMIN_STATES.join(', ')}`;
  if (!str('service') || !str('real') || !str('host')) return 'service, real and host are strings';
  return data as ControlRequest;
}

/**
 * "socket uid 0 (root, pid 1234)": the requester as the client reports itself. Only integers and a
 * string are taken from it: turning a client's object into text runs its `toString`, and
 * `{"toString":1}` made that throw (regression found by the fuzz tier; issue 18).
 */
function describeClient(req: ControlRequest): string {
  const c: unknown = req.client;
  if (typeof c !== 'object' || c === null) return 'socket (client did not say who it is)';
  const { uid, user, pid } = c as Record<string, unknown>;
  if (!Number.isSafeInteger(uid)) return 'socket (client did not say who it is)';
  const pidText = Number.isSafeInteger(pid) ? String(pid) : '?';
  return `socket uid ${String(uid)}${typeof user === 'string' && user ? ` (${user.slice(0, 32)}, pid ${pidText})` : ` (pid ${pidText})`}`;
}

/** What the first line a client sent says: wait for more, a refusal, or a request and who sent it. */
export type DecodedRequest =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'refused'; readonly error: string }
  | { readonly kind: 'request'; readonly request: ControlRequest; readonly by: string };

/**
 * Decode what a client has sent so far (pure, for the fuzz tests): one line of at most
 * MAX_LINE_BYTES, one JSON object of the protocol's shape. Never throws.
 */
export function decodeRequest(buffered: string): DecodedRequest {
  const nl = buffered.indexOf('\n');
  if (nl < 0) return buffered.length > MAX_LINE_BYTES ? { kind: 'refused', error: 'request line too long' } : { kind: 'incomplete' };
  let data: unknown;
  try {
    data = JSON.parse(buffered.slice(0, nl));
  } catch {
    return { kind: 'refused', error: 'the request is not valid JSON' };
  }
  const request = checkRequest(data);
  if (typeof request === 'string') return { kind: 'refused', error: request };
  return { kind: 'request', request, by: describeClient(request) };
}

export class ControlServer {
  readonly #server: Server;
  readonly #log: Logger;
  #path: string | null = null;
  #open = 0;
  readonly #refused: ThrottledWarning;

  constructor(handler: ControlHandler, logger: Logger) {
    this.#log = logger;
    this.#refused = new ThrottledWarning(logger, CONTROL_REFUSED_PERIOD_MS);
    this.#server = createServer((socket) => this.#serve(socket, handler));
  }

  get path(): string | null {
    return this.#path;
  }

  /**
   * Listen on `path`, mode 0600. A stale socket file (nothing answering) is replaced; a live one
   * means another lvsd runs with the same control_socket: LvsdError LVSD_CONTROL_FAILED.
   */
  async listen(path: string): Promise<void> {
    try {
      await listenPrivate(this.#server, path, { refuseLive: true });
    } catch (err) {
      throw new LvsdError('LVSD_CONTROL_FAILED', `cannot open the control socket ${path}: ${errorMessage(err)}`, { cause: err });
    }
    this.#path = path;
    this.#server.on('error', (err) => this.#log.error({ code: 'LVSD_CONTROL_FAILED', err: errorMessage(err) }, 'control socket error'));
  }

  async close(): Promise<void> {
    if (!this.#path) return;
    const path = this.#path;
    this.#path = null;
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await unlink(path).catch(() => undefined);
  }

  #serve(socket: Socket, handler: ControlHandler): void {
    if (this.#open >= CONTROL_MAX_CONNECTIONS) {
      socket.on('error', () => undefined);
      socket.destroy();
      this.#refused.log(
        { code: 'LVSD_CONTROL_FAILED', event: 'control_connection_refused', socket: this.#path, max_connections: CONTROL_MAX_CONNECTIONS },
        `control socket: ${CONTROL_MAX_CONNECTIONS} connections open already; further connections closed`,
      );
      return;
    }
    this.#open++;
    socket.once('close', () => this.#open--);
    let buf = '';
    let done = false;
    const reply = (r: ControlReply | SyncRoleReply): void => {
      done = true;
      socket.end(encodeLine(r));
    };
    socket.setEncoding('utf8');
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('error', () => undefined);
    socket.on('data', (chunk: string) => {
      if (done) return;
      buf += chunk;
      const decoded = decodeRequest(buf);
      if (decoded.kind === 'incomplete') return;
      done = true;
      if (decoded.kind === 'refused') {
        reply({ ok: false, code: CONTROL_BAD_REQUEST, error: decoded.error });
        return;
      }
      const { request, by } = decoded;
      Promise.resolve()
        .then(() => handler(request, by))
        .then(reply, (err: unknown) => {
          this.#log.error({ err: errorMessage(err) }, 'control request failed');
          reply({ ok: false, code: 'LVSD_CONTROL_FAILED', error: errorMessage(err) });
        });
    });
  }
}
