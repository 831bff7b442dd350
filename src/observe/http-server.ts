// The observability HTTP listener: GET/HEAD of a few fixed paths, nothing else. Bound to the configured
// `listen` address only (127.0.0.1 by default); a failing bind is LVSD_LISTEN_FAILED at start.
// Nothing a client sends may take the daemon down: bad request-targets are 400, other methods 405,
// anything but an exact route 404, connections are capped and slow senders are cut off.

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

/** A route for every path under a prefix ("/health/vip/"); gets the rest of the path, never empty. */
export type PrefixRoute = (rest: string) => Reply | Promise<Reply>;

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // The page has inline CSS only: no scripts, no external requests, no framing.
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

const text = (status: number, body: string): Reply => ({ status, type: 'text/plain; charset=utf-8', body });

/** The listener's limits (documented in the README under "HTTP API limits"). */
export const HTTP_LIMITS = {
  /** Open connections at once; more are closed as they arrive (Prometheus and a few browsers need < 10). */
  maxConnections: 256,
  /** Longest request-target served; longer is 414 (the fixed paths are all short). */
  maxTargetLength: 2048,
  /** Request line and headers must be complete within this; slow senders (slowloris) are closed. */
  headersTimeoutMs: 10_000,
  /** A whole request, body included. */
  requestTimeoutMs: 30_000,
  /** How often Node checks the two timeouts above (its default, 30 s, let sockets linger ~40 s). */
  checkIntervalMs: 1_000,
  keepAliveTimeoutMs: 5_000,
  /** Request line plus headers; larger is 431 (Node's parser). */
  maxHeaderSize: 16 * 1024,
} as const;

/**
 * The path of a request-target, exactly as sent (no dot-segment or percent-decoding, so
 * "/../status" or "/%73tatus" match no route): origin-form "/p?q", or absolute-form "http://h/p"
 * whose authority must parse. null: not a target this server can answer (400).
 */
export function requestPath(target: string): string | null {
  if (target.startsWith('/')) return target.split(/[?#]/, 1)[0]!;
  const m = /^https?:\/\/[^/?#]*([^?#]*)/i.exec(target);
  if (!m) return null;
  try {
    new URL(target);
  } catch {
    return null;
  }
  return m[1] || '/';
}

/** "127.0.0.1:9716", "[::1]:9716". */
export function formatListen(l: ListenAddress): string {
  return l.host.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`;
}

export class ObserveServer {
  readonly #routes: ReadonlyMap<string, Route>;
  readonly #prefixRoutes: ReadonlyMap<string, PrefixRoute>;
  readonly #log: Logger;
  #server: Server | null = null;
  #dropped = 0;
  #lastErrorLogAt = 0;

  constructor(routes: ReadonlyMap<string, Route>, logger: Logger, prefixRoutes: ReadonlyMap<string, PrefixRoute> = new Map()) {
    this.#routes = routes;
    this.#prefixRoutes = prefixRoutes;
    this.#log = logger;
  }

  /** Bind and serve; resolves with the bound address (port 0 picks a free one, for tests). */
  async listen(at: ListenAddress): Promise<ListenAddress> {
    const server = createServer(
      {
        headersTimeout: HTTP_LIMITS.headersTimeoutMs,
        requestTimeout: HTTP_LIMITS.requestTimeoutMs,
        connectionsCheckingInterval: HTTP_LIMITS.checkIntervalMs,
        keepAliveTimeout: HTTP_LIMITS.keepAliveTimeoutMs,
        maxHeaderSize: HTTP_LIMITS.maxHeaderSize,
      },
      (req, res) => {
        this.#handle(req, res).catch((err: unknown) => {
          // #handle answers every error itself; reaching here is a bug, still never fatal.
          this.#log.error({ code: 'LVSD_INTERNAL', err: errorMessage(err) }, 'status request failed');
          res.destroy();
        });
      },
    );
    server.maxConnections = HTTP_LIMITS.maxConnections;
    server.on('drop', () => this.#dropped++);
    // Malformed requests Node's parser refuses (bad request line, headers too large): answered and
    // closed here; the socket may already be gone.
    server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      if (socket.writable && !socket.destroyed) {
        socket.end(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      }
      socket.destroy();
    });
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
    // After the bind, errors are accept() failures (EMFILE, ENFILE): the listener keeps going and
    // the log is throttled so an fd exhaustion does not also flood the journal.
    server.on('error', (err) => {
      const now = Date.now();
      if (now - this.#lastErrorLogAt < 10_000) return;
      this.#lastErrorLogAt = now;
      this.#log.warn({ code: (err as NodeJS.ErrnoException).code, err: errorMessage(err) }, 'status listener cannot accept a connection');
    });
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

  /** Connections closed at once because maxConnections were open. */
  get dropped(): number {
    return this.#dropped;
  }

  /** The exact route, else the prefix route with the rest of the path (one more segment, no '/'). */
  #route(path: string): Route | undefined {
    const exact = this.#routes.get(path);
    if (exact) return exact;
    for (const [prefix, handler] of this.#prefixRoutes) {
      const rest = path.slice(prefix.length);
      if (path.startsWith(prefix) && rest.length > 0 && !rest.includes('/')) return () => handler(rest);
    }
    return undefined;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let reply: Reply;
    const target = req.url ?? '/';
    const path = target.length > HTTP_LIMITS.maxTargetLength ? null : requestPath(target);
    const route = path === null ? undefined : this.#route(path);
    if (target.length > HTTP_LIMITS.maxTargetLength) {
      reply = text(414, 'request-target too long\n');
    } else if (path === null) {
      reply = text(400, 'bad request-target\n');
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      reply = { ...text(405, 'method not allowed\n'), headers: { allow: 'GET, HEAD' } };
    } else if (!route) {
      reply = text(404, `not found; try / /status /metrics /healthz /health/vip/ADDRESS\n`);
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
