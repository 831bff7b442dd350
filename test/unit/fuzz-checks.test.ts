// Property-based fuzzing (fast-check, fixed seeds) of the parsers the checkers own: the HTTP status
// response reader (status, body and digest modes), the DNS response reader and answer renderer, and agent replies. Contract:
// any input ends, never throws, and the verdict is one the checker can report. Counts per parser are
// printed as test diagnostics.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { encode } from 'dns-packet';
import type { Answer } from 'dns-packet';
import fc from 'fast-check';
import { MAX_WEIGHT_PERCENT, parseAgentReply } from '../../src/agent/agent-reply.js';
import { renderAnswer } from '../../src/checks/dns-render.js';
import { judgeResponse, readResponse } from '../../src/checks/dns-response.js';
import type { SentQuery } from '../../src/checks/dns-response.js';
import { ResponseReader } from '../../src/checks/http-response.js';
import type { ReadMode } from '../../src/checks/http-response.js';

const RUNS = Number(process.env["LVSD_FUZZ_RUNS"] ?? 3000);
const CODES = new Set(['ok', 'bad_status', 'error', 'dns_bad_response', 'dns_rcode', 'dns_answer_mismatch']);
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;

function report(t: TestContext, parser: string, cases: number): void {
  t.diagnostic(`fuzz ${parser}: ${cases} cases`);
}

/** Bytes near a valid input: cut at a random point, a byte overwritten, or spliced with noise. */
function mutated(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(valid, fc.nat(), fc.nat(255), fc.uint8Array({ maxLength: 32 }), fc.constantFrom('cut', 'flip', 'splice', 'as-is')).map(
    ([bytes, at, value, noise, how]) => {
      const i = bytes.length === 0 ? 0 : at % bytes.length;
      if (how === 'cut') return bytes.subarray(0, i);
      if (how === 'flip') {
        const out = Uint8Array.from(bytes);
        if (out.length > 0) out[i] = value;
        return out;
      }
      if (how === 'splice') return Uint8Array.from([...bytes.subarray(0, i), ...noise, ...bytes.subarray(i)]);
      return bytes;
    },
  );
}

