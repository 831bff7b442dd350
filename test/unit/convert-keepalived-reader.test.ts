// keepalived.conf read as keepalived's lib/parser.c reads it: separators (isspace), invisible
// characters, $NAME= definitions continued over lines (expanded line by line), the built-ins,
// @ID conditionals, ~SEQ, include globs of regular files only, binary input. Each regression test
// names the break it pins.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { at, ok, run } from '../helpers/convert.js';
import { convert } from '../../src/convert/index.js';
import { parseKeepalived } from '../../src/convert/keepalived-parse.js';

const REAL = 'real_server 10.0.0.1 80 {\n    TCP_CHECK { connect_timeout 2 }\n  }';
const vs = (sep: string): string => `virtual_server${sep}192.0.2.10${sep}80 {\n  delay_loop${sep}5\n  ${REAL}\n}\n`;

// Regression (issue 19): the tokenizer skipped only space and tab while the word scan stopped at any
// whitespace, so each of these looped forever, growing to gigabytes.
for (const [name, sep] of [['form feed', '\f'], ['vertical tab', '\v'], ['lone CR', '\r']] as const) {
  test(`keepalived reader: a ${name} separates words, as keepalived's isspace does`, async () => {
    const r = await ok('keepalived', vs(sep));
    assert.equal(at(r.services[0]!.value, 'address'), '192.0.2.10:80');
    assert.equal(at(r.services[0]!.value, 'check.interval'), 5);
  });
}

test('keepalived reader: a non-breaking space is a positioned error, not a word (regression: it looped forever)', async () => {
  const r = await run('keepalived', 'virtual_server 192.0.2.10 80 {\n  delay_loop\u00a05\n}\n');
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.deepEqual([r.errors[0]!.line, r.errors[0]!.col], [2, 13]);
  assert.match(r.errors[0]!.message, /non-breaking space \(U\+00A0\)/);
});

test('keepalived reader: control characters are errors at their column; in a comment they are not', async () => {
  const r = await run('keepalived', '! comment with \u0001 and \u00a0 inside\nvirtual_server 192.0.2.10 80 {\n  lb_algo\u0007rr\n}\n');
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.errors.length, 1);
  assert.deepEqual([r.errors[0]!.line, r.errors[0]!.col], [3, 10]);
  assert.match(r.errors[0]!.message, /control character \(U\+0007\)/);
});

test('keepalived reader: UTF-8 text in comments and quoted strings is fine', async () => {
  const r = await ok('keepalived', `# Konfiguration für den Director ✓\n${vs(' ').replace('delay_loop 5', 'delay_loop 5\n  virtualhost "bücher.example"')}`);
  assert.equal(at(r.services[0]!.value, 'address'), '192.0.2.10:80');
});

test('keepalived reader: binary input is refused at once with its position', async () => {
  const r = await run('keepalived', `virtual_server 192.0.2.10 80 {\n${'\u0000'.repeat(3)}\n`);
  assert.equal(r.ok, false);
});

// Regression (issue 19): a multi-line definition was joined into one line, so the url block's path,
// status_code and regex became arguments of one statement and the check fell back to path / 200-299.
test('keepalived reader: a $NAME= definition continued over lines keeps its nested blocks', async () => {
  const text = [
    '$CHECK=HTTP_GET { \\',
    '    url { \\',
    '      path /health \\',
    '      status_code 204 \\',
    '      regex "ready" \\',
    '    } \\',
    '    connect_timeout 3 \\',
    '  }',
    'virtual_server 192.0.2.10 80 {',
    '  delay_loop 5',
    '  real_server 10.0.0.1 80 {',
    '    $CHECK',
    '  }',
    '}',
    '',
  ].join('\n');
  const r = await ok('keepalived', text);
  const v = r.services[0]!.value;
  assert.equal(at(v, 'check.type'), 'http');
  assert.equal(at(v, 'check.path'), '/health');
  assert.equal(at(v, 'check.expect_status'), 204);
  assert.equal(at(v, 'check.expect_body'), 'ready');
  assert.equal(at(v, 'check.timeout'), 3);
});

test('keepalived reader: an empty line ends a multi-line definition; a comment line does not', async () => {
  const text = '$R=real_server 10.0.0.1 80 { \\\n! a comment inside\n  weight 3 \\\n}\n\nvirtual_server 192.0.2.10 80 {\n  $R\n}\n';
  const r = await ok('keepalived', text);
  assert.equal(at(r.services[0]!.value, 'reals.0.weight'), 3);
});

test('keepalived reader: $NAME is a reference only before a blank, comma, ) or the line end; ${NAME} anywhere', async () => {
  const r = await ok('keepalived', '$IP=10.0.0\n$P=80\nvirtual_server 192.0.2.10 ${P} {\n  real_server ${IP}.1 $P {\n    TCP_CHECK { connect_timeout 2 }\n  }\n}\n');
  assert.equal(at(r.services[0]!.value, 'address'), '192.0.2.10:80');
  assert.equal(at(r.services[0]!.value, 'reals.0.address'), '10.0.0.1:80');
});

test('keepalived reader: definitions may use definitions', async () => {
  const r = await ok('keepalived', '$NET=10.0.0\n$REAL=real_server ${NET}.7 80\nvirtual_server 192.0.2.10 80 {\n  $REAL {\n    TCP_CHECK { connect_timeout 2 }\n  }\n}\n');
  assert.equal(at(r.services[0]!.value, 'reals.0.address'), '10.0.0.7:80');
});

