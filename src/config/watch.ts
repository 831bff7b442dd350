// Keep-last-good reloads: watches lvsd.yaml and conf.d/, reloads (debounced, or on request for
// SIGHUP), and hands over a new Snapshot only when the whole new config is valid and different.

import { EventEmitter } from 'node:events';
import { relative, resolve as resolvePath, sep } from 'node:path';
import { watch } from 'chokidar';
import type { FSWatcher } from 'chokidar';
import type { Logger } from '../log.js';
import { errorMessage } from '../errors.js';
import type { Snapshot } from './model.js';
import type { ConfigIssue } from './issues.js';
import { formatIssue } from './issues.js';
import { changedFiles, loadConfig } from './load.js';
import { loadInThread } from './loader-thread.js';
import type { ThreadLoad } from './loader-thread.js';

/**
 * Changed text a reload parses on the event loop, in slices of at most SLICE_MS; past it the whole
 * load goes to a loader thread (a second core, a heap limit of its own). One service file of 10
 * reals is about 600 bytes and 0.5 ms of parsing: 256 KiB is ~400 such files, ~0.2 s of slices.
 */
export const IN_PROCESS_MAX_BYTES = 256 * 1024;
const SLICE_MS = 10;

/** Where reloads parse: see ConfigWatcherOptions.loadIn and README (LVSD_CONFIG_LOADER). */
export type LoadIn = 'auto' | 'thread' | 'process';

function loadInFromEnv(): LoadIn {
  const v = process.env.LVSD_CONFIG_LOADER;
  return v === 'thread' || v === 'process' ? v : 'auto';
}

export interface ConfigWatcherOptions {
  readonly configDir: string;
  readonly logger: Logger;
  /** The snapshot the daemon runs with (from its first loadConfig). */
  readonly initial: Snapshot;
  /** Quiet time after the last file event before reloading; editors and `cp -r` fire bursts. */
  readonly debounceMs?: number;
  /**
   * Where reloads parse and validate. Every mode reuses the files whose text did not change.
   * 'auto' (default): the changed files on the event loop in short slices, or the whole load in a
   * loader thread (started for that load) when more than IN_PROCESS_MAX_BYTES changed.
   * 'thread': every reload whole in a loader thread. 'process': always on the event loop, sliced.
   * Default: LVSD_CONFIG_LOADER, else 'auto'.
   */
  readonly loadIn?: LoadIn;
}

export interface ReloadOutcome {
  readonly ok: boolean;
  readonly at: Date;
  /** Why the reload ran: "initial", "file change", "SIGHUP"... */
  readonly reason: string;
  /** True when a new snapshot was taken into use. */
  readonly changed: boolean;
  readonly issues: readonly ConfigIssue[];
}

export interface ConfigWatcherEvents {
  /** A valid, different config: the new snapshot to run with. */
  snapshot: [snapshot: Snapshot];
  /** An invalid config was rejected; the running snapshot stays. */
  invalid: [issues: readonly ConfigIssue[]];
  /** Every finished reload, whatever its outcome (for metrics and status). */
  reloaded: [outcome: ReloadOutcome];
}

export class ConfigWatcher extends EventEmitter<ConfigWatcherEvents> {
  private readonly configDir: string;
  private readonly root: string;
  private readonly logger: Logger;
  private readonly debounceMs: number;
  private snapshot: Snapshot;
  private outcome: ReloadOutcome;
  private fsw: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Reloads run one at a time; this is the tail of the queue. */
  private queue: Promise<unknown> = Promise.resolve();
  /** A queued reload that has not started yet: later requests join it instead of queueing more. */
  private pending: { promise: Promise<ReloadOutcome>; reasons: string[] } | null = null;
  private closed = false;
  private readonly loadIn: LoadIn;

  constructor(opts: ConfigWatcherOptions) {
    super();
    this.configDir = opts.configDir;
    this.root = resolvePath(opts.configDir);
    this.logger = opts.logger;
    this.debounceMs = opts.debounceMs ?? 200;
    this.loadIn = opts.loadIn ?? loadInFromEnv();
    this.snapshot = opts.initial;
    this.outcome = { ok: true, at: new Date(), reason: 'initial', changed: true, issues: [] };
  }

  get current(): Snapshot {
    return this.snapshot;
  }

  get lastReload(): ReloadOutcome {
    return this.outcome;
  }

  /** Start watching; resolves once the initial scan is done, so later edits are all seen. */
  async start(): Promise<void> {
    if (this.fsw || this.closed) return;
    const fsw = watch(this.root, {
      ignoreInitial: true,
      depth: 1,
      ignored: (path) => !this.relevant(path),
      // Editors' unlink+add within a short time is reported as one change.
      atomic: true,
    });
    this.fsw = fsw;
    fsw.on('all', (event, path) => {
      this.logger.debug({ event, path }, 'config file event');
      this.schedule();
    });
    fsw.on('error', (err) => {
      // A link loop in conf.d shows up only as an error (no add event): reload, so it is reported
      // as a config issue and the running config is kept.
      this.logger.warn({ err: errorMessage(err) }, 'config watcher error');
      this.schedule();
    });
    await new Promise<void>((resolve) => fsw.once('ready', resolve));
    this.logger.debug({ configDir: this.root }, 'watching the configuration for changes');
  }

