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

/** "socket uid 0 (root, pid 1234)": the requester as the client reports itself. */
function describeClient(req: ControlRequest): string {
  const c = req.client;
  if (!c || typeof c.uid !== 'number') return 'socket (client did not say who it is)';
  return `socket uid ${c.uid}${c.user ? ` (${String(c.user).slice(0, 32)}, pid ${c.pid})` : ` (pid ${c.pid})`}`;
}

export class ControlServer {
  readonly #server: Server;
  readonly #log: Logger;
  #path: string | null = null;

  constructor(handler: ControlHandler, logger: Logger) {
    this.#log = logger;
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
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > MAX_LINE_BYTES) reply({ ok: false, code: CONTROL_BAD_REQUEST, error: 'request line too long' });
        return;
      }
      done = true;
      let data: unknown;
      try {
        data = JSON.parse(buf.slice(0, nl));
      } catch {
        reply({ ok: false, code: CONTROL_BAD_REQUEST, error: 'the request is not valid JSON' });
        return;
      }
      const req = checkRequest(data);
      if (typeof req === 'string') {
        reply({ ok: false, code: CONTROL_BAD_REQUEST, error: req });
        return;
      }
      Promise.resolve()
        .then(() => handler(req, describeClient(req)))
        .then(reply, (err: unknown) => {
          this.#log.error({ err: errorMessage(err) }, 'control request failed');
          reply({ ok: false, code: 'LVSD_CONTROL_FAILED', error: errorMessage(err) });
        });
    });
  }
}