test('keepalived reader: a definition that expands into itself ends with a positioned error', async () => {
  const r = await run('keepalived', '$A=x $A\nvirtual_server 192.0.2.10 80 {\n  $A\n}\n');
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.errors[0]!.line, 3);
});

test('keepalived reader: a multi-line definition that uses itself ends with a positioned error', async () => {
  const r = await run('keepalived', '$A=weight 1 \\\n$A\n\nvirtual_server 192.0.2.10 80 {\n  $A\n}\n');
  assert.equal(r.ok, false);
});

// Regression (issue 19): ${_PWD} was not expanded (command: ["$"]).
test('keepalived reader: ${_PWD} is the directory of the file being read, as keepalived chdirs there', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-pwd-'));
  try {
    const file = join(dir, 'keepalived.conf');
    const r = await convert('keepalived', file, 'virtual_server 192.0.2.10 80 {\n  real_server 10.0.0.1 80 {\n    MISC_CHECK { misc_path "${_PWD}/check.sh --fast" }\n  }\n}\n');
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.deepEqual(at(r.services[0]!.value, 'check.command'), [`${dir}/check.sh`, '--fast']);
    assert.ok(r.diagnostics.some((d) => d.severity === 'note' && d.message.includes('${_PWD}')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('keepalived reader: ${_INSTANCE} and @ID lines follow the config id (--instance)', async () => {
  const text = '@lb1 $W=5\n@^lb1 $W=7\nvirtual_server 192.0.2.10 80 {\n  real_server 10.0.0.1 80 {\n    weight $W\n    HTTP_GET { url { path /${_INSTANCE} } }\n  }\n}\n';
  for (const [instance, weight] of [['lb1', 5], ['lb2', 7]] as const) {
    const r = await convert('keepalived', 'k.conf', text, { instance });
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.equal(at(r.services[0]!.value, 'reals.0.weight'), weight);
    assert.equal(at(r.services[0]!.value, 'check.path'), `/${instance}`);
  }
});

test('keepalived reader: ${_HASH}, ${_BANG}, ${_ENV NAME}, ${_RANDOM} (warned: the lowest value)', async () => {
  const p = parseKeepalived('k.conf', 'x ${_ENV LVSD_TEST_ENV} ${_RANDOM 3 9} "a${_BANG}b"\n', { env: { LVSD_TEST_ENV: 'fromenv' }, instance: 'i' });
  assert.deepEqual(p.errors, []);
  assert.deepEqual(p.nodes[0]!.args, ['fromenv', '3', 'a!b']);
  assert.ok(p.messages.some((m) => m.severity === 'warning' && m.message.includes('_RANDOM')));
});

test('keepalived reader: ~SEQ repeats a line with its variable', async () => {
  const r = await ok('keepalived', 'virtual_server 192.0.2.10 80 {\n  ~SEQ(i, 1, 3) real_server 10.0.0.$i 80 { TCP_CHECK { connect_timeout 2 } }\n}\n');
  assert.deepEqual((at(r.services[0]!.value, 'reals') as { address: string }[]).map((x) => x.address), ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80']);
});

test('keepalived reader: a line longer than keepalived reads (1023 characters) is an error', async () => {
  const r = await run('keepalived', `! ${'x'.repeat(1100)}\nvirtual_server 192.0.2.10 80 {\n  ${REAL}\n}\n`);
  assert.equal(r.ok, false);
});

// Regression (issue 19): an include glob matching /dev/zero grew to 7.4 GB, one matching a FIFO hung.
test('keepalived reader: includes are regular files only: a FIFO and /dev/zero are refused before a byte is read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-inc-'));
  try {
    execFileSync('mkfifo', [join(dir, 'pipe.conf')]);
    writeFileSync(join(dir, 'ok.conf'), `virtual_server 192.0.2.10 80 {\n  ${REAL}\n}\n`);
    const file = join(dir, 'keepalived.conf');
    const fifo = await convert('keepalived', file, 'include *.conf\n');
    assert.equal(fifo.ok, false);
    if (!fifo.ok) assert.ok(fifo.errors.some((e) => e.line === 1 && /pipe\.conf: is not a regular file \(a FIFO\)/.test(e.message)), JSON.stringify(fifo.errors));
    const zero = await convert('keepalived', file, 'include /dev/zer[o]\n');
    assert.equal(zero.ok, false);
    if (!zero.ok) assert.match(zero.errors[0]!.message, /\/dev\/zero: is not a regular file \(a character device\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('keepalived reader: include globs in any component and {a,b}; directories skipped with a note', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-inc-'));
  try {
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    mkdirSync(join(dir, 'a', 'sub.conf'));
    writeFileSync(join(dir, 'a', 'one.conf'), `virtual_server 192.0.2.10 80 {\n  ${REAL}\n}\n`);
    writeFileSync(join(dir, 'b', 'two.conf'), `virtual_server 192.0.2.11 80 {\n  ${REAL}\n}\n`);
    const r = await convert('keepalived', join(dir, 'keepalived.conf'), 'include {a,b}/*.conf\n');
    assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
    if (!r.ok) return;
    assert.deepEqual(r.services.map((s) => at(s.value, 'address')), ['192.0.2.10:80', '192.0.2.11:80']);
    assert.ok(r.diagnostics.some((d) => /sub\.conf is a directory/.test(d.message)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
