// expect_digest, urls and `lvsd digest` against real loopback HTTP(S) servers; the digest compared with
// an independently computed MD5 and with Debian's genhash (keepalived) run against the same server.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import type { Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { checkHttp } from '../../src/checks/http.js';
import type { CheckTarget } from '../../src/checks/types.js';
import type { Family, HttpCheckSpec, HttpUrlSpec } from '../../src/config/model.js';
import { runLvsd } from '../helpers/daemon-process.js';
import { makeSelfSignedCert } from '../helpers/tls.js';

const run = promisify(execFile);
const md5 = (b: string | Buffer): string => createHash('md5').update(b).digest('hex');
const never = new AbortController().signal;

const PAGE = 'hello world\n';
const BIG = 'x'.repeat(200_000) + '\n';
const CHUNKS = ['first chunk, ', 'second chunk\n'];
/** The chunked body as it travels (genhash hashes these bytes, framing included). */
const CHUNKED_WIRE = CHUNKS.map((c) => `${Buffer.byteLength(c).toString(16)}\r\n${c}\r\n`).join('') + '0\r\n\r\n';

function target(host: string, family: Family, port: number, over: Partial<HttpCheckSpec> = {}, tls = false): CheckTarget {
  const spec: HttpCheckSpec = {
    type: tls ? 'https' : 'http', intervalMs: 5000, timeoutMs: 3000, rise: 1, fall: 1, port,
    method: 'GET', path: '/', host: null, expectStatus: [[200, 299]], expectBody: null, tlsVerify: false, headers: {}, ...over,
  };
  return { address: { host, family, port }, spec, context: { serviceName: 't', vip: null, fwmark: null, protocol: 'tcp' } };
}

function handler(req: { url?: string | undefined }, res: import('node:http').ServerResponse): void {
  if (req.url === '/big') res.end(BIG);
  else if (req.url === '/missing') {
    res.statusCode = 404;
    res.end('not here\n');
  } else res.end(PAGE);
}

