// The reconciler's cache of the kernel table and its ownership record: the table as last read plus
// the lines applied since (as a MemoryTable), when it was read, and which services lvsd owns.
// Only the pass loop writes it; /status and /metrics read its model, never the kernel themselves.

import type { Snapshot } from '../config/model.js';
import { indexOf } from '../config/snapshot-index.js';
import { errorMessage } from '../errors.js';
import type { IpvsRunner, IpvsTable } from '../ipvs/model.js';
import { MemoryTable } from '../ipvs/memory-table.js';
import type { Logger } from '../log.js';
import { ThrottledWarning } from '../throttled-warning.js';
import type { Ownership } from './ownership.js';

/** The model of the kernel table: what was last read plus what was applied since. */
export interface TableModel {
  readonly table: IpvsTable | null;
  /** When the kernel was last read (the model is that read plus the applies since). */
  readonly readAt: number | null;
}

export interface KernelCacheOptions {
  readonly runner: IpvsRunner;
  readonly ownership: Ownership;
  readonly logger: Logger;
  readonly now: () => number;
  /** Called before every read of the kernel table (the ipvsadm exec count). */
  readonly onRead: () => void;
}

/** At most one "cannot save ownership record" line per this period, with the count folded. */
const OWNERSHIP_ERROR_PERIOD_MS = 60_000;

export class KernelTableCache {
  readonly #o: KernelCacheOptions;
  readonly #ownershipError: ThrottledWarning;
  /** The kernel table as last read plus the ops applied since; null = read it at the next pass. */
  #model: IpvsTable | null = null;
  /** The same table as a MemoryTable the applied lines go to (null: rebuilt from the next read). */
  #memory: MemoryTable | null = null;
  #readAt: number | null = null;

  constructor(options: KernelCacheOptions) {
    this.#o = options;
    this.#ownershipError = new ThrottledWarning(options.logger, OWNERSHIP_ERROR_PERIOD_MS, options.now, 'error');
  }

  model(): TableModel {
    return { table: this.#model, readAt: this.#readAt };
  }

  get readAt(): number | null {
    return this.#readAt;
  }

  get table(): IpvsTable | null {
    return this.#model;
  }

  /** Forget the model: the next pass reads the kernel (after any failure). */
  invalidate(): void {
    this.#model = null;
    this.#memory = null;
  }

  /** Read the kernel table; the model becomes what was read. */
  async read(signal: AbortSignal | undefined): Promise<IpvsTable> {
    this.#o.onRead();
    this.#memory = null;
    const table = await this.#o.runner.read(signal ? { signal } : {});
    this.#memory = new MemoryTable(table);
    this.#model = table;
    this.#readAt = this.#o.now();
    return table;
  }

  /** The table a pass starts from: the model, or the kernel at start, after any failure and once
   *  per resync interval (drift repair: someone ran ipvsadm by hand). */
  current(signal: AbortSignal | undefined, resyncMs: number): Promise<IpvsTable> | IpvsTable {
    if (this.#model && this.#readAt !== null && this.#o.now() - this.#readAt < resyncMs) return this.#model;
    return this.read(signal);
  }

  /**
   * ipvsadm reported nothing for these lines: apply them to the model too. Returns the new model,
   * or null when the model disagrees (then it was wrong, and the caller reads the kernel).
   */
  async applied(actual: IpvsTable, lines: readonly string[]): Promise<IpvsTable | null> {
    const memory = this.#memory ?? new MemoryTable(actual);
    this.#memory = null;
    // In turns: 2,000 lines parsed and applied at once held the loop 10-40 ms. The pass owns the
    // model meanwhile (passes run one at a time; readers see the previous model until it is set).
    const r = await memory.restoreInTurns(lines);
    if (r.errors.length > 0) {
      this.#o.logger.warn({ errors: r.errors }, 'the table model disagrees with ipvsadm -R; reading the kernel');
      return null;
    }
    this.#memory = memory;
    this.#model = memory.view();
    return this.#model;
  }

  /** Owned = recorded ∪ configured: configured services are managed even before the first save. */
  owned(snapshot: Snapshot | null): Set<string> {
    const owned = new Set(this.#o.ownership.keys());
    for (const s of snapshot?.services ?? []) owned.add(s.key);
    return owned;
  }

  /** Record configured keys before they are created; forget unconfigured ones once gone. */
  async recordOwnership(snapshot: Snapshot, kernel: IpvsTable): Promise<void> {
    const configured = indexOf(snapshot).byKey;
    const next = new Set<string>();
    for (const k of this.owned(snapshot)) if (configured.has(k) || kernel.services.has(k)) next.add(k);
    await this.saveOwnership(next);
  }

  /** Forget these services in the record (a clean stop removed them). */
  async forget(removed: readonly string[]): Promise<void> {
    await this.saveOwnership(new Set([...this.#o.ownership.keys()].filter((k) => !removed.includes(k))));
  }

  async saveOwnership(next: Set<string>): Promise<void> {
    const errors = this.#ownershipError;
    try {
      await this.#o.ownership.save(next);
      if (errors.active) this.#o.logger.info({ event: 'ownership_saved', failed_since_logged: errors.reset() }, 'ownership record saved again');
    } catch (err) {
      // The kernel matters more than the record; the write is retried on the next pass, and a
      // state_dir that stays unwritable is one line a minute with the count, not one per pass.
      errors.log({ code: 'LVSD_STATE_IO', err: errorMessage(err) }, 'cannot save ownership record');
    }
  }
}
