// The issue-12 check keys (expect_digest, urls, dialogue, udp, ping, checks): what they resolve to, and
// every mistake in them reported at its FILE:LINE:COL.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { formatIssue, loadConfig } from '../../src/config/load.js';
import type { RealConfig, Snapshot } from '../../src/config/model.js';
import { buildProbePlan } from '../../src/scheduler/probe-key.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function configDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lvsd-config-'));
  dirs.push(dir);
  await mkdir(join(dir, 'conf.d'));
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), text);
  }
  return dir;
}

async function issuesOf(files: Record<string, string>): Promise<string[]> {
  const dir = await configDir(files);
  const r = await loadConfig(dir);
  assert.equal(r.ok, false, 'expected the config to be rejected');
  if (r.ok) return [];
  return r.issues.map((i) => formatIssue(i).replaceAll(`${dir}/`, ''));
}

async function snapshotOf(files: Record<string, string>): Promise<Snapshot> {
  const r = await loadConfig(await configDir(files));
  if (!r.ok) assert.fail(`expected a valid config:\n${r.issues.map(formatIssue).join('\n')}`);
  return r.snapshot;
}

const svc = (body: string): Record<string, string> => ({ 'conf.d/a.yaml': body });
const realOf = async (files: Record<string, string>, i = 0): Promise<RealConfig> => (await snapshotOf(files)).services[0]!.reals[i]!;

describe('new check keys resolve', () => {
  it('expect_digest is stored lower-case', async () => {
    const r = await realOf(svc('address: 192.0.2.10:80\ncheck: { type: http, expect_digest: 6F5902AC237024BDD0C176CB93063DC4 }\nreals: [{ address: 10.0.0.1 }]\n'));
    assert.equal(r.check.type === 'http' && r.check.expectDigest, '6f5902ac237024bdd0c176cb93063dc4');
  });

  it('urls: each page takes the check expect_status unless it gives its own', async () => {
    const r = await realOf(svc([
      'address: 192.0.2.10:80',
      'check:',
      '  type: http',
      '  expect_status: 200',
      '  urls:',
      '    - { path: /a, expect_digest: d41d8cd98f00b204e9800998ecf8427e }',
      '    - { path: /b, expect_status: [301, "400-404"], expect_body: "ok" }',
      'reals: [{ address: 10.0.0.1 }]',
      '',
    ].join('\n')));
    assert.ok(r.check.type === 'http');
    assert.deepEqual(r.check.urls, [
      { path: '/a', expectStatus: [[200, 200]], expectBody: null, expectDigest: 'd41d8cd98f00b204e9800998ecf8427e' },
      { path: '/b', expectStatus: [[301, 301], [400, 404]], expectBody: 'ok', expectDigest: null },
    ]);
  });

  it('a real-level path replaces the service urls as a whole (most specific wins)', async () => {
    const r = await realOf(svc('address: 192.0.2.10:80\ncheck: { type: http, urls: [{ path: /a }] }\nreals: [{ address: 10.0.0.1, check: { path: /own } }]\n'));
    assert.ok(r.check.type === 'http');
    assert.equal(r.check.urls, undefined);
    assert.equal(r.check.path, '/own');
  });

  it('dialogue steps decode escapes; a plain tcp check has no dialogue key at all', async () => {
    const s = await snapshotOf(svc([
      'address: 192.0.2.10:25',
      'reals:',
      '  - address: 10.0.0.1',
      '    check: { dialogue: [{ expect: "^220" }, { send: \'HELO x\\r\\n\', expect: "^250" }, { send: "QUIT\\r\\n" }] }',
      '  - address: 10.0.0.2',
      '',
    ].join('\n')));
    const [a, b] = s.services[0]!.reals;
    assert.ok(a!.check.type === 'tcp' && b!.check.type === 'tcp');
    assert.deepEqual(a!.check.dialogue, [
      { send: null, expect: '^220' },
      { send: 'HELO x\r\n', expect: '^250' },
      { send: 'QUIT\r\n', expect: null },
    ]);
    assert.equal('dialogue' in b!.check, false);
  });

  it('udp: send with \\x escapes, default empty payload; ping needs no port', async () => {
    const s = await snapshotOf(svc([
      'fwmark: 7',
      'reals:',
      "  - { address: 10.0.0.1, check: { type: udp, port: 53, send: '\\x00\\x01ab', expect: '^ok' } }",
      '  - { address: 10.0.0.2, check: { type: udp, port: 53 } }',
      '  - { address: 10.0.0.3, check: { type: ping } }',
      '',
    ].join('\n')));
    const [a, b, c] = s.services[0]!.reals;
    assert.deepEqual(a!.check, { type: 'udp', intervalMs: 5000, timeoutMs: 3000, rise: 2, fall: 3, port: 53, send: '\x00\x01ab', expect: '^ok' });
    assert.deepEqual(b!.check, { type: 'udp', intervalMs: 5000, timeoutMs: 3000, rise: 2, fall: 3, port: 53, send: '', expect: null });
    assert.deepEqual(c!.check, { type: 'ping', intervalMs: 5000, timeoutMs: 3000, rise: 2, fall: 3, port: 0 });
  });

  it('ping ignores the port: one host under two services and ports is one probe', async () => {
    const s = await snapshotOf({
      'conf.d/a.yaml': 'address: 192.0.2.10:80\ncheck: { type: ping }\nreals: [{ address: 10.0.0.1 }]\n',
      'conf.d/b.yaml': 'address: 192.0.2.10:443\nforwarding: masq\ncheck: { type: ping, port: 8443 }\nreals: [{ address: "10.0.0.1:4443" }]\n',
    });
    assert.deepEqual(s.services.map((x) => x.reals[0]!.check.port), [0, 0]);
    const plan = buildProbePlan(s);
    assert.equal(plan.size, 1);
    assert.equal([...plan.values()][0]!.members.length, 2);
  });

  it('checks: every entry is merged over lvsd.yaml defaults; a list of one is a plain check', async () => {
    const s = await snapshotOf({
      'lvsd.yaml': 'defaults:\n  check: { interval: 10s, timeout: 2s, rise: 4, fall: 5 }\n',
      'conf.d/a.yaml': [
        'address: 192.0.2.10:80',
        'checks:',
        '  - { type: http, path: /health }',
        '  - { type: tcp, fall: 1 }',
        'reals:',
        '  - address: 10.0.0.1',
        '  - address: 10.0.0.2',
        '    checks: [{ type: ping }]',
        '',
      ].join('\n'),
    });
    const [a, b] = s.services[0]!.reals;
    assert.equal(a!.checks?.length, 2);
    assert.equal(a!.check, a!.checks![0]);
    assert.deepEqual(a!.checks!.map((c) => [c.type, c.intervalMs, c.timeoutMs, c.rise, c.fall]), [
      ['http', 10_000, 2000, 4, 5],
      ['tcp', 10_000, 2000, 4, 1],
    ]);
    assert.equal(b!.checks, undefined);
    assert.equal(b!.check.type, 'ping');
  });
});

