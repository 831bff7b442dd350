// Fuzz of both readers of `lvsd convert` (keepalived.conf, ldirectord.cf) with fast-check: any
// input ends, and gives either output that passes check-config (programs missing here aside, as
// convert promises) or errors with a file, line and column; nothing throws. Inputs are built from
// the tools' own words, separators (the isspace set, a non-breaking space, CRLF), definitions,
// conditionals, quotes and braces, and also arbitrary text. The case counts are printed.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { convert } from '../../src/convert/index.js';
import type { ConvertResult, Format } from '../../src/convert/index.js';
import { render } from '../../src/cli/convert.js';
import { formatIssue, loadConfig } from '../../src/config/load.js';

const work = mkdtempSync(join(tmpdir(), 'lvsd-convert-fuzz-'));
after(() => rmSync(work, { recursive: true, force: true }));
let dirs = 0;

const counts = { keepalived: { ok: 0, refused: 0 }, ldirectord: { ok: 0, refused: 0 } };

/** The property: ends (the test's own timeout would say it did not), positioned errors or valid output. */
async function judge(format: Format, text: string): Promise<void> {
  // Includes read nothing of this machine: every one is refused as a file that cannot be read.
  const r: ConvertResult = await convert(format, `/fuzz/${format}.conf`, text, { readFile: () => ({ ok: false, line: 0, col: 0, message: 'not read by the fuzz test' }) });
  if (!r.ok) {
    counts[format].refused++;
    assert.ok(r.errors.length > 0);
    for (const e of r.errors) {
      assert.ok(Number.isInteger(e.line) && e.line >= 1, `line of ${JSON.stringify(e)}`);
      assert.ok(Number.isInteger(e.col) && e.col >= 1, `column of ${JSON.stringify(e)}`);
      assert.ok(e.message.length > 0);
    }
    return;
  }
  counts[format].ok++;
  for (const d of r.directives) assert.notEqual(d.outcome, 'dropped', `dropped without a word: ${JSON.stringify(d)}`);
  const files = render(r, `${format}.conf`);
  const dir = join(work, String(dirs++));
  mkdirSync(join(dir, 'conf.d'), { recursive: true });
  for (const [rel, body] of files) writeFileSync(join(dir, rel), body);
  const check = await loadConfig(dir, { allowMissingPrograms: new Set(r.missingPrograms) });
  assert.ok(check.ok, check.ok ? '' : `${check.issues.map(formatIssue).join('\n')}\n--- input:\n${text}`);
  rmSync(dir, { recursive: true, force: true });
}

const SEPARATORS = [' ', ' ', ' ', '\t', '\n', '\n', '\r\n', '\r', '\f', '\v', '\u00a0', '\n\n', '\u0001', '\u200b'];
const KEEPALIVED_WORDS = [
  'virtual_server', 'real_server', 'virtual_server_group', 'TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'MISC_CHECK', 'DNS_CHECK', 'UDP_CHECK',
  'SMTP_CHECK', 'PING_CHECK', 'url', 'path', '/health', 'status_code', '200-299', 'regex', 'digest', 'misc_path', '"/bin/true x"',
  '"/nonexistent/check"', 'misc_dynamic', 'lb_kind', 'lvs_method', 'DR', 'NAT', 'TUN', 'lb_algo', 'rr', 'wlc', 'persistence_timeout',
  'persistence_granularity', '255.255.255.0', '0', '1', '300', '2678401', 'quorum', 'hysteresis', 'sorry_server', 'weight', 'delay_loop',
  'connect_timeout', 'connect_port', 'retry', 'protocol', 'UDP', 'TCP', 'inhibit_on_failure', 'alpha', 'fwmark', 'group', 'G', 'ip_family',
  'inet6', '192.0.2.10', '10.0.0.1', '10.0.0.2', '2001:db8::1', '192.0.2.1-3', '80', '443', '0', '65536', '-1', 'abc', '{', '{', '}', '}',
  '$A', '${A}', '$A=', '$B=real_server', '\\', '@lb1', '@^lb1', '~SEQ(i,1,3)', '$i', '${_PWD}', '${_INSTANCE}', '${_RANDOM 1 5}',
  '${_ENV HOME}', '${_HASH}', '!', '#', '"', 'include', 'global_defs', 'vrrp_instance', 'notify_up', 'quorum_up', 'virtualhost',
];

const keepalivedText = fc
  .array(fc.tuple(fc.constantFrom(...KEEPALIVED_WORDS), fc.constantFrom(...SEPARATORS)), { maxLength: 80 })
  .map((parts) => parts.map(([w, s]) => w + s).join(''));

