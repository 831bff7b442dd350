// Replace a small state file atomically: a crash leaves either the old or the new content, never half.

import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Write a temporary file in the same directory, fsync it, rename it over `path`, fsync the directory.
 * Throws the underlying error; the temporary file never stays behind.
 */
/** The name writeFileAtomic gives its temporary: `.NAME.PID.8HEX.tmp`. */
export const ATOMIC_TEMP_PATTERN = /^\..+\.\d+\.[0-9a-f]{8}\.tmp$/;

/**
 * Remove the temporaries a killed writer left in `dir` (kill -9 between open and rename): only
 * regular files named like ATOMIC_TEMP_PATTERN, only in `dir` itself. Returns how many went; a
 * missing `dir` is 0. Call it before anything in this process writes to `dir`.
 */
export async function removeAtomicTemporaries(dir: string): Promise<number> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let removed = 0;
  for (const e of entries) {
    if (!e.isFile() || !ATOMIC_TEMP_PATTERN.test(e.name)) continue;
    await unlink(join(dir, e.name));
    removed++;
  }
  return removed;
}

export async function writeFileAtomic(path: string, body: string, mode = 0o644): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await mkdir(dir, { recursive: true });
    const fh = await open(tmp, 'w', mode);
    try {
      await fh.writeFile(body, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