describe('new check keys: each mistake at its FILE:LINE:COL', () => {
  const cases: { name: string; files: Record<string, string>; issues: string[] }[] = [
    {
      name: 'expect_digest that is not 32 hex digits',
      files: svc('address: 192.0.2.10:80\ncheck: { type: http, expect_digest: 6f5902ac }\nreals: []\n'),
      issues: ['conf.d/a.yaml:2:37: check.expect_digest: "6f5902ac" is not an MD5 digest (32 hexadecimal digits, as `lvsd digest URL` or genhash prints it)'],
    },
    {
      name: 'expect_digest on a tcp check',
      files: svc('address: 192.0.2.10:80\ncheck: { expect_digest: d41d8cd98f00b204e9800998ecf8427e }\nreals: []\n'),
      issues: ['conf.d/a.yaml:2:10: "expect_digest" does not apply to checks of type tcp (type tcp from the built-in default); it is for http and https checks'],
    },
    {
      name: 'expect_digest with method HEAD',
      files: svc('address: 192.0.2.10:80\ncheck:\n  type: http\n  method: HEAD\n  expect_digest: d41d8cd98f00b204e9800998ecf8427e\nreals: [{ address: 10.0.0.1 }]\n'),
      issues: ['conf.d/a.yaml:5:18: "expect_digest" cannot match a HEAD response (it has no body); use method GET (method HEAD set at conf.d/a.yaml:4)'],
    },
    {
      name: 'urls entry without path, with an unknown key, with a bad digest',
      files: svc('address: 192.0.2.10:80\ncheck:\n  type: http\n  urls:\n    - { expect_status: 200 }\n    - { path: /b, digest: abc }\n    - { path: /c, expect_digest: xyz }\nreals: []\n'),
      issues: [
        'conf.d/a.yaml:5:7: check.urls: missing required key "path"',
        'conf.d/a.yaml:6:19: unknown key "digest" in check.urls (allowed: path, expect_status, expect_body, expect_digest)',
        'conf.d/a.yaml:7:34: check.urls.expect_digest: "xyz" is not an MD5 digest (32 hexadecimal digits, as `lvsd digest URL` or genhash prints it)',
      ],
    },
    {
      name: 'urls and path at the same level',
      files: svc('address: 192.0.2.10:80\ncheck:\n  type: http\n  path: /x\n  urls: [{ path: /a }]\nreals: [{ address: 10.0.0.1 }]\n'),
      issues: ['conf.d/a.yaml:4:3: "path" cannot be used together with "urls": each entry of "urls" has its own path, expect_body and expect_digest'],
    },
    {
      name: 'empty urls list',
      files: svc('address: 192.0.2.10:80\ncheck: { type: http, urls: [] }\nreals: []\n'),
      issues: ['conf.d/a.yaml:2:28: check.urls: needs at least 1 item'],
    },
    {
      name: 'dialogue: an empty step, a bad regex, an unknown escape, with send at the same level',
      files: svc([
        'address: 192.0.2.10:25',
        'check:',
        '  send: "x"',
        '  dialogue:',
        '    - {}',
        '    - { expect: "(" }',
        "    - { send: 'a\\q' }",
        'reals: [{ address: 10.0.0.1 }]',
        '',
      ].join('\n')),
      issues: [
        'conf.d/a.yaml:5:7: check.dialogue: a dialogue step needs "send", "expect" or both',
        'conf.d/a.yaml:6:17: check.dialogue.expect: not a valid regular expression: Invalid regular expression: /(/: Unterminated group',
        'conf.d/a.yaml:7:15: check.dialogue.send: unknown escape "\\q" (only \\r \\n \\t \\\\ and \\xHH are understood)',
      ],
    },
    {
      name: 'dialogue together with send at the same level',
      files: svc('address: 192.0.2.10:25\ncheck:\n  send: "x"\n  dialogue: [{ expect: "^220" }]\nreals: [{ address: 10.0.0.1 }]\n'),
      issues: ['conf.d/a.yaml:3:3: "send" cannot be used together with "dialogue": write the exchange as dialogue steps ({ send, expect })'],
    },
    {
      name: 'dialogue on an http check',
      files: svc('address: 192.0.2.10:80\ncheck: { type: http, dialogue: [{ expect: x }] }\nreals: []\n'),
      issues: ['conf.d/a.yaml:2:22: "dialogue" does not apply to checks of type http; it is for tcp checks'],
    },
    {
      name: 'udp: bad expect regex and bad payload escape',
      files: svc("address: 192.0.2.10:53\nprotocol: udp\ncheck: { type: udp, send: '\\x0', expect: '[' }\nreals: []\n"),
      issues: [
        'conf.d/a.yaml:3:27: check.send: unknown escape "\\x" (only \\r \\n \\t \\\\ and \\xHH are understood)',
        'conf.d/a.yaml:3:42: check.expect: not a valid regular expression: Invalid regular expression: /[/: Unterminated character class',
      ],
    },
    {
      name: 'ping with a key of another type',
      files: svc('address: 192.0.2.10:80\ncheck: { type: ping, path: /x }\nreals: []\n'),
      issues: ['conf.d/a.yaml:2:22: "path" does not apply to checks of type ping; it is for http and https checks'],
    },
    {
      name: 'check and checks at the same level',
      files: svc('address: 192.0.2.10:80\ncheck: { type: tcp }\nchecks: [{ type: ping }]\nreals: [{ address: 10.0.0.1 }]\n'),
      issues: ['conf.d/a.yaml:2:1: "check" and "checks" cannot both be given here: put this check into the "checks" list'],
    },
    {
      name: "a real's check under the service checks",
      files: svc('address: 192.0.2.10:80\nchecks: [{ type: ping }, { type: tcp }]\nreals:\n  - address: 10.0.0.1\n    check: { port: 81 }\n'),
      issues: ['conf.d/a.yaml:5:5: "check" cannot change the "checks" list of the service (at conf.d/a.yaml:2); give a "checks" list here instead'],
    },
    {
      name: 'an entry of checks with a key of another type',
      files: svc('address: 192.0.2.10:80\nchecks: [{ type: ping }, { type: tcp, query: x }]\nreals:\n  - address: 10.0.0.1\n'),
      issues: ['conf.d/a.yaml:2:39: "query" does not apply to checks of type tcp; it is for dns checks'],
    },
    {
      name: 'an empty checks list',
      files: svc('address: 192.0.2.10:80\nreals:\n  - address: 10.0.0.1\n    checks: []\n'),
      issues: ['conf.d/a.yaml:4:13: reals.checks: needs at least 1 item'],
    },
    {
      name: 'lists past their bounds: 33 urls, 33 dialogue steps, 17 checks',
      files: svc([
        'address: 192.0.2.10:80',
        `check: { type: http, urls: [${Array.from({ length: 33 }, () => '{ path: / }').join(', ')}] }`,
        'reals:',
        '  - address: 10.0.0.1',
        `    checks: [${Array.from({ length: 17 }, () => '{ type: ping }').join(', ')}]`,
        '  - address: 10.0.0.2',
        `    check: { type: tcp, dialogue: [${Array.from({ length: 33 }, () => '{ expect: x }').join(', ')}] }`,
        '',
      ].join('\n')),
      issues: [
        'conf.d/a.yaml:2:28: check.urls: has 33 items; at most 32 are allowed',
        'conf.d/a.yaml:5:13: reals.checks: has 17 items; at most 16 are allowed',
        'conf.d/a.yaml:7:35: reals.check.dialogue: has 33 items; at most 32 are allowed',
      ],
    },
    {
      name: 'checks is not allowed in lvsd.yaml defaults',
      files: { 'lvsd.yaml': 'defaults:\n  checks: [{ type: ping }]\n' },
      issues: ['lvsd.yaml:2:3: unknown key "checks" in defaults (did you mean "check"?)'],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      assert.deepEqual(await issuesOf(c.files), c.issues);
    });
  }
});
