// The record of which IPVS services are lvsd's, persisted atomically so a restart never deletes a foreign one.

import { access, constants, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { LvsdError, errorMessage } from '../errors.js';
import { readJsonStateFile, setAsideUnusable, writeJsonStateFile } from '../json-state-file.js';
import type { Logger } from '../log.js';

export const OWNED_FILE = 'owned.json';
const FORMAT_VERSION = 1;

// Service keys ("tcp:192.0.2.10:80", "fwmark:1:v4"): bounded like every field of a record.
const fileSchema = z.strictObject({ version: z.literal(FORMAT_VERSION), services: z.array(z.string().min(1).max(256)).max(1_000_000) });

/**
 * Read an ownership file. A missing file is an empty set (first start). Anything else that cannot
 * be read or is not the expected JSON throws StateRecordError (LVSD_STATE_IO).
 */
export async function readOwnedFile(path: string): Promise<Set<string>> {
  const data = await readJsonStateFile(path, fileSchema, `ownership record (expected {"version":${FORMAT_VERSION},"services":[...]})`);
  return new Set(data?.services ?? []);
}

/**
 * Replace the file atomically: write a temporary file in the same directory, fsync it, rename it over
 * the old one, fsync the directory. A crash leaves either the old or the new record, never half of one.
 */
export async function writeOwnedFile(path: string, _dir: string, keys: Iterable<string>): Promise<void> {
  await writeJsonStateFile(path, { version: FORMAT_VERSION, services: [...keys].sort() });
}

/**
 * Service keys lvsd created or manages. Configured services are always managed (the reconciler adds
 * them here before it creates them, and a configured service found already in the kernel is adopted:
 * the config declares it, so lvsd edits it and later removes it when it leaves the config). A key
 * leaves the record only once the service is gone from the kernel.
 */
export class Ownership {
  readonly #file: string | null;
  readonly #dir: string | null;
  #keys: ReadonlySet<string>;
  /** The last write failed: the next save writes even if the set did not change. */
  #dirty = false;

  private constructor(dir: string | null, keys: ReadonlySet<string>) {
    this.#dir = dir;
    this.#file = dir === null ? null : join(dir, OWNED_FILE);
    this.#keys = keys;
  }

  /**
   * Load `${stateDir}/owned.json`, creating the directory. Every state-dir problem has the same
   * outcome: an error logged with code LVSD_STATE_IO, and lvsd runs on with the record in memory.
   * - the directory cannot be made or written (a regular file in its place, read-only, no such
   *   parent, permission): logged; this process still knows what it creates, and every later
   *   save retries the write;
   * - a corrupt or unreadable record: logged, moved aside as owned.json.corrupt-TIME when corrupt, and
   *   lvsd starts with an empty set: that only means services lvsd created and that have since
   *   left the config are left alone like foreign ones, which is the safe direction (never flush
   *   what you do not own); configured services are managed regardless of the record.
   * Refusing to start would take the director down over a bookkeeping file.
   *
   * `readOnly` (for `lvsd plan`, which must change nothing on disk): no directory is created and a
   * corrupt record stays where it is; problems are logged at warn and the set starts empty.
   */
  static async load(stateDir: string, logger: Logger, options: { readonly readOnly?: boolean } = {}): Promise<Ownership> {
    const file = join(stateDir, OWNED_FILE);
    const readOnly = options.readOnly === true;
    let dirProblem: string | null = null;
    if (!readOnly) {
      try {
        await mkdir(stateDir, { recursive: true });
        await access(stateDir, constants.W_OK);
      } catch (err) {
        dirProblem = stateDirProblem(stateDir, err);
        logger.error(
          { code: 'LVSD_STATE_IO', stateDir, err: dirProblem },
          'state_dir unusable; the ownership record is kept in memory until it can be written',
        );
      }
    }
    try {
      return new Ownership(readOnly ? null : stateDir, await readOwnedFile(file));
    } catch (err) {
      const code = err instanceof LvsdError ? err.code : 'LVSD_STATE_IO';
      if (readOnly) {
        logger.warn({ code, err: errorMessage(err) }, 'ownership record unusable; planning as if lvsd had created nothing earlier');
        return new Ownership(null, new Set());
      }
      // A directory problem was logged above; reading inside it fails for the same reason.
      if (dirProblem !== null) {
        const o = new Ownership(stateDir, new Set());
        o.#dirty = true;
        return o;
      }
      const movedTo = await setAsideUnusable(file, err);
      logger.error(
        { code, err: errorMessage(err), movedTo },
        'ownership record unusable; starting with no previously created services',
      );
      const o = new Ownership(stateDir, new Set());
      o.#dirty = true;
      return o;
    }
  }

  /** A record that lives only in memory (dry-run, tests). */
  static inMemory(initial: Iterable<string> = []): Ownership {
    return new Ownership(null, new Set(initial));
  }

  keys(): ReadonlySet<string> {
    return this.#keys;
  }

  /**
   * Make `next` the record. The in-memory set changes even if the write fails (this process still
   * knows), and the write is retried on the next save. Throws LvsdError LVSD_STATE_IO on failure.
   */
  async save(next: Iterable<string>): Promise<void> {
    const set = new Set(next);
    const changed = set.size !== this.#keys.size || [...set].some((k) => !this.#keys.has(k));
    this.#keys = set;
    if (this.#file === null || this.#dir === null || (!changed && !this.#dirty)) return;
    this.#dirty = true;
    await writeOwnedFile(this.#file, this.#dir, set);
    this.#dirty = false;
  }
}

/** What is wrong with the state dir, in words an operator can act on. */
function stateDirProblem(stateDir: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EEXIST':
    case 'ENOTDIR':
      return `${stateDir} (or a parent of it) exists and is not a directory`;
    case 'EROFS':
      return `${stateDir} is on a read-only file system`;
    case 'EACCES':
    case 'EPERM':
      return `no permission to write ${stateDir}`;
    case 'ENOSPC':
      return `no space left for ${stateDir}`;
    default:
      return `${stateDir}: ${errorMessage(err)}`;
  }
}
