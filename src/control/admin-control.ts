// Admin state as the daemon runs it: the store, its sources (control socket, maintenance directory,
// and `setEntry` for agent replies), the operator's record in state_dir, and one log line per change.

import type { Snapshot } from '../config/model.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { AdminEntry, AdminSourceKind, AdminTarget } from './admin-model.js';
import { formatTarget, targetId } from './admin-model.js';
import { readAdminFile, writeAdminFile } from './admin-file.js';
import { setAsideUnusable } from '../json-state-file.js';
import { AdminStore } from './admin-store.js';
import type { AdminChange, AdminView } from './admin-store.js';
import { adminListing, planSet, runCommand } from './commands.js';
import { ControlServer } from './control-server.js';
import type { ControlReply, ControlRequest, SyncRoleReply } from './protocol.js';
import { MaintenanceDir } from './maintenance-dir.js';
import type { MaintenanceScan } from './maintenance-dir.js';
import { PacedLog } from '../paced-log.js';

export interface AdminControlOptions {
  readonly logger: Logger;
  /** `${state_dir}/admin.json`; null keeps the operator's entries in memory only (dry-run). */
  readonly file: string | null;
  /** control_socket; null: no socket. */
  readonly socketPath: string | null;
  /** maintenance_dir; null: none. */
  readonly maintenanceDir: string | null;
  /** The control socket's `sync-role` request (the sync daemon keeper); absent: refused. */
  readonly syncRole?: (request: Extract<ControlRequest, { cmd: 'sync-role' }>, by: string) => Promise<SyncRoleReply>;
  /** Any change of a real's combined state (the reconciler is triggered from here). */
  readonly onChange: (changes: readonly AdminChange[]) => void;
  readonly now?: () => number;
}

export class AdminControl {
  readonly store = new AdminStore();
  readonly #o: AdminControlOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  #snapshot: Snapshot | null = null;
  #server: ControlServer | null = null;
  #maintenance: MaintenanceDir | null = null;
  #socketError: string | null = null;
  /** Saves run one at a time, in order. */
  #saving: Promise<void> = Promise.resolve();
  /** One line per changed real or maintenance file, a batch per loop turn (thousands at once). */
  readonly #lines = new PacedLog();

  constructor(options: AdminControlOptions) {
    this.#o = options;
    this.#log = options.logger;
    this.#now = options.now ?? Date.now;
  }

  view(): AdminView {
    return this.store.view();
  }

  get maintenanceDir(): string | null {
    return this.#o.maintenanceDir;
  }

