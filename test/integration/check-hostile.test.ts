// Every checker against a hostile loopback server that answers with seeded random bytes, valid
// answers cut short, valid answers with bytes overwritten or garbage spliced in, in random chunks,
// then closing (FIN or RST) or staying silent. Each case: no exception reaches the process, none is
// caught by the failure boundary either (lvsd_check_internal_errors_total stays put), the result is
// a reportable one, and it is up only where the bytes legitimately satisfy the check (an oracle per
// protocol written from the protocol, not from the checker). Case counts per type are printed.

import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { decode, encode } from 'dns-packet';
import { parseAgentReply } from '../../src/agent/agent-reply.js';
import { probeAgent } from '../../src/checks/agent.js';
import { checkInternalErrors } from '../../src/checks/boundary.js';
import { runCheck } from '../../src/checks/index.js';
import type { CheckResult, CheckTarget } from '../../src/checks/types.js';
import type { CheckSpec } from '../../src/config/model.js';
import { makeSelfSignedCert } from '../helpers/tls.js';
import type { TestCert } from '../helpers/tls.js';

const CODES = new Set([
  'ok', 'refused', 'reset', 'timeout', 'unreachable', 'tls', 'bad_status', 'body_mismatch', 'digest_mismatch',
  'banner_mismatch', 'dns_rcode', 'dns_answer_mismatch', 'dns_bad_response', 'exit_code', 'spawn_failed', 'error',
]);
const PARALLEL = 24;
const TIMEOUT_MS = 400;
const common = { intervalMs: 1000, timeoutMs: TIMEOUT_MS, rise: 1, fall: 1 } as const;

/** mulberry32: a small seeded PRNG, so every run sends the same cases. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);
const bytes = (r: Rand, n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(r, 256)));

/** A hostile variant of `valid`. */
function hostile(r: Rand, valid: Buffer): Buffer {
  switch (int(r, 7)) {
    case 0:
      return bytes(r, int(r, 300));
    case 1:
      return Buffer.alloc(0);
    case 2:
      return valid.subarray(0, int(r, valid.length + 1));
    case 3: {
      const out = Buffer.from(valid);
      for (let i = 0, n = 1 + int(r, 3); i < n && out.length > 0; i++) out[int(r, out.length)] = int(r, 256);
      return out;
    }
    case 4: {
      const at = int(r, valid.length + 1);
      return Buffer.concat([valid.subarray(0, at), bytes(r, 1 + int(r, 40)), valid.subarray(at)]);
    }
    case 5:
      return Buffer.concat([valid, bytes(r, int(r, 64))]);
    default:
      return valid;
  }
}

/** How the server ends a case: FIN, RST, or silence until the check's timeout. */
type Ending = 'end' | 'reset' | 'silent';
const ending = (r: Rand): Ending => (r() < 0.05 ? 'silent' : r() < 0.5 ? 'end' : 'reset');

/** Write `data` in 1-4 random pieces, then end the way `how` says. */
function deliver(r: Rand, socket: Socket, data: Buffer, how: Ending): void {
  const pieces: Buffer[] = [];
  let rest = data;
  for (let n = int(r, 4); n > 0 && rest.length > 1; n--) {
    const cut = 1 + int(r, rest.length - 1);
    pieces.push(rest.subarray(0, cut));
    rest = rest.subarray(cut);
  }
  pieces.push(rest);
  const next = (): void => {
    if (socket.destroyed) return;
    const p = pieces.shift();
    if (p === undefined) {
      if (how === 'end') socket.end();
      // Node cannot reset a TLS socket (ERR_INVALID_HANDLE_TYPE): it gets a plain close instead.
      else if (how === 'reset') (socket as { encrypted?: boolean }).encrypted === true ? socket.destroy() : socket.resetAndDestroy();
      return;
    }
    if (p.length > 0) socket.write(p);
    setImmediate(next);
  };
  next();
}

function target(spec: CheckSpec): CheckTarget {
  return { address: { host: '127.0.0.1', family: 4, port: spec.port }, spec, context: { serviceName: 'hostile', vip: null, fwmark: null, protocol: 'tcp' } };
}