/** A plausible keepalived.conf with one thing off: mostly valid shapes, so the output side is exercised too. */
const keepalivedShaped = fc
  .record({
    head: fc.constantFrom('192.0.2.10 80', '192.0.2.10 0', '2001:db8::10 443', 'fwmark 7', '192.0.2.11'),
    kind: fc.constantFrom('', 'lb_kind DR', 'lb_kind NAT', 'lb_kind TUN', 'lvs_method TUN'),
    persistence: fc.constantFrom('', 'persistence_timeout', 'persistence_timeout 0', 'persistence_timeout 300', 'persistence_timeout 99999999', 'persistence_granularity 24'),
    reals: fc.array(fc.tuple(fc.constantFrom('10.0.0.1 80', '10.0.0.2', '2001:db8::1 443', '10.0.0.3 8080'), fc.constantFrom('TCP_CHECK { connect_timeout 2 }', 'MISC_CHECK { misc_path "/nonexistent/x a" }', 'HTTP_GET { url { path /x } }', '', 'weight 3', 'lb_kind TUN\nTCP_CHECK {}')), { maxLength: 4 }),
    extra: fc.constantFrom('', 'quorum 5', 'sorry_server 10.0.0.99 80', 'sorry_server 2001:db8::99 80', 'delay_loop 3', 'ha_suspend'),
  })
  .map((v) => `virtual_server ${v.head} {\n  ${v.kind}\n  ${v.persistence}\n  ${v.extra}\n${v.reals.map(([a, c]) => `  real_server ${a} {\n    ${c}\n  }\n`).join('')}}\n`);

const LDIRECTORD_KEYS = [
  'virtual', 'virtual6', 'real', 'real6', 'checktype', 'checkcommand', 'checktimeout', 'negotiatetimeout', 'connecttimeout', 'checkinterval',
  'failurecount', 'quiescent', 'fallback', 'fallback6', 'fallbackcommand', 'service', 'request', 'receive', 'virtualhost', 'scheduler',
  'persistent', 'netmask', 'protocol', 'checkport', 'login', 'passwd', 'httpmethod', 'autoreload', 'emailalert', 'cleanstop', 'ops',
];
const LDIRECTORD_VALUES = [
  '192.0.2.10:80', '[2001:db8::10]:80', '7', '10.0.0.1:80 gate', '10.0.0.1->10.0.0.3:80 masq 2', '192.168.1.312:6443 gate', 'web1:80 gate',
  '[2001:db8::1]:80 ipip', 'connect', 'negotiate', 'external', 'external-perl', 'ping', 'on', 'off', '5', '0', '3s', 'yes', 'no', 'maybe',
  '"/bin/true"', '"/nonexistent/check"', 'http', 'https', 'dns', 'smtp', 'mysql', 'none', '"/index.html"', '"ok"', 'wrr', 'sh', 'udp', 'tcp',
  'fwm', '255.255.255.0', '127.0.0.1:80 gate', '', '"', '\u00a0',
];
const ldirectordText = fc
  .array(fc.tuple(fc.constantFrom('', '\t', '    ', '  ', '#'), fc.constantFrom(...LDIRECTORD_KEYS), fc.constantFrom('=', ' = ', ' '), fc.constantFrom(...LDIRECTORD_VALUES), fc.constantFrom('\n', '\r\n', '\n\n')), { maxLength: 30 })
  .map((lines) => lines.map((l) => l.join('')).join(''));

const anything = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 100 }));

for (const [format, name, arb, runs] of [
  ['keepalived', 'keepalived words and separators', keepalivedText, 250],
  ['keepalived', 'keepalived-shaped virtual servers', keepalivedShaped, 150],
  ['keepalived', 'arbitrary text', anything, 150],
  ['ldirectord', 'ldirectord.cf lines', ldirectordText, 250],
  ['ldirectord', 'arbitrary text', anything, 150],
] as const) {
  test(`convert fuzz (${format}): ${name} end with valid output or positioned errors`, async (t) => {
    const before = { ...counts[format] };
    await fc.assert(fc.asyncProperty(arb, (text) => judge(format, text)), { numRuns: runs, seed: 19 });
    const ok = counts[format].ok - before.ok;
    const refused = counts[format].refused - before.refused;
    t.diagnostic(`${runs} cases: ${ok} converted (output passed check-config), ${refused} refused with positioned errors`);
    assert.equal(ok + refused, runs);
  });
}
