// HTTP/HTTPS checker against real node http/https servers on 127.0.0.1 and ::1: statuses, headers,
// bodies (bounded), failures, TLS verification and SNI, one connection per check, no leaked handles.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { HTTP_MAX_BODY } from '../../src/checks/http-response.js';
import { checkHttp } from '../../src/checks/http.js';
import { rawTcp } from '../../src/checks/raw-tcp.js';
import type { CheckTarget } from '../../src/checks/types.js';
import type { Family, HttpCheckSpec } from '../../src/config/model.js';
import { makeSelfSignedCert } from '../helpers/tls.js';

const FAMILIES: readonly { host: string; family: Family; shown: string }[] = [
  { host: '127.0.0.1', family: 4, shown: '127.0.0.1' },
  { host: '::1', family: 6, shown: '[::1]' },
];

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

/** A node http or https server whose handler each test sets; it records requests and connections. */
class TestServer {
  readonly server: Server;
  handler: Handler = (_req, res) => res.end('ok');
  requests: Seen[] = [];
  connections = 0;
  /** SNI of each TLS connection (false when the client sent none). */
  servernames: (string | false)[] = [];
  readonly sockets = new Set<Socket>();

  constructor(tls: { key: string; cert: string } | null) {
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      this.handler(req, res);
    };
    this.server = tls === null ? createHttpServer(onRequest) : createHttpsServer(tls, onRequest);
    // Count TCP connections (not TLS sessions) and track them so the test can wait for them to close.
    this.server.on('connection', (socket: Socket) => {
      this.connections++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {}); // Checks close with RST: ECONNRESET here is expected.
    });
    this.server.on('secureConnection', (s: TLSSocket) => this.servernames.push(s.servername ?? false));
    this.server.on('tlsClientError', () => {}); // A verifying client hangs up on our self-signed cert.
  }

  async listen(host: string): Promise<number> {
    this.server.listen(0, host);
    await once(this.server, 'listening');
    return (this.server.address() as { port: number }).port;
  }

  reset(handler: Handler = (_req, res) => res.end('ok')): void {
    this.handler = handler;
    this.requests = [];
    this.connections = 0;
    this.servernames = [];
  }

  async drained(): Promise<void> {
    // Not events.once: it rejects on the 'error' our RST close causes.
    for (const s of this.sockets) await new Promise((r) => s.once('close', r));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.server.close();
    await once(this.server, 'close');
  }
}

function httpTarget(host: string, family: Family, port: number, over: Partial<HttpCheckSpec> = {}): CheckTarget {
  const spec: HttpCheckSpec = {
    type: 'http', intervalMs: 1000, timeoutMs: 3000, rise: 1, fall: 1, port,
    method: 'GET', path: '/health', host: null, expectStatus: [[200, 399]], expectBody: null,
    tlsVerify: false, headers: {}, ...over,
  };
  return { address: { host, family, port }, spec, context: { serviceName: 'test', vip: null, fwmark: null, protocol: 'tcp' } };
}

/** Writes up to 1 GiB as fast as the client takes it and counts what the socket accepted. */
function endlessBody(counter: { written: number }): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    const chunk = Buffer.alloc(16 * 1024, 'x');
    const pump = (): void => {
      while (!res.destroyed && counter.written < 1024 ** 3) {
        counter.written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
    };
    pump();
  };
}

async function freePort(host: string): Promise<number> {
  const s = createNetServer();
  s.listen(0, host);
  await once(s, 'listening');
  const { port } = s.address() as { port: number };
  s.close();
  await once(s, 'close');
  return port;
}

interface Usage {
  readonly resources: number;
  readonly fds: number;
}

function usage(): Usage {
  return { resources: process.getActiveResourcesInfo().length, fds: readdirSync('/proc/self/fd').length };
}

/** Lets closing handles finish; with `target`, stops as soon as resources and fds are back to it. */
async function quiet(target?: Usage): Promise<Usage> {
  let u = usage();
  for (let i = 0; i < 50 && (target === undefined || u.resources !== target.resources || u.fds !== target.fds); i++) {
    await new Promise((r) => setImmediate(r));
    u = usage();
  }
  return u;
}