async function listen(server: Server | HttpServer, host: string): Promise<number> {
  server.listen(0, host);
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

/** genhash's digest line: the last line of its output. */
async function genhash(args: string[]): Promise<string> {
  const { stdout } = await run('genhash', args);
  return stdout.trim().split('\n').pop()!.trim();
}

describe('http expect_digest, urls and lvsd digest', () => {
  let http4: HttpServer;
  let http6: HttpServer;
  let https4: HttpServer;
  let chunked: Server;
  let p4 = 0;
  let p6 = 0;
  let ps = 0;
  let pc = 0;

  before(async () => {
    http4 = createHttpServer(handler);
    http6 = createHttpServer(handler);
    const cert = makeSelfSignedCert();
    https4 = createHttpsServer({ key: cert.key, cert: cert.cert }, handler);
    // Always answers chunked, even to HTTP/1.0 (some servers do): genhash then hashes the framing.
    chunked = createNetServer((s) => {
      s.on('error', () => {});
      s.once('data', () => s.end(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${CHUNKED_WIRE}`));
    });
    p4 = await listen(http4, '127.0.0.1');
    p6 = await listen(http6, '::1');
    ps = await listen(https4, '127.0.0.1');
    pc = await listen(chunked, '127.0.0.1');
  });
  after(async () => {
    for (const s of [http4, http6, https4, chunked]) {
      (s as HttpServer).closeAllConnections?.();
      s.close();
    }
  });

  test('the digest of a page equals an independently computed MD5, over IPv4, IPv6 and HTTPS', async () => {
    for (const t of [target('127.0.0.1', 4, p4, { expectDigest: md5(PAGE) }), target('::1', 6, p6, { expectDigest: md5(PAGE) }), target('127.0.0.1', 4, ps, { expectDigest: md5(PAGE) }, true)]) {
      const r = await checkHttp(t, never);
      assert.equal(r.up, true, r.reason);
      assert.match(r.reason, new RegExp(`digest ${md5(PAGE)}`));
    }
    const big = await checkHttp(target('127.0.0.1', 4, p4, { path: '/big', expectDigest: md5(BIG) }), never);
    assert.equal(big.up, true, big.reason);
  });

  test('a wrong digest is down with code digest_mismatch and names the digest seen', async () => {
    const r = await checkHttp(target('127.0.0.1', 4, p4, { expectDigest: md5('something else') }), never);
    assert.equal(r.up, false);
    assert.equal(r.code, 'digest_mismatch');
    assert.match(r.reason, new RegExp(`body digest ${md5(PAGE)} \\(12 bytes\\), expected ${md5('something else')}`));
  });

  test('status is judged before the digest; expect_body is matched too', async () => {
    const r = await checkHttp(target('127.0.0.1', 4, p4, { path: '/missing', expectDigest: md5('not here\n') }), never);
    assert.deepEqual([r.up, r.code], [false, 'bad_status']);
    const ok = await checkHttp(target('127.0.0.1', 4, p4, { path: '/missing', expectStatus: [[404, 404]], expectDigest: md5('not here\n'), expectBody: '^not' }), never);
    assert.equal(ok.up, true, ok.reason);
    const no = await checkHttp(target('127.0.0.1', 4, p4, { expectDigest: md5(PAGE), expectBody: 'nomatch' }), never);
    assert.deepEqual([no.up, no.code], [false, 'body_mismatch']);
  });

  test('genhash (keepalived) prints the same digest as lvsd digest and the checker, chunked framing included', async () => {
    // scripts/setup-system.sh installs keepalived; a missing genhash is a set-up failure, not a skip.
    assert.ok(existsSync('/usr/bin/genhash'), 'genhash not installed (scripts/setup-system.sh installs keepalived)');
    const plain = await genhash(['-s', '127.0.0.1', '-p', String(p4), '-u', '/']);
    assert.equal(plain, md5(PAGE));
    const big = await genhash(['-s', '127.0.0.1', '-p', String(p4), '-u', '/big']);
    assert.equal(big, md5(BIG));
    const wire = await genhash(['-s', '127.0.0.1', '-p', String(pc), '-u', '/']);
    assert.equal(wire, md5(CHUNKED_WIRE), 'genhash hashes the chunked body as received');
    const tls = await genhash(['-S', '-s', '127.0.0.1', '-p', String(ps), '-u', '/']);
    assert.equal(tls, md5(PAGE));
    for (const [url, want] of [[`http://127.0.0.1:${p4}/`, plain], [`http://127.0.0.1:${p4}/big`, big], [`http://127.0.0.1:${pc}/`, wire], [`https://127.0.0.1:${ps}/`, tls], [`http://[::1]:${p6}/`, plain]] as const) {
      const r = await runLvsd(['digest', url]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `${want}\n`, url);
    }
    const check = await checkHttp(target('127.0.0.1', 4, pc, { expectDigest: wire }), never);
    assert.equal(check.up, true, check.reason);
  });

  test('lvsd digest: status on stderr, exit 1 when nothing answers, 2 on a host name', async () => {
    const r = await runLvsd(['digest', `http://127.0.0.1:${p4}/missing`]);
    assert.deepEqual([r.status, r.stdout, r.stderr], [0, `${md5('not here\n')}\n`, 'status 404, 9 body bytes\n']);
    const closed = await runLvsd(['digest', '--timeout', '2s', `http://127.0.0.1:1/`]);
    assert.equal(closed.status, 1);
    assert.match(closed.stderr, /connection refused/);
    const name = await runLvsd(['digest', 'http://localhost/']);
    assert.equal(name.status, 2);
    assert.match(name.stderr, /"localhost" is not an IP address/);
  });

  test('urls: all pages must pass; the first failing one is named', async () => {
    const urls: HttpUrlSpec[] = [
      { path: '/', expectStatus: [[200, 200]], expectBody: null, expectDigest: md5(PAGE) },
      { path: '/missing', expectStatus: [[404, 404]], expectBody: 'here', expectDigest: null },
      { path: '/big', expectStatus: [[200, 299]], expectBody: null, expectDigest: md5(BIG) },
    ];
    const ok = await checkHttp(target('127.0.0.1', 4, p4, { urls }), never);
    assert.equal(ok.up, true, ok.reason);
    assert.match(ok.reason, /^3 urls ok: /);
    const bad = await checkHttp(target('127.0.0.1', 4, p4, { urls: [urls[0]!, { ...urls[1]!, expectStatus: [[200, 200]] }, urls[2]!] }), never);
    assert.deepEqual([bad.up, bad.code], [false, 'bad_status']);
    assert.match(bad.reason, /^url 2 of 3: HTTP GET http:\/\/127\.0\.0\.1:\d+\/missing: status 404$/);
  });

  test('a refused connection is down with code refused', async () => {
    const r = await checkHttp(target('127.0.0.1', 4, 1, { expectDigest: md5(PAGE) }), never);
    assert.deepEqual([r.up, r.code], [false, 'refused']);
  });
});
