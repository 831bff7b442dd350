// `lvsd convert` as a process on hostile input (issue 19): each ends with a positioned error (or the
// limit it crossed named), exit 1, and nothing written: no DIR, no temporary directory beside it.
// Real files, a real FIFO, /dev/zero; no timing is asserted.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLvsd } from '../helpers/daemon-process.js';

const REAL = 'real_server 10.0.0.1 80 {\n    TCP_CHECK { connect_timeout 2 }\n  }';

describe('lvsd convert on hostile input', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lvsd-hostile-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs convert on `name` (written with `text` unless it exists) and checks that nothing was written. */
  async function refused(name: string, text: string | null, stderr: RegExp): Promise<void> {
    const file = join(dir, name);
    if (text !== null) writeFileSync(file, text);
    const out = join(dir, `out-${name}`);
    const r = await runLvsd(['convert', '--from', 'keepalived', file, '--out', out]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, stderr);
    assert.equal(existsSync(out), false, 'DIR was not created');
    assert.deepEqual(readdirSync(dir).filter((n) => n.includes('lvsd-convert')), [], 'no temporary directory left');
  }

  // Regression: 100,000 virtual servers wrote 100,000 files, then exited 1 "a bug in lvsd convert".
  test('98,304 virtual services (a group of /20 ranges): refused before writing, naming the 16 MiB limit', async () => {
    const ranges = Array.from({ length: 24 }, (_, i) => `  10.${100 + i}.0.0/20 80`).join('\n');
    await refused('many.conf', `virtual_server_group G {\n${ranges}\n}\nvirtual_server group G {\n  ${REAL}\n}\n`, /too large: the output would be [\d.]+ MiB in 98,305 files, over the 16\.0 MiB an lvsd configuration may hold in all \(see README "Limits"\); nothing written/);
  });

  // Regression: a 3 MB binary keepalived.conf exhausted the heap.
  test('3 MB of binary data: refused at once as binary, with its position', async () => {
    const bytes = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919 + (i >> 9)) & 0xff;
    writeFileSync(join(dir, 'binary.conf'), bytes);
    await refused('binary.conf', null, /binary\.conf:\d+:\d+: error: binary data \(a NUL byte at byte \d+\)/);
  });

  test('a file over 4 MiB: refused before it is read', async () => {
    await refused('huge.conf', `! ${'x'.repeat(1000)}\n`.repeat(4300), /huge\.conf: error: too large: [\d.]+ MiB, the limit is 4\.0 MiB per file/);
  });

  // Regression: an include glob matching /dev/zero grew to 7.4 GB; one matching a FIFO hung.
  test('an include matching /dev/zero: a positioned error, nothing read', async () => {
    await refused('zero.conf', 'include /dev/zer?\n', /zero\.conf:1:1: error: include \/dev\/zero: is not a regular file \(a character device\)/);
  });

  test('an include glob matching a FIFO: a positioned error, nothing read (the FIFO has no writer)', async () => {
    execFileSync('mkfifo', [join(dir, 'fifo.inc')]);
    await refused('fifo.conf', `include *.inc\nvirtual_server 192.0.2.10 80 {\n  ${REAL}\n}\n`, /fifo\.conf:1:1: error: include \S+fifo\.inc: is not a regular file \(a FIFO\)/);
  });

  // Regression: one non-breaking space made the reader loop forever, growing to gigabytes.
  test('a non-breaking space: a positioned error', async () => {
    await refused('nbsp.conf', `virtual_server 192.0.2.10 80 {\n  delay_loop\u00a06\n  ${REAL}\n}\n`, /nbsp\.conf:2:13: error: a non-breaking space \(U\+00A0\)/);
  });

  test('a definition that expands into itself: a positioned error', async () => {
    await refused('loop.conf', `$A=$A $A\nvirtual_server 192.0.2.10 80 {\n  $A\n  ${REAL}\n}\n`, /loop\.conf:3:\d+: error: /);
  });
});