interface Tally {
  cases: number;
  up: number;
  codes: Map<string, number>;
}

/** Run `cases` cases, PARALLEL at a time; `one(i)` runs case i and returns its result and whether up was legitimate. */
async function campaign(
  t: TestContext,
  type: string,
  cases: number,
  seed: number,
  one: (r: Rand, i: number) => Promise<{ result: CheckResult; legit: boolean; what: string }>,
): Promise<void> {
  const internalBefore = [...checkInternalErrors().values()].reduce((a, b) => a + b, 0);
  const tally: Tally = { cases: 0, up: 0, codes: new Map() };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases) {
      const i = next++;
      // One PRNG per case: cases run interleaved, and each must see the same bytes on every run.
      const { result: r, legit, what } = await one(prng(seed * 1_000_003 + i), i);
      tally.cases += 1;
      assert.equal(typeof r.reason, 'string');
      assert.ok(r.reason.length > 0);
      assert.ok(CODES.has(r.code), `case ${i}: code ${r.code}`);
      assert.ok(Number.isFinite(r.latencyMs));
      assert.ok(!r.reason.includes('\0'), `case ${i}: NUL in reason`);
      assert.ok(!r.up || legit, `case ${i} (${what}) is up on bytes that do not satisfy the check: ${r.reason}`);
      if (r.up) tally.up += 1;
      tally.codes.set(r.code, (tally.codes.get(r.code) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  const internalAfter = [...checkInternalErrors().values()].reduce((a, b) => a + b, 0);
  assert.equal(internalAfter, internalBefore, 'no throw inside a checker, not even one the boundary caught');
  const codes = [...tally.codes].sort().map(([c, n]) => `${c} ${n}`).join(', ');
  const line = `hostile ${type}: ${tally.cases} cases, ${tally.up} up (${codes})`;
  t.diagnostic(line);
  assert.equal(tally.cases, cases);
}

/** A one-connection TCP (or TLS) server whose connection handler is `onSocket`; closed when the case ends. */
async function withServer<T>(
  cert: TestCert | null,
  onSocket: (s: Socket) => void,
  run: (port: number) => Promise<T>,
): Promise<T> {
  const sockets = new Set<Socket>();
  const handler = (s: Socket): void => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    onSocket(s);
  };
  const server: Server = cert === null ? createServer(handler) : createTlsServer({ key: cert.key, cert: cert.cert }, handler);
  if (cert !== null) server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await run((server.address() as { port: number }).port);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const latin1 = (b: Buffer): string => b.toString('latin1');

/** HTTP/1.x oracle: skip interim 1xx heads; the final status line must be complete and in range. */
function httpLegit(b: Buffer, lo: number, hi: number): boolean {
  let text = latin1(b).slice(0, 16 * 1024);
  for (;;) {
    // RFC 9112 status-line, read leniently as clients do: the code, then SP and anything up to CRLF.
    const m = /^HTTP\/1\.[01] (\d{3})(?:\r\n| [\s\S]*?\r\n)/.exec(text);
    if (m === null) return false;
    const status = Number(m[1]);
    if (status >= 100 && status < 200 && status !== 101) {
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return false;
      text = text.slice(end + 4);
      continue;
    }
    return status >= lo && status <= hi;
  }
}

describe('hostile servers: every checker lives through random and truncated answers', () => {
  let cert: TestCert;
  const uncaught: unknown[] = [];
  const record = (err: unknown): void => void uncaught.push(err);
  before(() => {
    cert = makeSelfSignedCert('hostile.test');
    process.on('uncaughtException', record);
  });
  after(() => {
    process.off('uncaughtException', record);
    assert.deepEqual(uncaught, [], 'no exception reached the process');
  });

  it('tcp with expect (banner)', async (t) => {
    await campaign(t, 'tcp expect', 600, 1, async (r) => {
      const payload = hostile(r, Buffer.from('220 mail.example.test ESMTP\r\n'));
      const how = ending(r);
      const result = await withServer(null, (s) => deliver(r, s, payload, how), (port) =>
        runCheck(target({ ...common, type: 'tcp', port, send: null, expect: '^220 ' }), new AbortController().signal));
      return { result, legit: /^220 /.test(latin1(payload)), what: `${payload.length} bytes, ${how}` };
    });
  });

  it('tcp dialogue (banner, HELO, 250)', async (t) => {
    await campaign(t, 'tcp dialogue', 400, 2, async (r) => {
      const a = hostile(r, Buffer.from('220 mail ESMTP\r\n'));
      const b = hostile(r, Buffer.from('250 hello\r\n'));
      const how = ending(r);
      const result = await withServer(
        null,
        (s) => {
          deliver(r, s, a, 'silent');
          s.once('data', () => deliver(r, s, b, how));
        },
        (port) =>
          runCheck(
            target({
              ...common, type: 'tcp', port, send: null, expect: null,
              dialogue: [{ send: null, expect: '^220' }, { send: 'HELO lvsd\r\n', expect: '^250' }],
            }),
            new AbortController().signal,
          ),
      );
      // Each expect sees what came since the previous match, and a chunk boundary starts a fresh
      // buffer, so "250" may start anywhere a piece of A or B began: any "250" after the banner counts.
      const legit = /^220/m.test(latin1(a)) && latin1(Buffer.concat([a, b])).includes('250');
      return { result, legit, what: `${JSON.stringify(latin1(a))} then ${JSON.stringify(latin1(b))}, ${how}` };
    });
  });

  const http = (type: 'http' | 'https', port: number, expectBody: string | null): CheckSpec => ({
    ...common, type, port, method: 'GET', path: '/', host: null, expectStatus: [[200, 399]], expectBody, tlsVerify: false, headers: {},
  });
  const httpTemplates = [
    'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok',
    'HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n',
    'HTTP/1.0 503 Service Unavailable\r\n\r\n',
    'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
  ];

  for (const [type, cases, tls, body] of [
    ['http', 800, false, null],
    ['http expect_body', 300, false, 'ok'],
    ['https', 200, true, null],
  ] as const) {
    it(type, async (t) => {
      await campaign(t, type, cases, type.length * 7 + cases, async (r) => {
        const payload = hostile(r, Buffer.from(httpTemplates[int(r, httpTemplates.length)]!, 'latin1'));
        const how = ending(r);
        const result = await withServer(tls ? cert : null, (s) => s.once('data', () => deliver(r, s, payload, how)), (port) =>
          runCheck(target(http(tls ? 'https' : 'http', port, body)), new AbortController().signal));
        const text = latin1(payload);
        const legit = httpLegit(payload, 200, 399) && (body === null || text.slice(text.indexOf('\r\n\r\n')).includes('ok'));
        return { result, legit, what: `${JSON.stringify(text)}, ${how}` };
      });
    });
  }

  /** DNS oracle: our id, QR set, opcode QUERY, rcode NOERROR and one question: the least an "up" needs. */
  const dnsLegit = (b: Buffer, id: number): boolean =>
    b.length >= 12 && b.readUInt16BE(0) === id && (b[2]! & 0x80) !== 0 && ((b[2]! >> 3) & 0x0f) === 0 && (b[3]! & 0x0f) === 0 && b.readUInt16BE(4) === 1;
  const dnsSpec = (port: number, transport: 'udp' | 'tcp'): CheckSpec => ({
    ...common, type: 'dns', port, query: 'www.example.test', queryType: 'A', transport, expectRcode: 'NOERROR', expectAnswer: null,
  });
  const dnsAnswer = (r: Rand, id: number): Buffer =>
    hostile(
      r,
      encode({
        type: 'response',
        id,
        flags: int(r, 4) === 0 ? 0x0200 : 0,
        questions: [{ name: 'www.example.test', type: 'A', class: 'IN' }],
        answers: [{ name: 'www.example.test', type: 'A', class: 'IN', ttl: 60, data: '10.0.0.5' }],
      }),
    );

  it('dns over udp', async (t) => {
    await campaign(t, 'dns udp', 600, 53, async (r) => {
      const sock = createSocket('udp4');
      let sent: Buffer = Buffer.alloc(0);
      let id = -1;
      sock.on('message', (msg, rinfo) => {
        let qid = 0;
        try {
          qid = decode(msg).id ?? 0;
        } catch {
          return;
        }
        id = qid;
        sent = dnsAnswer(r, qid);
        if (r() < 0.95) sock.send(sent, rinfo.port, rinfo.address);
      });
      await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
      try {
        // A TC answer makes the checker ask over TCP: nothing listens there (refused), which is a failure.
        const result = await runCheck(target(dnsSpec(sock.address().port, 'udp')), new AbortController().signal);
        return { result, legit: dnsLegit(sent, id) && (sent[2]! & 0x02) === 0, what: `${sent.length} bytes` };
      } finally {
        sock.close();
      }
    });
  });

  it('dns over tcp', async (t) => {
    await campaign(t, 'dns tcp', 600, 5353, async (r) => {
      let sent: Buffer = Buffer.alloc(0);
      let id = -1;
      const how = ending(r);
      const result = await withServer(
        null,
        (s) => {
          let pending = Buffer.alloc(0);
          s.on('data', (chunk: Buffer) => {
            pending = Buffer.concat([pending, chunk]);
            if (pending.length < 2 || pending.length < 2 + pending.readUInt16BE(0)) return;
            try {
              id = decode(pending.subarray(2, 2 + pending.readUInt16BE(0))).id ?? 0;
            } catch {
              return;
            }
            sent = dnsAnswer(r, id);
            const prefix = Buffer.alloc(2);
            // Mostly the true length; sometimes a lying one.
            prefix.writeUInt16BE(r() < 0.8 ? sent.length : int(r, 65536));
            deliver(r, s, Buffer.concat([prefix, sent]), how);
          });
        },
        (port) => runCheck(target(dnsSpec(port, 'tcp')), new AbortController().signal),
      );
      return { result, legit: dnsLegit(sent, id), what: `${sent.length} bytes, ${how}` };
    });
  });

  it('udp with expect', async (t) => {
    await campaign(t, 'udp expect', 600, 17, async (r) => {
      const sock = createSocket('udp4');
      const payload = hostile(r, Buffer.from('PONG 1\n'));
      sock.on('message', (_m, rinfo) => {
        if (r() < 0.95) sock.send(payload, rinfo.port, rinfo.address);
      });
      await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
      try {
        const result = await runCheck(
          target({ ...common, type: 'udp', port: sock.address().port, send: 'PING', expect: '^PONG' }),
          new AbortController().signal,
        );
        return { result, legit: /^PONG/.test(latin1(payload)), what: `${payload.length} bytes` };
      } finally {
        sock.close();
      }
    });
  });

  it('agent replies', async (t) => {
    const templates = ['up ready 75%\n', 'drain # maintenance\n', 'down # disk full\n', '100%\r\n'];
    await campaign(t, 'agent', 400, 20, async (r) => {
      const payload = hostile(r, Buffer.from(templates[int(r, templates.length)]!));
      const how = ending(r);
      const polled = await withServer(null, (s) => deliver(r, s, payload, how), (port) =>
        probeAgent({ host: '127.0.0.1', port, send: null, timeoutMs: TIMEOUT_MS }));
      // What the poller does with a reply: parse it (agent-reply.ts); neither may throw.
      const parsed = polled.ok ? parseAgentReply(polled.text) : null;
      const up = parsed?.ok === true;
      const result: CheckResult = {
        up,
        code: up ? 'ok' : 'error',
        reason: polled.ok ? (parsed!.ok ? `reply ${JSON.stringify(polled.text)}` : parsed!.error) : polled.error,
        latencyMs: 0,
      };
      // A parsed reply must come from bytes that name a state, an admin state or a weight.
      const legit = /\b(up|down|failed|fail|stopped|ready|drain|maint)\b|\d%/i.test(latin1(payload));
      return { result, legit, what: `${payload.length} bytes, ${how}` };
    });
  });
});
