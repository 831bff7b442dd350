// Reads what `lvsd convert` is given (the file named and each keepalived include) within the limits
// conf.d has (4 MiB a file, 16 MiB in all), refusing binary data at once: a hostile input ends with
// one positioned error, never with gigabytes of heap or a read that never returns.

import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { LIMITS, formatBytes } from '../config/limits.js';

/** Bytes read so far by one conversion, over every file. */
export interface InputBudget {
  bytes: number;
}

export type InputRead = { ok: true; text: string } | { ok: false; line: number; col: number; message: string };

export function newBudget(): InputBudget {
  return { bytes: 0 };
}

/**
 * The text of `file`. `regularOnly` (includes): anything but a regular file is refused before a
 * byte is read (/dev/zero, a FIFO, a socket). The file named on the command line may be a pipe
 * (`<(...)`); it is read up to the limit and refused past it.
 */
export function readInput(file: string, budget: InputBudget, regularOnly: boolean): InputRead {
  const fail = (message: string): InputRead => ({ ok: false, line: 0, col: 0, message });
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO without a writer must not block (regular files ignore the flag).
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    return fail(`cannot read: ${(err as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) return fail('is a directory');
    if (regularOnly && !st.isFile()) return fail(`is not a regular file (${kind(st)}); keepalived reads regular files only`);
    const room = Math.min(LIMITS.fileBytes, LIMITS.totalBytes - budget.bytes);
    if (st.isFile() && st.size > LIMITS.fileBytes) return fail(`too large: ${formatBytes(st.size)}, the limit is ${formatBytes(LIMITS.fileBytes)} per file`);
    if (st.isFile() && st.size > room) return fail(`too large: with this file the input exceeds ${formatBytes(LIMITS.totalBytes)} in all files`);
    // One byte past the room tells a file that is (or grew) too large.
    const buf = Buffer.allocUnsafe(room + 1);
    let n = 0;
    for (;;) {
      let got: number;
      try {
        got = readSync(fd, buf, n, buf.length - n, null);
      } catch (err) {
        // A pipe with nothing written yet: the command line gave it, wait for its writer.
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
          continue;
        }
        throw err;
      }
      if (got === 0) break;
      n += got;
      if (n > room) {
        return fail(room < LIMITS.fileBytes ? `too large: the input exceeds ${formatBytes(LIMITS.totalBytes)} in all files` : `too large: more than ${formatBytes(LIMITS.fileBytes)} (the limit per file)`);
      }
    }
    budget.bytes += n;
    const bytes = buf.subarray(0, n);
    const nul = bytes.indexOf(0);
    if (nul >= 0) {
      const before = bytes.subarray(0, nul).toString('utf8');
      const line = before.split('\n').length;
      return { ok: false, line, col: before.length - before.lastIndexOf('\n'), message: `binary data (a NUL byte at byte ${nul}), not a configuration file` };
    }
    return { ok: true, text: bytes.toString('utf8') };
  } catch (err) {
    return fail(`cannot read: ${(err as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

function kind(st: ReturnType<typeof fstatSync>): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}
