// Crashers the fuzz tier (fuzz-parsers.test.ts) found, each pinned with its minimal input.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeRequest } from '../../src/control/control-server.js';
import { loadConfig } from '../../src/config/load.js';

describe('fuzz tier regressions', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lvsd-fuzz-regress-'));
    await mkdir(join(dir, 'conf.d'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('regression: a control request whose client pid or user is {"toString":1} no longer throws "Cannot convert object to primitive value" while naming the client', () => {
    for (const client of ['{"uid":0,"pid":{"toString":1}}', '{"uid":0,"user":{"toString":1},"pid":7}', '{"uid":{"valueOf":1},"user":"root"}']) {
      const d = decodeRequest(`{"v":1,"cmd":"list","client":${client}}\n`);
      assert.equal(d.kind, 'request', client);
      assert.ok(d.kind === 'request' && /^socket /.test(d.by), client);
    }
    const d = decodeRequest('{"v":1,"cmd":"list","client":{"uid":0,"pid":{"toString":1}}}\n');
    assert.ok(d.kind === 'request');
    assert.equal(d.by, 'socket uid 0 (pid ?)');
  });

  it('regression: an unresolved alias in lvsd.yaml is a positioned issue instead of an exception out of loadConfig (check-config printed it without file or line)', async () => {
    await writeFile(join(dir, 'lvsd.yaml'), 'x: *a\n');
    const r = await loadConfig(dir);
    assert.equal(r.ok, false);
    assert.ok(!r.ok);
    assert.deepEqual(
      r.issues.map((i) => [i.file, i.line, i.col]),
      [[join(dir, 'lvsd.yaml'), 1, 1]],
    );
    assert.match(r.issues[0]!.message, /Unresolved alias/);
  });
});
