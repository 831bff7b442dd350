// Finding and reading the config files: which conf.d entries are service files, and each file's
// text, refused before it is read when it is too big, not a regular file or not UTF-8 text. Every
// file that should be read and cannot is an issue, so the running config is kept rather than a
// service silently dropped (a dangling symlink is an error, like an unreadable file).

import { isUtf8 } from 'node:buffer';
import { constants } from 'node:fs';
import type { Dirent } from 'node:fs';
import { closeSync, fstatSync, lstatSync, openSync, readSync, readlinkSync } from 'node:fs';
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { IssueList } from './issues.js';
import { LIMITS, formatBytes } from './limits.js';

/** Service files: *.yaml, not hidden. Editor leftovers (.swp, ~, .bak, .dpkg-old, .#lock) never match. */
export function isServiceFileName(name: string): boolean {
  return name.endsWith('.yaml') && !name.startsWith('.') && name.length > '.yaml'.length;
}

/** Bytes read so far over all files, against LIMITS.totalBytes. */
export interface ReadBudget {
  bytes: number;
}

/** The service files of conf.d, in plain code-unit order ("10-web" before "20-dns" before "a"). */
export async function listServiceFiles(confDir: string, issues: IssueList): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(confDir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'directory not found (services go in conf.d/*.yaml; create it, even empty)'
      : code === 'ENOTDIR' ? 'is not a directory'
      : `cannot read directory: ${(err as Error).message}`;
    issues.add({ file: confDir, line: 0, col: 0 }, why);
    return [];
  }
  const files: string[] = [];
  for (const entry of entries) {
    if (!isServiceFileName(entry.name)) continue;
    const path = join(confDir, entry.name);
    if (entry.isFile()) {
      files.push(entry.name);
    } else if (entry.isSymbolicLink()) {
      // conf.d entries are often links into a shared tree: follow them; a link to a directory is
      // skipped like a directory, a link that leads nowhere is an error.
      const st = await stat(path).catch((err: NodeJS.ErrnoException) => err);
      if (st instanceof Error) {
        const problem = await brokenLink(path, st);
        if (problem) issues.add({ file: path, line: 0, col: 0 }, problem);
      } else if (st.isFile()) {
        files.push(entry.name);
      } else if (!st.isDirectory()) {
        issues.add({ file: path, line: 0, col: 0 }, 'is a link to something that is not a regular file');
      }
    } else if (!entry.isDirectory()) {
      issues.add({ file: path, line: 0, col: 0 }, 'is not a regular file (a FIFO, socket or device); remove it or rename it');
    }
  }
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Why a symlink cannot be followed, or null when the link itself is gone (removed meanwhile). */
async function brokenLink(path: string, err: NodeJS.ErrnoException): Promise<string | null> {
  const target = await readlink(path).catch(() => null);
  if (target === null) return (await lstat(path).catch(() => null)) ? `cannot read: ${err.message}` : null;
  return linkProblem(target, err);
}

function brokenLinkSync(path: string, err: NodeJS.ErrnoException): string | null {
  const target = attempt(() => readlinkSync(path));
  if (target === null) return attempt(() => lstatSync(path)) ? `cannot read: ${err.message}` : null;
  return linkProblem(target, err);
}

function attempt<T>(f: () => T): T | null {
  try {
    return f();
  } catch {
    return null;
  }
}

function linkProblem(target: string, err: NodeJS.ErrnoException): string {
  if (err.code === 'ELOOP') return `symbolic link loop (-> ${target}); fix or remove the link`;
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return `broken symbolic link: its target ${target} does not exist; fix or remove the link`;
  return `cannot follow the symbolic link to ${target}: ${err.message}`;
}

