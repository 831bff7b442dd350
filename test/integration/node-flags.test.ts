// The V8 flags lvsd runs with (src/node-flags.ts) reach node when bin/lvsd.js is run as a program:
// its "#!" line passes them, and V8 reads them only at start-up. Proved on the process, through a
// preload that records process.execArgv, not by reading the file's text (issue 20 step 7: no source
// greps; the unit test this replaces compared the "#!" line and bundle.mjs's text with the list).
// The packaged entry is proved the same way in the packaging tier (installed in a Debian root).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { LVSD_NODE_ENV, LVSD_NODE_FLAGS } from '../../src/node-flags.js';
import { repoRoot } from '../helpers/paths.js';

const exec = promisify(execFile);

describe('node flags of bin/lvsd.js', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lvsd-node-flags-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('run as a program, node gets LVSD_NODE_FLAGS (and nothing else) and LVSD_NODE_ENV from its "#!" line', async () => {
    const preload = join(dir, 'argv.cjs');
    const out = join(dir, 'argv.json');
    await writeFile(preload, "require('node:fs').writeFileSync(process.env.LVSD_TEST_ARGV_OUT, JSON.stringify(process.execArgv));\n");
    const envOut = join(dir, 'env.json');
    const envPreload = join(dir, 'env.cjs');
    await writeFile(envPreload, `require('node:fs').writeFileSync(process.env.LVSD_TEST_ENV_OUT, JSON.stringify(Object.fromEntries(${JSON.stringify(Object.keys(LVSD_NODE_ENV))}.map((k) => [k, process.env[k]]))));\n`);
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: `--require ${preload} --require ${envPreload}`, LVSD_TEST_ARGV_OUT: out, LVSD_TEST_ENV_OUT: envOut };
    for (const k of Object.keys(LVSD_NODE_ENV)) delete env[k];
    const r = await exec(join(repoRoot, 'bin', 'lvsd.js'), ['--version'], { env });
    assert.match(r.stdout, /^lvsd \S+\n$/);
    assert.deepEqual(JSON.parse(await readFile(out, 'utf8')), [...LVSD_NODE_FLAGS]);
    assert.deepEqual(JSON.parse(await readFile(envOut, 'utf8')), { ...LVSD_NODE_ENV }, 'the "#!" line sets LVSD_NODE_ENV (glibc reads it at start-up)');
    assert.ok(LVSD_NODE_FLAGS.length > 0, 'lvsd runs with a flag of its own (the young generation size)');
  });
});