  /** Load, validate and, if valid and different, switch to the new config. For SIGHUP and tests. */
  reload(reason: string): Promise<ReloadOutcome> {
    if (this.pending) {
      this.pending.reasons.push(reason);
      return this.pending.promise;
    }
    const reasons = [reason];
    const promise = this.queue.then(() => {
      this.pending = null;
      return this.run(reasons.join(', '));
    });
    this.pending = { promise, reasons };
    this.queue = promise.catch(() => undefined);
    return promise;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.fsw?.close();
    this.fsw = null;
    await this.queue;
  }

  private relevant(path: string): boolean {
    const rel = relative(this.root, path);
    if (rel === '' || rel === 'lvsd.yaml' || rel === 'conf.d') return true;
    const prefix = `conf.d${sep}`;
    return rel.startsWith(prefix) && !rel.slice(prefix.length).includes(sep);
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.reload('file change').catch((err: unknown) =>
        this.logger.error({ err: errorMessage(err) }, 'config reload failed'),
      );
    }, this.debounceMs);
  }

  private async run(reason: string): Promise<ReloadOutcome> {
    let issues: ConfigIssue[];
    let next: Snapshot | null = null;
    let handoverMs: number | undefined;
    let where: 'event loop' | 'thread' = 'event loop';
    const started = performance.now();
    try {
      let r: ThreadLoad | null = null;
      if (this.loadIn !== 'thread') {
        r = await loadConfig(this.configDir, {
          previous: this.snapshot,
          sliceMs: SLICE_MS,
          ...(this.loadIn === 'auto' ? { maxParseBytes: IN_PROCESS_MAX_BYTES } : {}),
        });
      }
      if (r === null || (!r.ok && r.tooMuch)) {
        where = 'thread';
        r = await loadInThread(this.configDir);
      }
      if (r.ok) next = r.snapshot;
      handoverMs = r.handoverMs;
      issues = r.ok ? [] : r.issues;
    } catch (err) {
      // loadConfig reports problems as issues; anything thrown (the loader thread out of memory, a
      // bug) is unexpected but must not kill the daemon nor replace the running config.
      issues = [{ file: this.configDir, line: 0, col: 0, message: `reload failed: ${errorMessage(err)}` }];
    }
    const loadMs = Math.round(performance.now() - started);
    const at = new Date();
    if (next && this.outcome.ok === false) {
      // The first valid load after a rejected one says so at info, changed or not: whoever fixed the
      // file sees that the config is good again (issue 18: an unchanged reload is only a debug line).
      this.logger.info(
        { reason, rejected_at: this.outcome.at.toISOString(), changed: next.hash !== this.snapshot.hash },
        'configuration valid again',
      );
    }
    if (next && next.hash === this.snapshot.hash) {
      // An operator's SIGHUP gets an answer; a file event that changed nothing (an editor's touch) stays quiet.
      const asked = reason.split(', ').some((r) => r !== 'file change');
      this.logger[asked ? 'info' : 'debug']({ reason, load_ms: loadMs }, 'configuration unchanged');
      this.outcome = { ok: true, at, reason, changed: false, issues: [] };
    } else if (!next) {
      for (const i of issues) {
        // The same line as at start (level, fields, FILE:LINE:COL in msg), so one grep finds both.
        this.logger.error({ code: 'LVSD_CONFIG_INVALID', file: i.file, line: i.line, col: i.col }, formatIssue(i));
      }
      this.logger.error(
        { code: 'LVSD_CONFIG_INVALID', issues: issues.length, reason, files: [...new Set(issues.map((i) => i.file))] },
        `configuration rejected (${issues.length} error${issues.length === 1 ? '' : 's'}); keeping the running configuration`,
      );
      this.outcome = { ok: false, at, reason, changed: false, issues };
      this.emit('invalid', issues);
    } else {
      const changed = changedFiles(this.snapshot, next);
      this.snapshot = next;
      this.logger.info(
        // The files that changed, not all of them: a line per reload stays short at 10,000 files.
        { reason, services: next.services.length, files: next.files.length,
          ...(changed === null ? {} : { changed: changed.length > 20 ? [...changed.slice(0, 20), `(${changed.length - 20} more)`] : changed }), hash: next.hash.slice(0, 12), load_ms: loadMs, parsed_in: where,
          ...(handoverMs === undefined ? {} : { handover_ms: Math.round(handoverMs) }) },
        'configuration reloaded',
      );
      this.outcome = { ok: true, at, reason, changed: true, issues: [] };
      this.emit('snapshot', next);
    }
    this.emit('reloaded', this.outcome);
    return this.outcome;
  }
}
