// The observability HTTP listener: GET/HEAD of a few fixed paths, nothing else. Bound to the configured
// `listen` address only (127.0.0.1 by default); a failing bind is LVSD_LISTEN_FAILED at start.

import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LvsdError, errorMessage } from '../errors.js';
import type { ListenAddress } from '../config/model.js';
import type { Logger } from '../log.js';

export interface Reply {
  readonly status: number;
  readonly type: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export type Route = () => Reply | Promise<Reply>;

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // The page has inline CSS only: no scripts, no external requests, no framing.
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

const text = (status: number, body: string): Reply => ({ status, type: 'text/plain; charset=utf-8', body });

/** "127.0.0.1:9716", "[::1]:9716". */
export function formatListen(l: ListenAddress): string {
  return l.host.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`;
}

export class ObserveServer {
  readonly #routes: ReadonlyMap<string, Route>;
  readonly #log: Logger;
  #server: Server | null = null;

  constructor(routes: ReadonlyMap<string, Route>, logger: Logger) {
    this.#routes = routes;
    this.#log = logger;
  }

  /** Bind and serve; resolves with the bound address (port 0 picks a free one, for tests). */
  async listen(at: ListenAddress): Promise<ListenAddress> {
    const server = createServer((req, res) => void this.#handle(req, res));
    server.keepAliveTimeout = 5000;
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: at.host, port: at.port, exclusive: true }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'EADDRINUSE' ? 'address already in use' : code === 'EADDRNOTAVAIL' ? 'no such local address' : code === 'EACCES' ? 'permission denied' : errorMessage(err);
      throw new LvsdError('LVSD_LISTEN_FAILED', `cannot listen on ${formatListen(at)} (metrics, status API and page): ${why}`, { cause: err });
    }
    server.on('error', (err) => this.#log.error({ err: errorMessage(err) }, 'status listener error'));
    this.#server = server;
    const a = server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** Stop accepting and drop open connections (browsers keep idle ones alive). Idempotent. */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let reply: Reply;
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = this.#routes.get(path);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      reply = { ...text(405, 'method not allowed\n'), headers: { allow: 'GET, HEAD' } };
    } else if (!route) {
      reply = text(404, `not found; try / /status /metrics /healthz\n`);
    } else {
      try {
        reply = await route();
      } catch (err) {
        // A bug in a renderer must not take the daemon down; it shows as a 500 and a log line.
        this.#log.error({ path, err: errorMessage(err) }, 'status request failed');
        reply = text(500, `internal error: ${errorMessage(err)}\n`);
      }
    }
    const body = Buffer.from(reply.body, 'utf8');
    res.writeHead(reply.status, {
      ...SECURITY_HEADERS,
      ...reply.headers,
      'content-type': reply.type,
      'content-length': body.length,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}
