// Paths tests need, independent of the build output directory the compiled test runs from.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
  return dir;
}

/** The repository root (holds package.json, conf.d/, test/fixtures/). */
export const repoRoot = findRepoRoot(dirname(fileURLToPath(import.meta.url)));
export const fixturesDir = join(repoRoot, 'test', 'fixtures');
/** Where tests may leave artefacts worth looking at (screenshots, logs); ignored by git. */
export const testOutputDir = join(repoRoot, 'test-output');
