// Keeps the kernel's connection sync daemon(s) as lvsd.yaml `sync_daemon` (or the role set at run
// time) wants them, on the reconciler's pass loop (PassLoop: a trigger runs a pass at once, one at a
// time): starts them once the reconciler starts, reads `ipvsadm -L --daemon` back once
// per resync_interval and repairs drift (stopped behind lvsd's back, other options) with one log
// line per repair. It stops only daemons it started itself (its record in state_dir): a daemon
// someone else runs with other options is a conflict it reports and leaves alone. It lives in
// src/sync-daemon/ beside its ipvsadm part (ipvsadm.ts) and its record (record.ts).

import type { SyncDaemonConfig, SyncRole } from '../config/model.js';
import { LvsdError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { SYNC_DAEMON_STATES, daemonDifferences } from './ipvsadm.js';
import type { KernelSyncDaemon, SyncDaemonRunner, SyncDaemonSpec, SyncDaemonState, SyncDaemons } from './ipvsadm.js';
import { kernelViewOf } from './ipvsadm.js';
import { EMPTY_SYNC_RECORD, readSyncDaemonFile, writeSyncDaemonFile } from './record.js';
import { setAsideUnusable } from '../json-state-file.js';
import type { RuntimeRole, SyncDaemonRecord } from './record.js';
import type { SyncStatusJson } from '../control/protocol.js';
import { unrefTimers } from '../reconcile/loop-timers.js';
import type { LoopTimers } from '../reconcile/loop-timers.js';
import { PassLoop } from '../reconcile/pass-loop.js';
import type { NextPass } from '../reconcile/pass-loop.js';

export interface SyncDaemonKeeperOptions {
  readonly runner: SyncDaemonRunner;
  readonly logger: Logger;
  /** `${state_dir}/sync-daemon.json`; null keeps the record in memory only (dry run). */
  readonly file: string | null;
  readonly now?: () => number;
  readonly timers?: LoopTimers;
  /** First retry after a failed start or stop; doubles up to the resync interval. Default 1 s. */
  readonly retryInitialMs?: number;
}

export interface SyncDaemonStats {
  /** ipvsadm -L --daemon runs. */
  readonly reads: number;
  /** ipvsadm --start-daemon / --stop-daemon runs. */
  readonly changes: number;
  /** Repairs of drift found by a read (a daemon gone or with other options). */
  readonly repairs: number;
  readonly failures: number;
}

/** The kernel daemons of a role. */
export function statesOf(role: SyncRole): SyncDaemonState[] {
  return role === 'both' ? ['master', 'backup'] : role === 'none' ? [] : [role];
}

function specOf(c: SyncDaemonConfig): SyncDaemonSpec | null {
  if (c.interface === null) return null;
  return { interface: c.interface, syncid: c.syncid, maxlen: c.maxlen, group: c.group, port: c.port, ttl: c.ttl };
}

function describe(spec: SyncDaemonSpec): string {
  const extra = [
    spec.maxlen !== null ? `maxlen ${spec.maxlen}` : '',
    spec.group !== null ? `group ${spec.group}` : '',
    spec.port !== null ? `port ${spec.port}` : '',
    spec.ttl !== null ? `ttl ${spec.ttl}` : '',
  ].filter(Boolean);
  return `interface ${spec.interface}, syncid ${spec.syncid}${extra.length ? `, ${extra.join(', ')}` : ''}`;
}

export class SyncDaemonKeeper {
  readonly #o: SyncDaemonKeeperOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #loop: PassLoop<void>;
  #config: SyncDaemonConfig | null = null;
  #resyncMs = 30_000;
  #record: SyncDaemonRecord = EMPTY_SYNC_RECORD;
  /** The kernel's daemons as last read plus the changes since; null = read at the next pass. */
  #model: SyncDaemons | null = null;
  #readAt: number | null = null;
  #consecutiveFailures = 0;
  #lastError: string | null = null;
  #conflicts: readonly string[] = [];
  #saving: Promise<void> = Promise.resolve();
  #stats = { reads: 0, changes: 0, repairs: 0, failures: 0 };

  constructor(options: SyncDaemonKeeperOptions) {
    this.#o = options;
    this.#log = options.logger;
    this.#now = options.now ?? (() => Date.now());
    this.#loop = new PassLoop<void>({
      name: 'sync daemon pass',
      timers: options.timers ?? unrefTimers,
      now: this.#now,
      // A role switch or a reload is applied at once, not coalesced: there is one daemon per role.
      coalesceMs: null,
      run: (reasons, signal) => this.#pass(reasons, signal),
      next: () => this.#next(),
    });
  }

  /**
   * Restore the record (run-time role, daemons lvsd started). An unusable file is moved aside
   * (sync-daemon.json.corrupt-TIME) and logged, never fatal, and the safe default applies: the role
   * lvsd.yaml says and no daemon counted as lvsd's (never master from a record it could not read).
   */
  async load(): Promise<void> {
    const file = this.#o.file;
    if (!file) return;
    let record: SyncDaemonRecord;
    try {
      record = await readSyncDaemonFile(file);
    } catch (err) {
      const movedTo = await setAsideUnusable(file, err, this.#now());
      this.#log.error(
        { code: 'LVSD_STATE_IO', file, err: errorMessage(err), movedTo },
        'sync daemon record unusable; the role is the one lvsd.yaml says and no running daemon counts as started by lvsd',
      );
      return;
    }
    // Taken into use only once read whole and valid: nothing of a bad record leaks into the role.
    this.#record = record;
    const r = record.runtime;
    if (r) this.#log.info({ event: 'sync_role_restored', role: r.role, by: r.by, since: new Date(r.since).toISOString() }, `sync daemon: run-time role ${r.role} restored (set by ${r.by})`);
  }

  /** The configuration's `sync_daemon` (null: not configured) and resync_interval; a change runs a pass. */
  setConfig(config: SyncDaemonConfig | null, resyncIntervalMs: number): void {
    const before = JSON.stringify(this.#config && { ...this.#config, pos: null });
    this.#config = config;
    this.#resyncMs = resyncIntervalMs;
    if (this.#loop.started && before !== JSON.stringify(config && { ...config, pos: null })) this.trigger('configuration');
  }

  /** Begin changing the kernel (with the reconciler's first pass); resolves after the first pass. */
  start(): Promise<void> {
    if (this.#loop.stopped || this.#loop.started) return this.settled();
    return this.#loop.start('lvsd start');
  }

  /** Stop the loop; the kernel's daemons stay as they are (a backup keeps receiving across a restart). */
  async stop(): Promise<void> {
    await this.#loop.stop(new Error('lvsd stopping'));
    await this.#saving;
  }

  settled(): Promise<void> {
    return this.#loop.settled();
  }

  /**
   * Set (role) or clear (null: back to lvsd.yaml) the run-time role, persist it, and apply it now
   * when the keeper runs. Throws LvsdError LVSD_SYNC_NOT_CONFIGURED when lvsd.yaml has no `sync_daemon`.
   */
  async setRuntimeRole(role: SyncRole | null, by: string): Promise<SyncStatusJson> {
    if (!this.#config) {
      throw new LvsdError('LVSD_SYNC_NOT_CONFIGURED', 'lvsd.yaml has no sync_daemon section: add one (interface, syncid) before setting a role');
    }
    if (role !== null && role !== 'none' && this.#config.interface === null) {
      throw new LvsdError('LVSD_SYNC_NOT_CONFIGURED', 'sync_daemon in lvsd.yaml has no interface: a master or backup daemon needs one');
    }
    const before = this.role();
    const runtime: RuntimeRole | null = role === null ? null : { role, by, since: this.#now() };
    this.#record = { ...this.#record, runtime };
    await this.#save();
    const after = this.role();
    this.#log.info(
      { event: 'sync_role', role: after.role, source: after.source, from: before.role, by },
      role === null
        ? `sync daemon: run-time role cleared by ${by}; role ${after.role ?? 'none'} from lvsd.yaml`
        : `sync daemon: role ${before.role ?? 'none'} -> ${role} (set at run time by ${by})`,
    );
    if (this.#running) {
      this.trigger(role === null ? `role from lvsd.yaml (run-time role cleared by ${by})` : `role ${role} set at run time by ${by}`);
      await this.settled();
    }
    return this.status();
  }

  /** The role in force and what set it. */
  role(): { readonly role: SyncRole | null; readonly source: 'runtime' | 'config' | null } {
    if (!this.#config) return { role: null, source: null };
    const r = this.#record.runtime;
    return r ? { role: r.role, source: 'runtime' } : { role: this.#config.role, source: 'config' };
  }

  /** Run a pass now (after the running one); before start() the reason is only remembered. */
  trigger(reason: string): void {
    this.#loop.trigger(reason);
  }

  /** Started and not stopped. */
  get #running(): boolean {
    return this.#loop.started && !this.#loop.stopped;
  }

  stats(): SyncDaemonStats {
    return { ...this.#stats };
  }

  status(): SyncStatusJson {
    const { role, source } = this.role();
    const owned = new Set(this.#record.started);
    const r = this.#record.runtime;
    return {
      configured: this.#config !== null,
      role,
      source,
      config_role: this.#config?.role ?? null,
      runtime: r ? { role: r.role, by: r.by, since: new Date(r.since).toISOString() } : null,
      wanted: this.#wanted(),
      // master first, as ipvsadm lists them, whatever order the model was built in.
      kernel: SYNC_DAEMON_STATES.flatMap((st) => {
        const d = this.#model?.get(st);
        return d ? [{ ...d, owned: owned.has(st) }] : [];
      }),
      conflicts: this.#conflicts,
      last_read_at: this.#readAt === null ? null : new Date(this.#readAt).toISOString(),
      last_error: this.#lastError,
      started: this.#running,
    };
  }

  #wanted(): SyncDaemonState[] {
    const { role } = this.role();
    return role === null || !this.#config || specOf(this.#config) === null ? [] : statesOf(role);
  }

  /** After a pass: a retry with backoff after a failure, else the next resync; none while there is nothing to keep. */
  #next(): NextPass | null {
    // Nothing to keep: no timer either; a reload that adds sync_daemon triggers a pass.
    if (this.#config === null && this.#record.started.length === 0) return null;
    if (this.#consecutiveFailures > 0) {
      const initial = this.#o.retryInitialMs ?? 1_000;
      return { delayMs: Math.min(this.#resyncMs, initial * 2 ** Math.min(20, this.#consecutiveFailures - 1)), reason: 'retry' };
    }
    return { delayMs: this.#readAt === null ? this.#resyncMs : Math.max(0, this.#readAt + this.#resyncMs - this.#now()), reason: 'resync' };
  }

  async #read(signal: AbortSignal): Promise<SyncDaemons> {
    this.#stats.reads++;
    const daemons = await this.#o.runner.daemons({ signal });
    this.#model = daemons;
    this.#readAt = this.#now();
    return daemons;
  }

  async #pass(reasons: readonly string[], signal: AbortSignal): Promise<void> {
    const config = this.#config;
    // Not configured and nothing of lvsd's to stop: no ipvsadm run at all (a director without
    // sync_daemon pays nothing for this loop).
    if (config === null && this.#record.started.length === 0) {
      this.#model = null;
      this.#readAt = null;
      this.#conflicts = [];
      this.#consecutiveFailures = 0;
      this.#lastError = null;
      return;
    }
    const spec = config ? specOf(config) : null;
    const wanted = new Set(this.#wanted());
    // Read the kernel at start, once per resync interval and after a failure; otherwise trust the
    // model, so a role switch costs only the start/stop it needs (issue 13 counts ipvsadm runs).
    const due = this.#model === null || this.#readAt === null || this.#now() - this.#readAt >= this.#resyncMs;
    const why = reasons.join(', ');
    const owned = new Set(this.#record.started);
    const conflicts: string[] = [];
    let failed: string | null = null;
    try {
      const kernel = due ? await this.#read(signal) : this.#model!;
      // A daemon of ours missing at start is no drift (a reboot ends them); later it is.
      const fromRead = due && !reasons.includes('lvsd start');
      const next = new Map(kernel);
      for (const state of SYNC_DAEMON_STATES) {
        const k = kernel.get(state);
        const ours = owned.has(state);
        try {
          if (wanted.has(state) && spec) {
            if (!k) {
              // Gone although lvsd started it: drift, repaired and counted as such.
              const repair = ours && fromRead;
              await this.#startOne(state, spec, signal, repair ? 'it was stopped behind lvsd\'s back' : why);
              if (repair) this.#stats.repairs++;
              owned.add(state);
              next.set(state, kernelViewOf(state, spec));
              continue;
            }
            const diffs = daemonDifferences(state, spec, k);
            if (diffs.length === 0) {
              if (!ours) {
                owned.add(state);
                this.#log.info({ event: 'sync_daemon', action: 'adopt', state, interface: k.interface, syncid: k.syncid }, `sync daemon: adopting the running ${state} daemon (same options as lvsd.yaml)`);
              }
              continue;
            }
            if (!ours) {
              conflicts.push(`${state}: a sync daemon lvsd did not start runs with ${diffs.join('; ')}; lvsd leaves it alone (stop it with "ipvsadm --stop-daemon ${state}" to let lvsd start its own)`);
              continue;
            }
            await this.#stopOne(state, signal, `options differ (${diffs.join('; ')})`);
            next.delete(state);
            owned.delete(state);
            await this.#startOne(state, spec, signal, `options differ (${diffs.join('; ')})`);
            if (fromRead) this.#stats.repairs++;
            owned.add(state);
            next.set(state, kernelViewOf(state, spec));
          } else if (ours) {
            if (k) {
              await this.#stopOne(state, signal, why);
              next.delete(state);
            }
            owned.delete(state);
          }
        } catch (err) {
          if (signal.aborted) throw err;
          failed ??= errorMessage(err);
          this.#log.error({ event: 'sync_daemon', code: err instanceof LvsdError ? err.code : 'LVSD_IPVSADM_FAILED', state, err: errorMessage(err) }, `sync daemon: ${state}: ${errorMessage(err)}`);
        }
      }
      // A failure leaves the kernel unknown: the next pass (a retry) reads it.
      this.#model = failed === null ? next : null;
    } catch (err) {
      this.#model = null;
      failed = errorMessage(err);
      if (!(this.#loop.stopped && signal.aborted)) {
        this.#log.error({ event: 'sync_daemon', code: err instanceof LvsdError ? err.code : 'LVSD_IPVSADM_FAILED', err: failed }, `sync daemon: cannot read the kernel's daemons: ${failed}`);
      }
    }
    this.#reportConflicts(conflicts);
    if (failed === null) {
      if (this.#consecutiveFailures > 0) this.#log.info({ event: 'sync_daemon', action: 'recovered' }, 'sync daemon: as wanted again');
      this.#consecutiveFailures = 0;
      this.#lastError = null;
    } else {
      this.#consecutiveFailures++;
      this.#stats.failures++;
      this.#lastError = failed;
    }
    const started = [...owned].sort();
    if (started.join() !== [...this.#record.started].sort().join()) {
      this.#record = { ...this.#record, started };
      await this.#save();
    }
  }

  async #startOne(state: SyncDaemonState, spec: SyncDaemonSpec, signal: AbortSignal, why: string): Promise<void> {
    this.#stats.changes++;
    await this.#o.runner.startDaemon(state, spec, { signal });
    this.#log.info({ event: 'sync_daemon', action: 'start', state, interface: spec.interface, syncid: spec.syncid, why }, `sync daemon: started ${state} (${describe(spec)}): ${why}`);
  }

  async #stopOne(state: SyncDaemonState, signal: AbortSignal, why: string): Promise<void> {
    this.#stats.changes++;
    await this.#o.runner.stopDaemon(state, { signal });
    this.#log.info({ event: 'sync_daemon', action: 'stop', state, why }, `sync daemon: stopped ${state}: ${why}`);
  }

  #reportConflicts(conflicts: readonly string[]): void {
    const seen = new Set(this.#conflicts);
    for (const c of conflicts) if (!seen.has(c)) this.#log.warn({ event: 'sync_daemon', action: 'conflict', conflict: c }, `sync daemon: ${c}`);
    this.#conflicts = conflicts;
  }

  #save(): Promise<void> {
    const file = this.#o.file;
    if (!file) return Promise.resolve();
    const record = this.#record;
    this.#saving = this.#saving.then(() =>
      writeSyncDaemonFile(file, record).catch((err: unknown) =>
        this.#log.error({ code: 'LVSD_STATE_IO', err: errorMessage(err) }, 'cannot save the sync daemon record'),
      ),
    );
    return this.#saving;
  }
}
