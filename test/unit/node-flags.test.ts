// The V8 flags lvsd runs with are on every interpreter line that starts it (V8 reads them only at
// start-up): bin/lvsd.js and the packaged bundle's banner, the same as the benchmarks pass.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LVSD_NODE_FLAGS } from '../../src/node-flags.js';
import { repoRoot } from '../helpers/paths.js';

describe('node flags', () => {
  it('bin/lvsd.js starts node with LVSD_NODE_FLAGS', () => {
    const shebang = readFileSync(join(repoRoot, 'bin', 'lvsd.js'), 'utf8').split('\n', 1)[0]!;
    assert.equal(shebang, `#!/usr/bin/env -S node ${LVSD_NODE_FLAGS.join(' ')}`);
  });

  it('the packaged bundle starts node with LVSD_NODE_FLAGS', () => {
    const bundle = readFileSync(join(repoRoot, 'packaging', 'tools', 'bundle.mjs'), 'utf8');
    assert.ok(bundle.includes(`const packagedEntry = \`#!/usr/lib/lvsd/node ${LVSD_NODE_FLAGS.join(' ')}\n`), 'the packaged entry without the flags');
  });
});