  /** The socket's path when listening, and why not otherwise (for status). */
  socketState(): { readonly path: string | null; readonly error: string | null } {
    return { path: this.#server?.path ?? null, error: this.#socketError };
  }

  /**
   * Restore the operator's entries, read the maintenance directory, open the socket. Called before
   * the first reconcile pass, so the first table already honours a drain set before a restart.
   * A socket that cannot be opened is logged (LVSD_CONTROL_FAILED) and the daemon runs on without it.
   */
  async start(snapshot: Snapshot): Promise<void> {
    this.#snapshot = snapshot;
    this.store.setSnapshot(snapshot);
    const file = this.#o.file;
    if (file) {
      let entries: AdminEntry[] | null = null;
      try {
        entries = await readAdminFile(file);
      } catch (err) {
        // Refusing to start over a bookkeeping file would take the director down; say it loudly,
        // keep the evidence aside (admin.json.corrupt-TIME) and start from no operator entries.
        const movedTo = await setAsideUnusable(file, err, this.#now());
        this.#log.error({ code: 'LVSD_STATE_IO', file, err: errorMessage(err), movedTo }, 'admin state record unusable; starting with no operator admin state');
      }
      if (entries) {
        this.#report(this.store.replace('operator', entries), `restored from ${file}`);
        if (entries.length) this.#log.info({ event: 'admin_restored', file, entries: entries.map((e) => `${e.state} ${formatTarget(e.target)}`) }, `admin state restored: ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}`);
      }
    }
    if (this.#o.maintenanceDir) {
      const dir = new MaintenanceDir({ dir: this.#o.maintenanceDir, logger: this.#log, onScan: (scan) => this.#maintenanceScan(scan) });
      this.#maintenance = dir;
      await dir.start();
    }
    if (this.#o.socketPath) {
      const server = new ControlServer((req, by) => this.#request(req, by), this.#log);
      try {
        await server.listen(this.#o.socketPath);
        this.#server = server;
        this.#log.info({ socket: this.#o.socketPath }, 'control socket ready');
      } catch (err) {
        this.#socketError = errorMessage(err);
        this.#log.error({ code: 'LVSD_CONTROL_FAILED', err: this.#socketError }, 'control socket unavailable; lvsd drain/disable/enable will not reach this daemon');
      }
    }
  }

  async close(): Promise<void> {
    await this.#server?.close();
    await this.#maintenance?.close();
    await this.#saving;
    // Stopping: the lines still paced are written at once rather than over seconds.
    await this.#lines.flushNow();
  }

  setSnapshot(snapshot: Snapshot): void {
    this.#snapshot = snapshot;
    this.#report(this.store.setSnapshot(snapshot), 'configuration change');
  }

  /** Set or clear (state null) one source's entry for a target: the hook for agent replies. */
  setEntry(source: Exclude<AdminSourceKind, 'operator'>, target: AdminTarget, entry: Omit<AdminEntry, 'target' | 'source' | 'since'> | null): void {
    const id = targetId(target);
    const prev = this.store.get(source, id);
    if (entry === null) {
      if (prev) this.#report(this.store.remove(source, (e) => targetId(e.target) === id).changes, `${source} ${prev.by}`);
      return;
    }
    if (prev?.state === entry.state) return;
    this.#report(this.store.put({ ...entry, target, source, since: this.#now() }), `${source} ${entry.by}`);
  }

  listing(): ReturnType<typeof adminListing> | null {
    return this.#snapshot ? adminListing(this.store, this.#snapshot) : null;
  }

  async #request(req: ControlRequest, by: string): Promise<ControlReply | SyncRoleReply> {
    if (req.cmd === 'sync-role') {
      if (!this.#o.syncRole) return { ok: false, code: 'LVSD_SYNC_NOT_CONFIGURED', error: 'this daemon does not run a sync daemon keeper' };
      return this.#o.syncRole(req, by);
    }
    const snapshot = this.#snapshot;
    if (!snapshot) return { ok: false, code: 'LVSD_CONTROL_FAILED', error: 'the daemon is starting' };
    if (req.cmd === 'list') return runCommand(req, { store: this.store, snapshot, by, now: this.#now() }).reply;
    // One change at a time: each is tried on a copy, written, and only then applied.
    const done = this.#saving.then(() => this.#set(req, by));
    this.#saving = done.then(() => undefined);
    return done;
  }

  /**
   * A change is applied only once admin.json holds it: a write that fails (ENOSPC, EROFS, EACCES)
   * is a failed command with the reason, and nothing changes (regression: ENOSPC was logged, the
   * CLI said OK, and the drain held in memory only). The request is checked and the operator's next
   * entries worked out without touching the store; once written, it is applied to the live store,
   * recomputing only the reals its target names.
   */
  async #set(req: Extract<ControlRequest, { cmd: 'set' }>, by: string): Promise<ControlReply> {
    const snapshot = this.#snapshot!;
    const verb = req.state === 'ready' ? 'enable' : req.state === 'drain' ? 'drain' : 'disable';
    const plan = planSet(req, { store: this.store, snapshot, by, now: this.#now() });
    if (!plan.ok) {
      const r = plan.reply as Extract<ControlReply, { ok: false }>;
      this.#log.warn({ event: 'admin_command', command: verb, by, code: r.code, err: r.error }, `admin: ${verb} refused: ${r.error}`);
      return plan.reply;
    }
    const file = this.#o.file;
    if (plan.modified && file) {
      try {
        await writeAdminFile(file, plan.operatorEntries());
      } catch (err) {
        const error = `cannot save the admin state (${errorMessage(err)}); nothing was changed`;
        this.#log.error({ code: 'LVSD_STATE_IO', event: 'admin_command', by, err: errorMessage(err) }, `admin: ${error}`);
        return { ok: false, code: 'LVSD_STATE_IO', error };
      }
    }
    // The snapshot the request was checked against is the one it is applied to (a reload during
    // the write re-applies every entry to the new snapshot through setSnapshot).
    const out = plan.apply(this.store);
    this.#log.info({ event: 'admin_command', command: verb, target: out.target, by, changed: out.changes.length }, `admin: ${verb} ${out.target} (${by})`);
    this.#report(out.changes, `operator ${by}`);
    // The reply (what still holds, the first listing page: 10-20 ms at 10,000 entries) in a turn
    // of its own, after the change is applied and the pass triggered.
    await new Promise<void>((resolve) => setImmediate(resolve));
    return out.reply();
  }

  #maintenanceScan(scan: MaintenanceScan): void {
    this.#lines.write([
      ...scan.added.map((f) => () => this.#log.info({ event: 'maintenance_file', file: f, action: 'added' }, `maintenance file added: ${f}`)),
      ...scan.removed.map((f) => () => this.#log.info({ event: 'maintenance_file', file: f, action: 'removed' }, `maintenance file removed: ${f}`)),
    ]);
    const cause = [...scan.added.map((f) => `file ${f} added`), ...scan.removed.map((f) => `file ${f} removed`)].join(', ') || 'maintenance_dir scan';
    this.#report(this.store.replace('maintenance', scan.entries), cause);
  }

  #report(changes: readonly AdminChange[], cause: string): void {
    if (changes.length === 0) return;
    // The pass is triggered at once; the lines follow, a batch per turn.
    this.#lines.write(
      changes.map((c) => () => {
        const because = c.entries.map((e) => `${e.state} by ${e.source} (${e.by})`);
        this.#log.info(
          { event: 'admin_change', service: c.service, real: c.real, from: c.from, to: c.to, cause, ...(because.length ? { because } : {}) },
          `${c.service} ${c.real}: admin ${c.from} -> ${c.to} (${cause})`,
        );
      }),
    );
    this.#o.onChange(changes);
  }
}
