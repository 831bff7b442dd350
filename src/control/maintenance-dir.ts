// The maintenance directory (`maintenance_dir`), watched like conf.d: each file puts the reals its
// name matches in maint, deleting it returns them. Rescanned whole after a debounced burst of events.
// The directory itself may be removed and re-created (`rm -rf maint; mkdir maint`): a watcher follows
// an inode, so a stat once a second notices another inode (or none) and watches the new one.

import { mkdir, readdir, stat } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { watch } from 'chokidar';
import type { FSWatcher } from 'chokidar';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { AdminEntry } from './admin-model.js';
import { parseMaintenanceName } from './maintenance-names.js';

export interface MaintenanceScan {
  readonly entries: readonly AdminEntry[];
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

export interface MaintenanceDirOptions {
  readonly dir: string;
  readonly logger: Logger;
  /** Called after every scan that found a difference (and once after the first scan). */
  readonly onScan: (scan: MaintenanceScan) => void;
  readonly debounceMs?: number;
  /** How often the directory's identity is checked (default 1 s). */
  readonly presenceMs?: number;
  readonly now?: () => number;
}

/** dev:ino of the directory, null when there is none (or it is not a directory). */
async function identity(dir: string): Promise<string | null> {
  try {
    const st = await stat(dir);
    return st.isDirectory() ? `${st.dev}:${st.ino}` : null;
  } catch {
    return null;
  }
}

export class MaintenanceDir {
  readonly #o: MaintenanceDirOptions;
  readonly #dir: string;
  #fsw: FSWatcher | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** file name -> its entry. */
  #files = new Map<string, AdminEntry>();
  /** Names already warned about, so a bad name is logged once while it stays. */
  #invalid = new Set<string>();
  #scanning: Promise<void> = Promise.resolve();
  #closed = false;
  /** dev:ino of the directory the watcher follows; null: no watcher (the directory is gone). */
  #watched: string | null = null;
  #presence: NodeJS.Timeout | null = null;
  /** The directory was found missing; its files' entries were dropped (logged once). */
  #gone = false;

  constructor(options: MaintenanceDirOptions) {
    this.#o = options;
    this.#dir = resolvePath(options.dir);
  }

  /** Create the directory if missing, scan it, then watch it. */
  async start(): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o755 }).catch((err: unknown) =>
      this.#o.logger.error({ code: 'LVSD_STATE_IO', dir: this.#dir, err: errorMessage(err) }, 'cannot create maintenance_dir'),
    );
    await this.rescan(true);
    this.#presence = setInterval(() => void this.#checkPresence(), this.#o.presenceMs ?? 1000);
    this.#presence.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#presence) clearInterval(this.#presence);
    await this.#scanning;
    await this.#fsw?.close();
    this.#fsw = null;
  }

  /** Rescan when the directory is no longer the one watched (removed, re-created, replaced). */
  #checkPresence(): void {
    if (this.#closed) return;
    this.#scanning = this.#scanning.then(async () => {
      if ((await identity(this.#dir)) !== this.#watched) await this.#scan(false);
    });
  }

  /** Watch the directory as it is now (a new one after a re-creation); none while it is missing. */
  async #follow(): Promise<void> {
    const id = await identity(this.#dir);
    if (id === this.#watched && (id === null || this.#fsw)) return;
    await this.#fsw?.close();
    this.#fsw = null;
    this.#watched = id;
    if (id === null || this.#closed) return;
    const fsw = watch(this.#dir, { ignoreInitial: true, depth: 0, atomic: true });
    this.#fsw = fsw;
    fsw.on('all', () => this.#schedule());
    fsw.on('error', (err) => this.#o.logger.warn({ err: errorMessage(err) }, 'maintenance_dir watcher error'));
    await new Promise<void>((resolve) => fsw.once('ready', resolve));
  }

  #schedule(): void {
    if (this.#closed) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.rescan(false);
    }, this.#o.debounceMs ?? 200);
  }

  /** Read the directory and report the difference; scans run one at a time. */
  rescan(first: boolean): Promise<void> {
    this.#scanning = this.#scanning.then(() => this.#scan(first));
    return this.#scanning;
  }

  async #scan(first: boolean): Promise<void> {
    const log = this.#o.logger;
    if (this.#closed) return;
    // Watch before reading: a file created in between is then an event, not missed.
    await this.#follow();
    let names: string[];
    try {
      const dirents = await readdir(this.#dir, { withFileTypes: true });
      // Regular files and links to them; a subdirectory means nothing.
      names = dirents.filter((d) => !d.isDirectory()).map((d) => d.name).sort();
      if (this.#gone) log.info({ event: 'maintenance_dir', dir: this.#dir, action: 'back' }, `maintenance_dir ${this.#dir} is back; its files are read again`);
      this.#gone = false;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        log.error({ code: 'LVSD_STATE_IO', dir: this.#dir, err: errorMessage(err) }, 'cannot read maintenance_dir; keeping the last known maintenance files');
        return;
      }
      // Removed (`rm -rf maint`): its files are gone with it, so are their entries. It is picked up
      // again when it comes back (the presence check), and not re-created: the operator removed it.
      if (!this.#gone) log.warn({ event: 'maintenance_dir', dir: this.#dir, action: 'gone', dropped: this.#files.size }, `maintenance_dir ${this.#dir} is gone: its ${this.#files.size} file(s) no longer hold any real; watching for it to come back`);
      this.#gone = true;
      names = [];
    }
    const now = (this.#o.now ?? Date.now)();
    const next = new Map<string, AdminEntry>();
    for (const name of names) {
      const prev = this.#files.get(name);
      if (prev) {
        next.set(name, prev);
        continue;
      }
      const parsed = parseMaintenanceName(name);
      if (parsed.ok) {
        next.set(name, { target: parsed.target, state: 'maint', source: 'maintenance', by: `file ${join(this.#dir, name)}`, since: now });
      } else if (!parsed.ignored && !this.#invalid.has(name)) {
        this.#invalid.add(name);
        log.warn({ code: 'LVSD_CONFIG_INVALID', file: join(this.#dir, name) }, `${join(this.#dir, name)}: maintenance file name ignored: ${parsed.error}`);
      }
    }
    const added = [...next.keys()].filter((n) => !this.#files.has(n));
    const removed = [...this.#files.keys()].filter((n) => !next.has(n));
    const present = new Set(names);
    for (const n of this.#invalid) if (!present.has(n)) this.#invalid.delete(n);
    this.#files = next;
    if (first || added.length || removed.length) {
      this.#o.onScan({ entries: [...next.values()], added: added.map((n) => join(this.#dir, n)), removed: removed.map((n) => join(this.#dir, n)) });
    }
  }
}