const never = new AbortController().signal;
/** Both reader modes most checks use: status line only, and the body read for a regex. */
const PATHS = [
  { name: 'status-only', over: {} },
  { name: 'with expect_body', over: { expectBody: 'ok' } },
] as const;

for (const fam of FAMILIES) {
  describe(`checkHttp over IPv${fam.family}`, () => {
    const srv = new TestServer(null);
    let port = 0;
    const target = (over: Partial<HttpCheckSpec> = {}): CheckTarget => httpTarget(fam.host, fam.family, port, over);
    const url = (): string => `http://${fam.shown}:${port}/health`;

    before(async () => {
      port = await srv.listen(fam.host);
    });
    after(() => srv.close());

    test('200 is up; the reason names method, URL and status', async () => {
      srv.reset();
      const r = await checkHttp(target(), never);
      assert.equal(r.up, true);
      assert.equal(r.code, 'ok');
      assert.equal(r.reason, `HTTP GET ${url()}: status 200`);
    });

    for (const path of PATHS) {
      test(`503 is bad_status (${path.name})`, async () => {
        srv.reset((_req, res) => {
          res.statusCode = 503;
          res.end('ok but down');
        });
        const r = await checkHttp(target(path.over), never);
        assert.equal(r.up, false);
        assert.equal(r.code, 'bad_status');
        assert.equal(r.reason, `HTTP GET ${url()}: status 503`);
      });

      test(`a new connection per check (${path.name})`, async () => {
        srv.reset();
        for (let i = 0; i < 3; i++) assert.equal((await checkHttp(target(path.over), never)).code, 'ok');
        assert.equal(srv.connections, 3);
        assert.equal(srv.requests.length, 3);
      });

      test(`a server that resets the connection is reset (${path.name})`, async () => {
        srv.reset((req) => req.socket.resetAndDestroy());
        const r = await checkHttp(target(path.over), never);
        assert.equal(r.up, false);
        assert.equal(r.code, 'reset');
      });

      test(`a server that closes without answering is reset (${path.name})`, async () => {
        srv.reset((req) => req.socket.destroy());
        const r = await checkHttp(target(path.over), never);
        assert.equal(r.code, 'reset');
        assert.match(r.reason, /closed by server/);
      });

      test(`a server that never answers is a timeout (${path.name})`, async () => {
        srv.reset(() => {});
        const r = await checkHttp(target({ ...path.over, timeoutMs: 150 }), never);
        assert.equal(r.up, false);
        assert.equal(r.code, 'timeout');
        assert.equal(r.reason, `HTTP GET ${url()}: timed out after 150 ms (connected, waiting for the response)`);
      });

      test(`the caller's abort ends a hanging check as cancelled (${path.name})`, async () => {
        srv.reset(() => {});
        const ac = new AbortController();
        const pending = checkHttp(target({ ...path.over, timeoutMs: 60_000 }), ac.signal);
        await once(srv.server, 'request');
        ac.abort();
        const r = await pending;
        assert.equal(r.code, 'error');
        assert.equal(r.reason, `HTTP GET ${url()}: cancelled`);
      });
    }

    test('expect_status takes lists and ranges', async () => {
      srv.reset((req, res) => {
        res.statusCode = Number(req.url!.slice(1));
        res.end();
      });
      const codeFor = async (status: number, expectStatus: [number, number][]): Promise<string> =>
        (await checkHttp(target({ path: `/${status}`, expectStatus }), never)).code;
      assert.equal(await codeFor(404, [[200, 200], [404, 404]]), 'ok');
      assert.equal(await codeFor(503, [[500, 599]]), 'ok');
      assert.equal(await codeFor(204, [[200, 200]]), 'bad_status');
      assert.equal(await codeFor(200, [[300, 399]]), 'bad_status');
    });

    test('a 301 is judged by expect_status and never followed', async () => {
      srv.reset((req, res) => {
        if (req.url === '/health') res.writeHead(301, { location: '/elsewhere' });
        res.end();
      });
      assert.equal((await checkHttp(target(), never)).code, 'ok');
      const r = await checkHttp(target({ expectStatus: [[200, 299]] }), never);
      assert.equal(r.code, 'bad_status');
      assert.equal(r.reason, `HTTP GET ${url()}: status 301`);
      assert.deepEqual(srv.requests.map((q) => q.url), ['/health', '/health']);
    });

    test('HEAD is sent as HEAD', async () => {
      srv.reset();
      const r = await checkHttp(target({ method: 'HEAD' }), never);
      assert.equal(r.code, 'ok');
      assert.equal(r.reason, `HTTP HEAD ${url()}: status 200`);
      assert.equal(srv.requests[0]?.method, 'HEAD');
    });

    test('an interim 103 Early Hints is skipped for the final status', async () => {
      srv.reset((_req, res) => {
        res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
        res.statusCode = 503;
        res.end();
      });
      const r = await checkHttp(target(), never);
      assert.equal(r.code, 'bad_status');
      assert.match(r.reason, /status 503$/);
    });

    test('Host defaults to the real address; spec.host and extra headers are sent', async () => {
      srv.reset();
      await checkHttp(target(), never);
      await checkHttp(target({ host: 'web.test', headers: { 'X-Check': 'lvsd', Accept: 'text/plain' } }), never);
      await checkHttp(target({ expectBody: 'ok', host: 'web.test', headers: { 'User-Agent': 'probe/2' } }), never);
      const [plain, named, body] = srv.requests;
      assert.equal(plain?.headers.host, `${fam.shown}:${port}`);
      assert.equal(plain?.headers['user-agent'], 'lvsd-health-check');
      assert.equal(named?.headers.host, 'web.test');
      assert.equal(named?.headers['x-check'], 'lvsd');
      assert.equal(named?.headers.accept, 'text/plain');
      assert.equal(body?.headers.host, 'web.test');
      assert.equal(body?.headers['user-agent'], 'probe/2');
    });

    test('expect_body matches across chunks; a mismatch is body_mismatch with an excerpt', async () => {
      srv.reset((_req, res) => {
        res.write('status: hea');
        setTimeout(() => res.end('lthy\n'), 10);
      });
      const ok = await checkHttp(target({ expectBody: 'status: healthy' }), never);
      assert.equal(ok.code, 'ok');
      const bad = await checkHttp(target({ expectBody: '^all good' }), never);
      assert.equal(bad.up, false);
      assert.equal(bad.code, 'body_mismatch');
      assert.equal(bad.reason, `HTTP GET ${url()}: status 200, body does not match /^all good/ (16 bytes): "status: healthy\\n"`);
    });

    test(`an endless body is not read past ${HTTP_MAX_BODY} bytes when expect_body does not match`, async () => {
      const counter = { written: 0 };
      srv.reset(endlessBody(counter));
      const r = await checkHttp(target({ expectBody: 'NEVER' }), never);
      assert.equal(r.code, 'body_mismatch');
      assert.match(r.reason, new RegExp(`in the first ${HTTP_MAX_BODY} bytes: "xxx`));
      await srv.drained();
      assert.ok(counter.written < 32 * 1024 * 1024, `server wrote ${counter.written} bytes`);
    });

    test('without expect_body an endless body is not read at all', async () => {
      const counter = { written: 0 };
      srv.reset(endlessBody(counter));
      const r = await checkHttp(target(), never);
      assert.equal(r.code, 'ok');
      await srv.drained();
      assert.ok(counter.written < 32 * 1024 * 1024, `server wrote ${counter.written} bytes`);
    });

    test('connection refused', async () => {
      const closed = await freePort(fam.host);
      const r = await checkHttp(httpTarget(fam.host, fam.family, closed), never);
      assert.equal(r.code, 'refused');
      assert.equal(r.reason, `HTTP GET http://${fam.shown}:${closed}/health: connection refused`);
    });

    test('a non-HTTP answer is an error naming what came back', async () => {
      const ssh = createNetServer((s) => {
        s.on('error', () => {}); // Our RST.
        s.end('SSH-2.0-OpenSSH_9.6\r\n');
      });
      ssh.listen(0, fam.host);
      await once(ssh, 'listening');
      const sshPort = (ssh.address() as { port: number }).port;
      try {
        const r = await checkHttp(httpTarget(fam.host, fam.family, sshPort), never);
        assert.equal(r.code, 'error');
        assert.match(r.reason, /not an HTTP\/1\.x status line: "SSH-2\.0-OpenSSH_9\.6"/);
      } finally {
        ssh.close();
      }
    });

    test('invalid config (header with CR/LF, bad pattern) is an error result, not a throw', async () => {
      const r1 = await checkHttp(target({ headers: { 'X-Bad': 'a\r\nInjected: 1' } }), never);
      assert.equal(r1.code, 'error');
      assert.match(r1.reason, /invalid value for header X-Bad/);
      const r2 = await checkHttp(target({ expectBody: '(' }), never);
      assert.equal(r2.code, 'error');
      assert.match(r2.reason, /invalid expect_body pattern/);
    });

    test('a status check closes with RST once it has the status line (no TIME_WAIT on the director)', async () => {
      srv.reset((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('partial body, never finished');
      });
      const closedWith: string[] = [];
      srv.server.once('connection', (s: Socket) => {
        s.on('error', (err: NodeJS.ErrnoException) => closedWith.push(err.code ?? err.message));
        s.on('end', () => closedWith.push('FIN'));
      });
      const r = await checkHttp(target(), never);
      assert.equal(r.code, 'ok');
      await srv.drained();
      assert.deepEqual(closedWith, ['ECONNRESET']);
    });

    test('a batch of checks leaves no handle or fd behind', async () => {
      srv.reset((req, res) => {
        if (req.url === '/slow') return;
        res.statusCode = req.url === '/down' ? 503 : 200;
        res.end('ok');
      });
      const before = await quiet();
      const closed = await freePort(fam.host);
      const results = await Promise.all([
        ...Array.from({ length: 8 }, () => checkHttp(target(), never)),
        ...Array.from({ length: 8 }, () => checkHttp(target({ expectBody: 'ok' }), never)),
        ...Array.from({ length: 4 }, () => checkHttp(target({ path: '/down' }), never)),
        ...Array.from({ length: 4 }, () => checkHttp(target({ path: '/slow', timeoutMs: 100 }), never)),
        ...Array.from({ length: 4 }, () => checkHttp(target({ path: '/slow', expectBody: 'ok', timeoutMs: 100 }), never)),
        ...Array.from({ length: 4 }, () => checkHttp(httpTarget(fam.host, fam.family, closed), never)),
      ]);
      assert.deepEqual(results.map((r) => r.code), [
        ...Array(16).fill('ok'), ...Array(4).fill('bad_status'), ...Array(8).fill('timeout'), ...Array(4).fill('refused'),
      ]);
      await srv.drained();
      assert.deepEqual(await quiet(before), before);
    });
  });
}

