// The pieces under the loader: durations, status ranges, escapes, netmasks, key applicability,
// the strictness of the schemas, issue formatting, file selection.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from '../../src/config/duration.js';
import { checkKeyApplies, typesUsingKey } from '../../src/config/check-types/index.js';
import { checkSchema, decodeEscapes, globalSchema, parseStatusList, serviceSchema } from '../../src/config/schema.js';
import { parseNetmask } from '../../src/config/resolve-service.js';
import { formatIssue, isServiceFileName } from '../../src/config/load.js';
import { executableProblem } from '../../src/config/executable.js';

describe('parseDuration', () => {
  const ok: [unknown, number][] = [
    ['500ms', 500],
    ['2s', 2000],
    ['1.5s', 1500],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['2', 2000],
    [' 3s ', 3000],
    [2, 2000],
    [0.25, 250],
    ['.5s', 500],
  ];
  for (const [input, ms] of ok) {
    it(`${JSON.stringify(input)} -> ${ms}ms`, () => assert.deepEqual(parseDuration(input), { ok: true, ms }));
  }
  const bad: [unknown, RegExp][] = [
    ['2x', /"2x" is not a duration/],
    ['1m30s', /is not a duration/],
    ['-1s', /is not a duration/],
    [-1, /not a valid duration/],
    [null, /expected a duration, got an empty value/],
    [true, /expected a duration, got boolean/],
    ['0s', /must be longer than zero/],
    [0, /must be longer than zero/],
    ['30d', /is not a duration/],
    ['600h', /too long/],
  ];
  for (const [input, re] of bad) {
    it(`${JSON.stringify(input)} is refused`, () => {
      const r = parseDuration(input);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.error, re);
    });
  }
  it('zero where allowed', () => assert.deepEqual(parseDuration('0s', { allowZero: true }), { ok: true, ms: 0 }));
  it('formatDuration', () => {
    assert.deepEqual([500, 2000, 1500, 60_000, 90_000, 7_200_000].map(formatDuration), ['500ms', '2s', '1.5s', '1m', '90s', '2h']);
  });
});

describe('parseStatusList', () => {
  it('codes, ranges and single values', () => {
    assert.deepEqual(parseStatusList([200, '204', '300-302', '400 - 404']), { ok: true, ranges: [[200, 200], [204, 204], [300, 302], [400, 404]] });
    assert.deepEqual(parseStatusList(200), { ok: true, ranges: [[200, 200]] });
    assert.deepEqual(parseStatusList('200-299'), { ok: true, ranges: [[200, 299]] });
  });
  for (const bad of [[], ['299-200'], [99], [600], ['2xx'], [{}], null]) {
    it(`${JSON.stringify(bad)} is refused`, () => assert.equal(parseStatusList(bad).ok, false));
  }
});

describe('decodeEscapes', () => {
  it('decodes \\r \\n \\t \\\\ and leaves the rest', () => {
    assert.deepEqual(decodeEscapes('a\\r\\n\\tb\\\\c'), { ok: true, value: 'a\r\n\tb\\c' });
    assert.deepEqual(decodeEscapes('plain'), { ok: true, value: 'plain' });
  });
  it('decodes \\xHH to one byte (binary UDP payloads)', () => {
    assert.deepEqual(decodeEscapes('\\x00\\x41\\xff'), { ok: true, value: '\x00A\xff' });
  });
  it('refuses other escapes, a short \\x and a trailing backslash', () => {
    assert.equal(decodeEscapes('\\q').ok, false);
    assert.equal(decodeEscapes('\\x4').ok, false);
    assert.equal(decodeEscapes('\\xg1').ok, false);
    assert.equal(decodeEscapes('abc\\').ok, false);
  });
});

