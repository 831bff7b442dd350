// A small JSON record under state_dir (owned.json, admin.json, sync-daemon.json), read as untrusted
// input like the configuration: bounded size, a strict schema with ranges, one error code whatever
// goes wrong; an unusable record is moved aside (NAME.corrupt-TIME) so the next write starts clean
// and the evidence stays. Written atomically so a crash never leaves half of one.

import { constants } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { z } from 'zod';
import { writeFileAtomic } from './atomic-file.js';
import { LvsdError, errorMessage } from './errors.js';

/** Far above any honest record (10,000 admin entries are ~2 MB); a bigger file is unusable. */
export const STATE_FILE_MAX_BYTES = 16 * 1024 * 1024;
/** The largest time a JS Date can hold (ms since the epoch), ECMA-262 21.4.1.1. */
export const MAX_DATE_MS = 8.64e15;

/** An epoch time in ms that `new Date(t).toISOString()` can format: an integer in [0, MAX_DATE_MS]. */
export const epochMs = z.int().min(0).max(MAX_DATE_MS);
/** A free-text field of a record ("socket uid 0 (root, pid 1234)", a service name). */
export const recordText = z.string().max(1024);

/**
 * The record in `path` could not be used. `corrupt`: its content was read and is not a record
 * (not JSON, wrong shape, out of range, too large, not a regular file): moving it aside is right.
 * Otherwise reading failed (permissions, I/O) and the file is left where it is.
 */
export class StateRecordError extends LvsdError {
  readonly corrupt: boolean;
  constructor(message: string, corrupt: boolean, options?: { cause?: unknown }) {
    super('LVSD_STATE_IO', message, options);
    this.corrupt = corrupt;
  }
}

/** "entries[3].since: Too big: expected number to be <=8640000000000000" for the first issue. */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
  return path ? `${path}: ${issue.message}` : issue.message;
}

/** The text of `path`, or undefined when there is none; StateRecordError for anything else. */
async function readBounded(path: string): Promise<string | undefined> {
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateRecordError(`cannot read ${path}: ${errorMessage(err)}`, false, { cause: err });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new StateRecordError(`${path} is not a regular file`, true);
    if (st.size > STATE_FILE_MAX_BYTES) throw new StateRecordError(`${path} is too large (${st.size} bytes, at most ${STATE_FILE_MAX_BYTES})`, true);
    const buf = Buffer.alloc(st.size + 1);
    let n = 0;
    // Read up to one byte past the size fstat gave: a file growing meanwhile is refused, not read whole.
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n >= buf.length) throw new StateRecordError(`${path} grew while it was read`, true);
    }
    return buf.toString('utf8', 0, n);
  } catch (err) {
    if (err instanceof StateRecordError) throw err;
    throw new StateRecordError(`cannot read ${path}: ${errorMessage(err)}`, false, { cause: err });
  } finally {
    await fh.close();
  }
}

/**
 * The record in `path` checked against `schema`, or undefined when there is no such file (first
 * start). Anything else throws StateRecordError (code LVSD_STATE_IO) naming the file and the field.
 */
export async function readJsonStateFile<T>(path: string, schema: z.ZodType<T>, what: string): Promise<T | undefined> {
  const text = await readBounded(path);
  if (text === undefined) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(text) as unknown;
  } catch (err) {
    throw new StateRecordError(`${path} is not valid JSON: ${errorMessage(err)}`, true, { cause: err });
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw new StateRecordError(`${path} is not an lvsd ${what}: ${firstIssue(parsed.error)}`, true);
  return parsed.data;
}

/** `owned.json.corrupt-20261206T131500123Z`: sortable, one per occurrence, no ':' (scp, tar). */
export function corruptName(path: string, now: number): string {
  return `${path}.corrupt-${new Date(now).toISOString().replace(/[-:.]/g, '')}`;
}

/**
 * Move an unusable record out of the way (rename to NAME.corrupt-TIME) when `err` says its content
 * was bad; returns where it went, or null (left in place: unreadable, or the rename failed).
 */
export async function setAsideUnusable(path: string, err: unknown, now: number = Date.now()): Promise<string | null> {
  if (!(err instanceof StateRecordError) || !err.corrupt) return null;
  const to = corruptName(path, now);
  try {
    await rename(path, to);
    return to;
  } catch {
    return null;
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