describe('checkHttp on the raw handle and on node:net (LVSD_TCP_CHECK=net) give the same results', () => {
  test('200, 503, an early close, a non-HTTP answer and refused; with expect_body (length, chunked, close-delimited) and expect_digest', async (t) => {
    assert.notEqual(rawTcp, null, 'Node 20 has the tcp_wrap and stream_wrap bindings');
    const srv = new TestServer(null);
    srv.reset((req, res) => {
      if (req.url === '/close') return void req.socket.destroy();
      if (req.url === '/chunked') {
        res.write('o');
        return void res.end('k');
      }
      if (req.url === '/raw') {
        // A close-delimited body: no Content-Length, no chunking.
        req.socket.end('HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall ok');
        return;
      }
      res.statusCode = req.url === '/down' ? 503 : 200;
      res.end('ok');
    });
    const port = await srv.listen('127.0.0.1');
    t.after(() => srv.close());
    const junk = createNetServer((c) => c.on('error', () => {}).end('SSH-2.0-OpenSSH\r\n'));
    junk.listen(0, '127.0.0.1');
    await once(junk, 'listening');
    t.after(() => junk.close());
    const junkPort = (junk.address() as { port: number }).port;
    const closed = await freePort('127.0.0.1');
    type Extra = { expectBody?: string; expectDigest?: string };
    const okDigest = createHash('md5').update('ok').digest('hex');
    const cases: [number, string, Extra][] = [
      [port, '/health', {}], [port, '/down', {}], [port, '/close', {}], [junkPort, '/', {}], [closed, '/', {}],
      [port, '/health', { expectBody: '^ok$' }], [port, '/chunked', { expectBody: '^ok$' }], [port, '/raw', { expectBody: 'ok$' }],
      [port, '/health', { expectBody: 'nope' }], [port, '/close', { expectBody: 'ok' }], [port, '/down', { expectBody: 'ok' }],
      [port, '/health', { expectDigest: okDigest }], [port, '/health', { expectDigest: 'f'.repeat(32) }],
    ];
    const here = [];
    for (const [p, path, extra] of cases) here.push(await checkHttp(httpTarget('127.0.0.1', 4, p, { path, ...extra }), never));
    const module = new URL('../../src/checks/http.js', import.meta.url).href;
    const script = `import(${JSON.stringify(module)}).then(async ({ checkHttp }) => {
      const out = [];
      for (const [port, path, extra] of ${JSON.stringify(cases)}) {
        const spec = { type: 'http', intervalMs: 1000, timeoutMs: 3000, rise: 1, fall: 1, port, method: 'GET', path, host: null, expectStatus: [[200, 399]], expectBody: null, tlsVerify: false, headers: {}, ...extra };
        out.push(await checkHttp({ address: { host: '127.0.0.1', family: 4, port }, spec, context: {} }, new AbortController().signal));
      }
      console.log(JSON.stringify(out));
    })`;
    const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, LVSD_TCP_CHECK: 'net' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 0);
    const there = JSON.parse(out) as { up: boolean; code: string; reason: string }[];
    assert.deepEqual(here.map((r) => r.code), [
      'ok', 'bad_status', 'reset', 'error', 'refused',
      'ok', 'ok', 'ok', 'body_mismatch', 'reset', 'bad_status',
      'ok', 'digest_mismatch',
    ]);
    assert.deepEqual(there.map((r) => [r.up, r.code, r.reason]), here.map((r) => [r.up, r.code, r.reason]));
  });
});