/**
 * The file's text, or null when it cannot be used (the reason is an issue) or, with `optional`, does
 * not exist. A conf.d file listed a moment ago and gone now was removed while we read: also null
 * without an issue, since the watcher reloads again after that change.
 *
 * Synchronous on purpose: open, fstat, read and close of a small local file take ~10 us, while the
 * same four steps through the thread pool take a turn of the event loop each (1,000 files: 7 ms
 * against 0.3-0.6 s, more when the loop is busy with checks). readSources slices long runs.
 */
export function readSource(file: string, issues: IssueList, budget: ReadBudget, optional: boolean): string | null {
  const whole = { file, line: 0, col: 0 };
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO named *.yaml must not hang the load (regular files ignore the flag).
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP') {
      const link = attempt(() => lstatSync(file));
      if (link?.isSymbolicLink()) {
        const problem = brokenLinkSync(file, err as NodeJS.ErrnoException);
        if (problem) issues.add(whole, problem);
        return null;
      }
      if (code === 'ENOENT' && (optional || link === null)) return null;
    }
    issues.add(whole, `cannot read: ${(err as Error).message}`);
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      issues.add(whole, 'is not a regular file');
      return null;
    }
    if (st.size > LIMITS.fileBytes) {
      issues.add(whole, `too large: ${formatBytes(st.size)}, the limit is ${formatBytes(LIMITS.fileBytes)} per file (see README "Limits")`);
      return null;
    }
    if (!charge(file, st.size, budget, issues, false)) return null;
    // Read at most one byte past the limit: the file may grow between fstat and read.
    const buf = Buffer.allocUnsafe(Math.min(st.size, LIMITS.fileBytes) + 1);
    let n = 0;
    for (;;) {
      const bytesRead = readSync(fd, buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n === buf.length) {
        if (n > LIMITS.fileBytes) {
          issues.add(whole, `too large: more than ${formatBytes(LIMITS.fileBytes)} (it grew while being read)`);
          return null;
        }
        break;
      }
    }
    budget.bytes += n;
    return decodeText(file, buf.subarray(0, n), issues);
  } catch (err) {
    issues.add(whole, `cannot read: ${(err as Error).message}`);
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Take `bytes` from the budget, or refuse the file (an issue; every later file is refused too). */
function charge(file: string, bytes: number, budget: ReadBudget, issues: IssueList, take = true): boolean {
  if (budget.bytes + bytes > LIMITS.totalBytes) {
    issues.add({ file, line: 0, col: 0 }, `too large: with this file the configuration exceeds ${formatBytes(LIMITS.totalBytes)} in all files (see README "Limits")`);
    budget.bytes = LIMITS.totalBytes;
    return false;
  }
  if (take) budget.bytes += bytes;
  return true;
}

/** readSource over many files in order, giving the event loop a turn every `sliceMs`. */
export async function readSources(files: readonly string[], issues: IssueList, budget: ReadBudget, sliceMs = 5): Promise<(string | null)[]> {
  const out: (string | null)[] = [];
  let slice = performance.now();
  for (const file of files) {
    out.push(readSource(file, issues, budget, false));
    if (performance.now() - slice > sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      slice = performance.now();
    }
  }
  return out;
}

/** UTF-8 text, or an issue at the first byte that shows the file is not (binary, UTF-16...). */
function decodeText(file: string, bytes: Buffer, issues: IssueList): string | null {
  const nul = bytes.indexOf(0);
  if (nul < 0 && isUtf8(bytes)) return bytes.toString('utf8');
  const before = nul >= 0 ? bytes.subarray(0, nul).toString('utf8') : bytes.toString('utf8').split('\uFFFD', 1)[0]!;
  const byte = nul >= 0 ? nul : Buffer.byteLength(before);
  const line = before.split('\n').length;
  const col = before.length - before.lastIndexOf('\n');
  const what = nul >= 0 ? 'a NUL byte' : 'bytes that are not UTF-8';
  issues.add({ file, line, col }, `not a text file: ${what} at byte ${byte} (binary data or another encoding; lvsd reads UTF-8 YAML)`);
  return null;
}
