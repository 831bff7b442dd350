// Checks at load time that a misc check's program exists and may be executed, so a typo in a
// path is a config error rather than a realserver that never comes up.

import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/** null when runnable, else why not. A name without a slash is looked up on PATH, as spawn does. */
export async function executableProblem(program: string, pathEnv = process.env.PATH ?? ''): Promise<string | null> {
  if (!program.includes('/')) {
    for (const dir of pathEnv.split(delimiter)) {
      if (dir && (await problemWith(join(dir, program))) === null) return null;
    }
    return `"${program}" was not found as an executable on PATH (${pathEnv || 'empty'}); give an absolute path`;
  }
  return problemWith(program);
}

async function problemWith(file: string): Promise<string | null> {
  try {
    const st = await stat(file);
    if (!st.isFile()) return `${file} is not a file`;
    await access(file, constants.X_OK);
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return `${file} does not exist`;
    if (code === 'EACCES') return `${file} is not executable (chmod +x, or check the permissions of its directories)`;
    return `${file} cannot be checked: ${(err as Error).message}`;
  }
}