describe('checkHttp over TLS', () => {
  const cert = makeSelfSignedCert('web.test');

  for (const fam of FAMILIES) {
    describe(`HTTPS over IPv${fam.family}`, () => {
      const srv = new TestServer(cert);
      let port = 0;
      const target = (over: Partial<HttpCheckSpec> = {}): CheckTarget =>
        httpTarget(fam.host, fam.family, port, { type: 'https', ...over });

      before(async () => {
        port = await srv.listen(fam.host);
      });
      after(() => srv.close());

      for (const path of PATHS) {
        test(`tls_verify false accepts a self-signed certificate (${path.name})`, async () => {
          srv.reset();
          const r = await checkHttp(target(path.over), never);
          assert.equal(r.code, 'ok');
          assert.match(r.reason, new RegExp(`^HTTPS GET https://${fam.shown.replace(/[[\]]/g, '\\$&')}:${port}/health: status 200`));
        });

        test(`tls_verify true rejects a self-signed certificate as tls (${path.name})`, async () => {
          srv.reset();
          const r = await checkHttp(target({ ...path.over, tlsVerify: true, host: 'web.test' }), never);
          assert.equal(r.up, false);
          assert.equal(r.code, 'tls');
          assert.match(r.reason, /TLS handshake failed: self.signed certificate/);
          assert.equal(srv.requests.length, 0);
        });

        test(`SNI is spec.host, and none is sent for an address (${path.name})`, async () => {
          srv.reset();
          assert.equal((await checkHttp(target({ ...path.over, host: 'web.test' }), never)).code, 'ok');
          assert.equal((await checkHttp(target(path.over), never)).code, 'ok');
          assert.deepEqual(srv.servernames, ['web.test', false]);
          assert.equal(srv.requests[0]?.headers.host, 'web.test');
        });
      }

      test('a plain-HTTP server on the HTTPS port is a tls failure', async () => {
        const plain = createHttpServer((_req, res) => res.end('ok'));
        plain.listen(0, fam.host);
        await once(plain, 'listening');
        const plainPort = (plain.address() as { port: number }).port;
        try {
          const r = await checkHttp(httpTarget(fam.host, fam.family, plainPort, { type: 'https' }), never);
          assert.equal(r.code, 'tls');
        } finally {
          plain.closeAllConnections();
          plain.close();
        }
      });

      test('each HTTPS check opens its own connection and leaves nothing behind', async () => {
        srv.reset();
        const before = await quiet();
        for (let i = 0; i < 3; i++) assert.equal((await checkHttp(target(), never)).code, 'ok');
        assert.equal(srv.connections, 3);
        await srv.drained();
        assert.deepEqual(await quiet(before), before);
      });
    });
  }
});
