// The import graph of the real src/ tree, as scripts/import-graph.mjs reads it (run as a process):
// no import cycle and no arrow against the declared layer order (README "Layout"). A small tree
// with one cycle and one upward arrow shows that the script finds both, so an empty answer for
// src/ means something.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';

interface Graph {
  files: number;
  cycles: { files: string[]; example: string[] }[];
  upward: { from: string; to: string }[];
  unlayered: string[];
}

function graphOf(root: string): Graph {
  const r = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'import-graph.mjs'), '--json', '--root', root], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Graph;
}

describe('import graph', () => {
  it('src/ has no import cycle, no upward arrow and no file outside the layers', () => {
    const g = graphOf(join(repoRoot, 'src'));
    assert.ok(g.files > 100, `read ${g.files} files`);
    assert.deepEqual(g.cycles.map((c) => c.example.join(' -> ')), []);
    assert.deepEqual(g.upward.map((u) => `${u.from} -> ${u.to}`), [], 'run node scripts/import-graph.mjs for the layers');
    assert.deepEqual(g.unlayered, [], 'a new top-level file or folder: give it a layer in LAYERS (scripts/import-graph.mjs) and README "Layout"');
  });

  it('finds a cycle, an upward arrow and an unlayered file in a tree made to have them', () => {
    const root = mkdtempSync(join(tmpdir(), 'lvsd-import-graph-'));
    try {
      const put = (path: string, text: string) => {
        mkdirSync(dirname(join(root, path)), { recursive: true });
        writeFileSync(join(root, path), text);
      };
      put('errors.ts', 'export const E = 1;\n');
      put('config/a.ts', "// import { probe } from '../checks/probe.js' in a comment is no import\nimport { b } from './b.js';\nexport const a = b;\n");
      put('config/b.ts', "import type { A } from './c.js';\nexport const b = 1;\n");
      put('config/c.ts', "import {\n  a,\n} from './a.js';\nexport type A = typeof a;\n");
      put('config/up.ts', "export { probe } from '../checks/probe.js';\n");
      put('checks/probe.ts', "import { E } from '../errors.js';\nexport const probe = E;\n");
      put('stray.ts', "export const s = await import('./errors.js');\n");
      const g = graphOf(root);
      assert.deepEqual(g.cycles.map((c) => c.files), [['config/a.ts', 'config/b.ts', 'config/c.ts']]);
      assert.deepEqual(g.cycles[0]!.example, ['config/a.ts', 'config/b.ts', 'config/c.ts', 'config/a.ts']);
      assert.deepEqual(g.upward.map((u) => `${u.from} -> ${u.to}`), ['config/up.ts -> checks/probe.ts']);
      assert.deepEqual(g.unlayered, ['stray.ts']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
