// config/dns-name.ts decides without dns-packet whether a dns check's query can be sent; the checker
// builds it with dns-packet (checks/dns-query.ts). A config that loads must be one the checker can
// send and the other way round, so both verdicts are compared over generated names, biased towards
// the edges: dots, line breaks (dns-packet strips dots with a multi-line pattern), lone surrogates,
// multi-byte characters, labels around 63 bytes and names around 255.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dnsQueryProblem } from '../../src/config/dns-name.js';
import { DNS_QUERY_TYPES } from '../../src/config/schema.js';
import { encodeQuery } from '../../src/checks/dns-query.js';

const checkerVerdict = (query: string, type: string): boolean => typeof encodeQuery(query, type, 0) !== 'string';
const configVerdict = (query: string, type: string): boolean => dnsQueryProblem(query, type) === null;

const piece = fc.oneof(
  fc.constantFrom('.', '..', '\n', '\r', '\u2028', '\u2029', 'a', 'Z', 'é', 'İ', '😀', '-', '_', ' ', '\0', '\uD800', '\uDC00'),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.integer({ min: 1, max: 330 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 20, max: 100 }).map((n) => 'é'.repeat(n)),
);
const name = fc.array(piece, { maxLength: 12 }).map((parts) => parts.join(''));
/** Names made of labels, most of them valid, some near the byte limits. */
const labelled = fc
  .array(fc.integer({ min: 0, max: 70 }), { minLength: 1, maxLength: 9 })
  .chain((lengths) => fc.tuple(fc.constant(lengths.map((n) => 'a'.repeat(n)).join('.')), fc.constantFrom('', '.', '..')))
  .map(([n, tail]) => n + tail);
// The schema admits only its DNS_QUERY_TYPES (upper-cased) to this predicate; BOGUS stands for the rest.
const queryType = fc.constantFrom(...DNS_QUERY_TYPES, 'BOGUS');

describe('config dns name predicate and the DNS checker agree', () => {
  it('on generated names and types', () => {
    fc.assert(
      fc.property(fc.oneof(name, labelled), queryType, (q, t) => {
        assert.equal(configVerdict(q, t), checkerVerdict(q, t), `query ${JSON.stringify(q)} type ${t}`);
      }),
      { numRuns: 5000 },
    );
  });

  it('on the hand-picked edges', () => {
    const cases: [string, boolean][] = [
      ['example.org', true],
      ['example.org.', true],
      ['.', true],
      ['..', true],
      ['a..', true],
      ['a...', false],
      ['.example.org', false],
      ['www..example.org', false],
      [`${'a'.repeat(63)}.org`, true],
      [`${'a'.repeat(64)}.org`, false],
      [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, true],
      [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`, false],
      ['a.\n.b', false],
      ['\uD800.org', false],
      ['bücher.example', true],
    ];
    for (const [q, ok] of cases) {
      assert.equal(checkerVerdict(q, 'A'), ok, `checker on ${JSON.stringify(q)}`);
      assert.equal(configVerdict(q, 'A'), ok, `config on ${JSON.stringify(q)}`);
    }
  });

  it('on every query type the schema accepts (HTTPS and SVCB: listed, but dns-packet cannot send them)', () => {
    for (const t of DNS_QUERY_TYPES) {
      const expected = t !== 'HTTPS' && t !== 'SVCB';
      assert.equal(checkerVerdict('example.org', t), expected, `checker on ${t}`);
      assert.equal(configVerdict('example.org', t), expected, `config on ${t}`);
    }
  });
});