describe('fuzz: HTTP response reader (status, body and digest modes)', () => {
  const ranges = fc.array(fc.tuple(fc.integer({ min: 100, max: 599 }), fc.integer({ min: 100, max: 599 })).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const), {
    minLength: 1,
    maxLength: 3,
  });
  const latin1 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));
  const bodies = [
    'content-length: 0\r\n\r\n',
    'content-length: 2\r\n\r\nok',
    'transfer-encoding: chunked\r\n\r\n2\r\nok\r\n3;x=1\r\n!!!\r\n0\r\n\r\n',
    'connection: close\r\n\r\nall ok here',
  ];
  const head = fc
    .tuple(
      fc.option(fc.constantFrom('HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n'), { nil: '' }),
      fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'http/1.1', 'HTTP/1.1 '),
      fc.integer({ min: 0, max: 1000 }),
      fc.string({ maxLength: 20 }),
      fc.constantFrom(...bodies),
    )
    .map(([interim, version, status, text, body]) => latin1(`${interim}${version} ${status} ${text}\r\n${body}`));
  const response = fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated(head), fc
      .tuple(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.integer({ min: 16 * 1024, max: 17 * 1024 }))
      .map(([seed, size]) => Uint8Array.from({ length: size }, (_v, i) => seed[i % seed.length]!)));
  const modes = fc.constantFrom<ReadMode>('status', 'body', 'digest');
  const CODES_HTTP = new Set(['ok', 'bad_status', 'error', 'reset', 'body_mismatch', 'digest_mismatch']);

  it('any byte stream, in any chunking, any mode: a verdict the checker reports, never a throw', (t) => {
    let cases = 0;
    fc.assert(
      fc.property(response, fc.array(fc.nat(), { maxLength: 6 }), ranges, modes, (bytes, cuts, expect, mode) => {
        cases += 1;
        const reader = new ResponseReader({
          mode,
          expectStatus: expect,
          expectBody: mode === 'status' ? null : /ok/,
          expectDigest: mode === 'digest' ? '444bcb3a3fcf8389296c49467f27e1d6' : undefined,
        });
        const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort((a, b) => a - b);
        let from = 0;
        let verdict = null;
        for (const to of [...points, bytes.length]) {
          verdict = reader.push(bytes.subarray(from, to));
          from = to;
          if (verdict !== null) break;
        }
        // Undecided in status mode only while fewer than 16 KiB came in; then the server's close decides.
        if (verdict === null && mode === 'status') assert.ok(bytes.length < 16 * 1024);
        verdict ??= reader.end();
        assert.ok(CODES_HTTP.has(verdict.code), verdict.code);
        assert.equal(typeof verdict.text, 'string');
        assert.ok(!CONTROL.test(verdict.text), `printable reason: ${JSON.stringify(verdict.text)}`);
        if (verdict.up) assert.ok(expect.some(([lo, hi]) => reader.status >= lo && reader.status <= hi));
        // After a verdict nothing more is read.
        assert.equal(reader.push(Uint8Array.from([72, 84, 84, 80])), null);
      }),
      { numRuns: RUNS, seed: 18 },
    );
    report(t, 'HTTP response reader', cases);
  });

  it('status mode: a response in one piece (the quick status-line path) gets the verdict it gets when its first byte comes alone (the general path)', (t) => {
    let cases = 0;
    const lines = fc
      .tuple(
        fc.constantFrom('HTTP/1.1 ', 'HTTP/1.0 ', 'HTTP/1.2 ', 'HTTP/1.1  ', 'HTTPS/1.1 '),
        fc.constantFrom('200', '503', '100', '101', '199', '099', '2x0', '1000', '302'),
        fc.constantFrom(' OK\r\n', '\r\n', '\r', '\rX\r\n', ' OK', ' OK\rstill\r\n', 'OK\r\n', ' \r\n'),
        fc.constantFrom('', 'content-length: 0\r\n\r\n', 'HTTP/1.1 200 OK\r\n\r\n'),
      )
      .map(([v, code, end, rest]) => latin1(`${v}${code}${end}${rest}`));
    fc.assert(
      fc.property(fc.oneof(lines, response), ranges, (bytes, expect) => {
        cases += 1;
        const whole = new ResponseReader({ mode: 'status', expectStatus: expect, expectBody: null });
        const split = new ResponseReader({ mode: 'status', expectStatus: expect, expectBody: null });
        const a = whole.push(bytes) ?? whole.end();
        const b = (bytes.length > 0 ? split.push(bytes.subarray(0, 1)) : null) ?? split.push(bytes.subarray(1)) ?? split.end();
        assert.deepEqual({ ...a }, { ...b });
        assert.equal(whole.status, split.status);
      }),
      { numRuns: RUNS, seed: 21 },
    );
    report(t, 'HTTP status line, whole vs split', cases);
  });

  it('a chunked body is decoded before expect_body sees it, split anywhere', () => {
    const text = 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\no\r\n1\r\nk\r\n0\r\n\r\n';
    fc.assert(
      fc.property(fc.nat(text.length), (cut) => {
        const reader = new ResponseReader({ mode: 'body', expectStatus: [[200, 299]], expectBody: /^ok$/ });
        const bytes = latin1(text);
        const v = reader.push(bytes.subarray(0, cut)) ?? reader.push(bytes.subarray(cut));
        assert.deepEqual(v, { up: true, code: 'ok', text: 'status 200, body matches /^ok$/' });
      }),
      { numRuns: 200, seed: 20 },
    );
  });
});

describe('fuzz crashers, kept as named regressions', () => {
  it('regression (fuzz, issue 18): a status line of DEL and NUL bytes gave a reason with a raw DEL; now escaped', () => {
    const v = new ResponseReader({ mode: 'status', expectStatus: [[200, 399]], expectBody: null }).push(Uint8Array.from([127, 0, 127, 0, 13, 10]));
    assert.ok(v !== null);
    assert.equal(v.text, 'not an HTTP/1.x status line: "\\u007f\\u0000\\u007f\\u0000"');
  });
});

