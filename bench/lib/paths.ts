// Where benchmark code and results live, independent of the build directory it runs from.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../../test/helpers/paths.js';

export { repoRoot };
export const benchBuildDir = dirname(dirname(fileURLToPath(import.meta.url)));
export const resultsDir = join(repoRoot, 'bench', 'results');
