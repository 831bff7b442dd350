// Where benchmark code and results live, independent of the build directory it runs from.

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

export const benchBuildDir = dirname(dirname(fileURLToPath(import.meta.url)));
export const repoRoot = findRepoRoot(benchBuildDir);
export const resultsDir = join(repoRoot, 'bench', 'results');