describe('fuzz: DNS response reader and answer renderer', () => {
  const query: SentQuery = { id: 0x1234, name: 'www.example.test', type: 'A' };
  const answer: fc.Arbitrary<Answer> = fc.oneof(
    fc.ipV4().map((data): Answer => ({ name: 'www.example.test', type: 'A', ttl: 60, class: 'IN', data })),
    fc.ipV6().map((data): Answer => ({ name: 'www.example.test', type: 'AAAA', ttl: 60, class: 'IN', data })),
    fc.string({ maxLength: 40 }).map((s): Answer => ({ name: 'www.example.test', type: 'TXT', ttl: 1, class: 'IN', data: s })),
    fc.constant<Answer>({ name: 'www.example.test', type: 'CNAME', ttl: 5, class: 'IN', data: 'other.example.test' }),
    fc.constant<Answer>({ name: 'www.example.test', type: 'MX', ttl: 5, class: 'IN', data: { preference: 10, exchange: 'mx.example.test' } }),
  );
  const valid = fc
    .tuple(fc.array(answer, { maxLength: 4 }), fc.integer({ min: 0, max: 5 }), fc.boolean())
    .map(([answers, rcode, tc]) =>
      Uint8Array.from(
        encode({
          type: 'response',
          id: query.id,
          flags: rcode | (tc ? 0x200 : 0),
          questions: [{ name: 'www.example.test', type: 'A', class: 'IN' }],
          answers,
        }),
      ),
    );
  const message = fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated(valid), mutated(mutated(valid)));

  for (const transport of ['udp', 'tcp'] as const) {
    it(`${transport}: any message: a verdict, never a throw; rendered answers are printable and never "undefined"`, (t) => {
      let cases = 0;
      fc.assert(
        fc.property(message, fc.option(fc.string({ maxLength: 12 }), { nil: null }), (bytes, expectAnswer) => {
          cases += 1;
          const v = readResponse(Buffer.from(bytes), query, transport);
          if ('kind' in v) return;
          if (!v.ok) {
            assert.ok(CODES.has(v.code), v.code);
            assert.ok(!CONTROL.test(v.detail), JSON.stringify(v.detail));
            return;
          }
          if (v.message === null) {
            assert.equal(transport, 'udp', 'only UDP answers ask for a TCP retry');
            return;
          }
          let pattern: string | null = expectAnswer;
          try {
            if (pattern !== null) new RegExp(pattern);
          } catch {
            pattern = null; // config validation refuses patterns that do not compile
          }
          const judged = judgeResponse('NOERROR', pattern, v.message, v.rcode);
          assert.ok(CODES.has(judged.code));
          assert.ok(!CONTROL.test(judged.detail), JSON.stringify(judged.detail));
          for (const a of v.message.answers ?? []) {
            const line = renderAnswer(a);
            assert.ok(!CONTROL.test(line), JSON.stringify(line));
            if (a.type === 'A' || a.type === 'AAAA') assert.ok(!line.includes('undefined'), line);
          }
        }),
        { numRuns: RUNS, seed: 1853 },
      );
      report(t, `DNS response reader (${transport})`, cases);
    });
  }

  it('regression (issue 18): 0- and 1-byte messages are dns_bad_response', () => {
    for (const bytes of [Buffer.alloc(0), Buffer.from([0x12])]) {
      const v = readResponse(bytes, query, 'udp');
      assert.ok(!('kind' in v) && !v.ok && v.code === 'dns_bad_response');
    }
  });
});

describe('fuzz: agent replies', () => {
  const words = fc.constantFrom('up', 'down', 'ready', 'drain', 'maint', 'failed', 'stopped', '50%', '1000%', '1001%', '0%', '#', ',', ' ', '\r\n', '\0');
  const reply = fc.oneof(fc.string({ maxLength: 200 }), fc.array(words, { maxLength: 12 }).map((w) => w.join(' ')), fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')));

  it('any text: a reply or an error, never a throw; weights within 0..1000 %', (t) => {
    let cases = 0;
    fc.assert(
      fc.property(reply, (text) => {
        cases += 1;
        const r = parseAgentReply(text);
        if (!r.ok) {
          assert.equal(typeof r.error, 'string');
          return;
        }
        const w = r.reply.weightPercent;
        if (w !== undefined) assert.ok(Number.isInteger(w) && w >= 0 && w <= MAX_WEIGHT_PERCENT, String(w));
        if (r.reply.description !== undefined) assert.ok(!/[\r\n]/.test(r.reply.description));
      }),
      { numRuns: RUNS, seed: 20 },
    );
    report(t, 'agent replies', cases);
  });
});
