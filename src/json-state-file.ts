// A small JSON record under state_dir (owned.json, admin.json, sync-daemon.json): read with one
// error code whatever goes wrong, replaced atomically so a crash never leaves half of one.

import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-file.js';
import { LvsdError, errorMessage } from './errors.js';

/**
 * The parsed JSON of `path`, or undefined when there is no such file (first start). A file that
 * cannot be read or is not JSON throws LvsdError LVSD_STATE_IO; checking its shape is the caller's.
 */
export async function readJsonStateFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LvsdError('LVSD_STATE_IO', `cannot read ${path}: ${errorMessage(err)}`, { cause: err });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new LvsdError('LVSD_STATE_IO', `${path} is not valid JSON: ${errorMessage(err)}`, { cause: err });
  }
}

/** Replace `path` with `record` as indented JSON (see writeFileAtomic); LvsdError LVSD_STATE_IO on failure. */
export async function writeJsonStateFile(path: string, record: unknown, mode?: number): Promise<void> {
  try {
    await writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`, mode);
  } catch (err) {
    throw new LvsdError('LVSD_STATE_IO', `cannot write ${path}: ${errorMessage(err)}`, { cause: err });
  }
}