describe('parseNetmask', () => {
  const cases: [string | number, 4 | 6, string | null][] = [
    ['255.255.255.255', 4, '255.255.255.255'],
    ['255.255.255.0', 4, '255.255.255.0'],
    ['0.0.0.0', 4, '0.0.0.0'],
    [24, 4, '255.255.255.0'],
    ['/16', 4, '255.255.0.0'],
    [0, 4, '0.0.0.0'],
    [32, 4, '255.255.255.255'],
    ['255.0.255.0', 4, null],
    ['255.255.255.1', 4, null],
    ['256.0.0.0', 4, null],
    [33, 4, null],
    [64, 6, '64'],
    ['/128', 6, '128'],
    [129, 6, null],
    ['255.255.255.0', 6, null],
    ['ffff::', 6, null],
  ];
  for (const [input, family, out] of cases) {
    it(`${JSON.stringify(input)} for IPv${family} -> ${String(out)}`, () => assert.equal(parseNetmask(input, family), out));
  }
});

describe('check keys by type', () => {
  it('common keys apply to every type, specific keys to theirs', () => {
    for (const t of ['tcp', 'http', 'https', 'dns', 'misc', 'none'] as const) {
      assert.ok(checkKeyApplies('interval', t));
      assert.ok(checkKeyApplies('port', t));
    }
    assert.ok(checkKeyApplies('path', 'https'));
    assert.ok(!checkKeyApplies('path', 'tcp'));
    assert.ok(!checkKeyApplies('send', 'none'));
    assert.deepEqual(typesUsingKey('expect_body'), ['http', 'https']);
    assert.deepEqual(typesUsingKey('command'), ['misc']);
  });
});

describe('schemas are strict', () => {
  it('an unknown key in a service, a check, and lvsd.yaml is an error', () => {
    const svc = serviceSchema.safeParse({ address: '192.0.2.1:80', reals: [], colour: 'blue' });
    assert.equal(svc.success, false);
    assert.equal(svc.error?.issues[0]?.code, 'unrecognized_keys');
    assert.equal(checkSchema.safeParse({ type: 'tcp', retries: 3 }).success, false);
    assert.equal(globalSchema.safeParse({ defaults: { check: {}, weight: 5 } }).success, false);
  });
  it('transforms durations, statuses, escapes and case-insensitive DNS names', () => {
    const r = checkSchema.parse({ interval: '1.5s', timeout: 1, expect_status: '200-204', send: 'a\\n', query_type: 'mx', expect_rcode: 'servfail' });
    assert.deepEqual(r, { interval: 1500, timeout: 1000, expect_status: [[200, 204]], send: 'a\n', query_type: 'MX', expect_rcode: 'SERVFAIL' });
  });
  it('an absent optional key stays absent (so merging can tell "not set" from a value)', () => {
    assert.deepEqual(Object.keys(checkSchema.parse({ type: 'http' })), ['type']);
  });
});

describe('formatIssue', () => {
  it('FILE:LINE:COL: message, or FILE: message for a whole file', () => {
    assert.equal(formatIssue({ file: '/etc/lvsd/conf.d/web.yaml', line: 3, col: 14, message: 'bad' }), '/etc/lvsd/conf.d/web.yaml:3:14: bad');
    assert.equal(formatIssue({ file: '/etc/lvsd/conf.d', line: 0, col: 0, message: 'directory not found' }), '/etc/lvsd/conf.d: directory not found');
  });
});

describe('isServiceFileName', () => {
  const cases: [string, boolean][] = [
    ['web.yaml', true],
    ['10-web-http.yaml', true],
    ['web.yml', false],
    ['.web.yaml', false],
    ['.web.yaml.swp', false],
    ['web.yaml~', false],
    ['web.yaml.bak', false],
    ['web.yaml.dpkg-old', false],
    ['web.yaml.dpkg-dist', false],
    ['web.yaml.rpmnew', false],
    ['.yaml', false],
    ['README', false],
  ];
  for (const [name, want] of cases) it(`${name} -> ${want}`, () => assert.equal(isServiceFileName(name), want));
});

describe('executableProblem', () => {
  it('finds a program on PATH and accepts an absolute executable', async () => {
    assert.equal(await executableProblem('sh'), null);
    assert.equal(await executableProblem(process.execPath), null);
  });
  it('explains what is wrong otherwise', async () => {
    assert.match((await executableProblem('sh', '/nonexistent-dir')) ?? '', /not found as an executable on PATH \(\/nonexistent-dir\)/);
    assert.match((await executableProblem('/nonexistent/x')) ?? '', /does not exist/);
    assert.match((await executableProblem('/tmp')) ?? '', /is not a file/);
  });
});
