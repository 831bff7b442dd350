// What the kernel holds, for metrics and status. The table is the reconciler's model (what it last
// read plus what it applied since): no scrape or status request ever runs ipvsadm for it. Only the
// counters are read, at most once per maxAgeMs (Prometheus scrapes, status pages refreshing in
// several browsers and `lvsd status` share one read), with ONE ipvsadm run: traffic from
// `-Ln --stats`, and active/inactive connections from /proc/net/ip_vs (no process; ipvsadm has no
// listing with both). Where /proc cannot be read, or does not list every service of the model (a
// fake ipvsadm in tests, another network namespace), `-Ln --persistent-conn` is run instead.

import { errorMessage } from '../errors.js';
import type { IpvsRunner, IpvsTable, TableCounters } from '../ipvs/model.js';
import type { TableStats } from '../ipvs/model.js';

export type StatsReader = () => Promise<TableStats>;

export interface KernelState {
  /** When the read finished (ms since the epoch); null before the first read. */
  readonly at: number | null;
  readonly table: IpvsTable | null;
  readonly counters: TableCounters | null;
  /** null when the runner has no stats reader or the read failed. */
  readonly stats: TableStats | null;
  /** The first failure of this read ("ipvsadm -Sn: ..."); null when everything was read. */
  readonly error: string | null;
}

export interface KernelViewOptions {
  readonly runner: IpvsRunner;
  /** The reconciler's model of the table; without it (tests, tools) the table is read too. */
  readonly model?: () => { readonly table: IpvsTable | null };
  readonly readStats?: StatsReader;
  /** Connection counters without ipvsadm (/proc/net/ip_vs); used only when it covers the model. */
  readonly readConnections?: () => Promise<TableCounters>;
  /** Default 5000: ipvsadm is a process spawn per read, and nobody needs fresher kernel numbers. */
  readonly maxAgeMs?: number;
  readonly now?: () => number;
}

const NOTHING_YET: KernelState = { at: null, table: null, counters: null, stats: null, error: null };

export class KernelView {
  readonly #o: KernelViewOptions;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  #last: KernelState = NOTHING_YET;
  #reading: Promise<KernelState> | null = null;
  #procReads = 0;

  constructor(options: KernelViewOptions) {
    this.#o = options;
    this.#maxAgeMs = options.maxAgeMs ?? 5000;
    this.#now = options.now ?? Date.now;
  }

  /** The last read, without reading (may be NOTHING_YET). */
  get last(): KernelState {
    return this.#last;
  }

  /** A read no older than maxAgeMs; concurrent callers share one read. Never throws. */
  get(): Promise<KernelState> {
    const at = this.#last.at;
    if (at !== null && this.#now() - at < this.#maxAgeMs) return Promise.resolve(this.#live(this.#last));
    this.#reading ??= this.#read().finally(() => (this.#reading = null));
    return this.#reading.then((k) => this.#live(k));
  }

  /** The cached counters with the model's table as it is now (a pass may have changed it). */
  #live(k: KernelState): KernelState {
    const { model } = this.#o;
    return model ? { ...k, table: model().table } : k;
  }

  /** Forget the cached read (e.g. after a reconcile pass changed the table). */
  invalidate(): void {
    if (this.#last.at !== null) this.#last = { ...this.#last, at: null };
  }

  async #connections(): Promise<TableCounters> {
    const { runner, model, readConnections } = this.#o;
    const table = model?.().table;
    if (readConnections && table) {
      const proc = await readConnections().catch(() => null);
      if (proc && [...table.services.keys()].every((key) => proc.has(key))) {
        this.#procReads++;
        return proc;
      }
    }
    return runner.counters();
  }

  /** Reads whose connection counters came from /proc (no ipvsadm), for tests and metrics. */
  get procReads(): number {
    return this.#procReads;
  }

  async #read(): Promise<KernelState> {
    const { runner, readStats, model } = this.#o;
    const [table, counters, stats] = await Promise.allSettled([
      model ? Promise.resolve(model().table) : runner.read(),
      this.#connections(),
      readStats ? readStats() : Promise.resolve(null),
    ]);
    const errors: string[] = [];
    const pick = <T>(r: PromiseSettledResult<T>, what: string): T | null => {
      if (r.status === 'fulfilled') return r.value;
      errors.push(`${what}: ${errorMessage(r.reason)}`);
      return null;
    };
    this.#last = {
      at: this.#now(),
      table: pick(table, 'table'),
      counters: pick(counters, 'connection counters'),
      stats: pick(stats, 'traffic stats'),
      error: errors.length > 0 ? errors.join('; ') : null,
    };
    return this.#last;
  }
}
