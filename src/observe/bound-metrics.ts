// A counter and a histogram for the per-check series (thousands of label sets, thousands of updates
// a second): a child is bound once per label set and bumped with plain arithmetic; the text is
// built only when Prometheus scrapes.
//
// Why not prom-client's own children: its bound inc()/observe() still re-validate the label set,
// rebuild its hash string and look the series up by it on every call, and a histogram stores its
// buckets under stringified bounds. At 5,000 TCP checks a second that was ~3 % of lvsd's busy
// time in a CPU profile, as much as the rest of the per-result path. These objects implement what
// a prom-client Registry reads (name, help, type, get()), so they sit in the same registry.

import type { Metric, Registry } from 'prom-client';

interface MetricValue {
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly metricName?: string;
}

interface MetricData {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly values: MetricValue[];
  readonly aggregator: 'sum';
}

interface Options<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly registers: readonly Registry[];
}

/** Series by label set, keyed by the label values (built once per label set, never per update). */
abstract class BoundMetric<L extends string, C> {
  readonly name: string;
  readonly help: string;
  abstract readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum' as const;
  protected readonly labelNames: readonly L[];
  protected readonly series = new Map<string, { readonly labels: Readonly<Record<L, string>>; readonly child: C }>();

  constructor(o: Options<L>) {
    this.name = o.name;
    this.help = o.help;
    this.labelNames = o.labelNames;
    for (const r of o.registers) r.registerMetric(this as unknown as Metric);
  }

  protected abstract newChild(): C;

  #key(labels: Readonly<Record<L, string>>): string {
    let key = '';
    for (const n of this.labelNames) {
      const v = labels[n];
      if (typeof v !== 'string') throw new Error(`${this.name}: label ${n} missing`);
      key += `${v}\u0000`;
    }
    return key;
  }

  /** The child of one label set, created on first use; keep it and bump it. */
  labels(labels: Readonly<Record<L, string>>): C {
    const key = this.#key(labels);
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels: { ...labels }, child: this.newChild() };
      this.series.set(key, s);
    }
    return s.child;
  }

  /** Drop a label set's series (a real or service a reload removed). A bound child is then orphaned. */
  remove(labels: Readonly<Record<L, string>>): void {
    this.series.delete(this.#key(labels));
  }

  reset(): void {
    this.series.clear();
  }

  abstract get(): Promise<MetricData>;
}

export class CounterChild {
  value = 0;
  inc(n = 1): void {
    this.value += n;
  }
}

export class BoundCounter<L extends string> extends BoundMetric<L, CounterChild> {
  readonly type = 'counter' as const;

  protected newChild(): CounterChild {
    return new CounterChild();
  }

  get(): Promise<MetricData> {
    const values: MetricValue[] = [];
    for (const { labels, child } of this.series.values()) values.push({ labels, value: child.value });
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }
}

export class HistogramChild {
  /** Observations per bucket (not cumulative); the last slot is above the largest bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  readonly #bounds: readonly number[];

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const b = this.#bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

export class BoundHistogram<L extends string> extends BoundMetric<L, HistogramChild> {
  readonly type = 'histogram' as const;
  readonly #bounds: readonly number[];

  constructor(o: Options<L> & { readonly buckets: readonly number[] }) {
    super(o);
    this.#bounds = [...o.buckets].sort((a, b) => a - b);
  }

  protected newChild(): HistogramChild {
    return new HistogramChild(this.#bounds);
  }

  get(): Promise<MetricData> {
    const values: MetricValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const { labels, child } of this.series.values()) {
      let acc = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        acc += child.counts[i]!;
        values.push({ labels: { ...labels, le: this.#bounds[i]! }, value: acc, metricName: bucket });
      }
      values.push({ labels: { ...labels, le: '+Inf' }, value: child.count, metricName: bucket });
      values.push({ labels, value: child.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: child.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }
}

/** A histogram without labels whose counts another part keeps (in its own units), read at scrape time. */
export class ReadHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  readonly #bounds: readonly number[];
  readonly #scale: number;
  readonly #read: () => { readonly counts: ArrayLike<number>; readonly sum: number; readonly count: number };

  /** `counts` per bucket of `bounds` (not cumulative, plus one above the last); `scale` turns them and sum into the metric's unit. */
  constructor(o: {
    readonly name: string;
    readonly help: string;
    readonly bounds: readonly number[];
    readonly scale: number;
    readonly read: () => { readonly counts: ArrayLike<number>; readonly sum: number; readonly count: number };
    readonly registers: readonly Registry[];
  }) {
    this.name = o.name;
    this.help = o.help;
    this.#bounds = o.bounds;
    this.#scale = o.scale;
    this.#read = o.read;
    for (const r of o.registers) r.registerMetric(this as unknown as Metric);
  }

  get(): Promise<MetricData> {
    const { counts, sum, count } = this.#read();
    const values: MetricValue[] = [];
    const bucket = `${this.name}_bucket`;
    let acc = 0;
    for (let i = 0; i < this.#bounds.length; i++) {
      acc += counts[i] ?? 0;
      values.push({ labels: { le: this.#bounds[i]! * this.#scale }, value: acc, metricName: bucket });
    }
    values.push({ labels: { le: '+Inf' }, value: count, metricName: bucket });
    values.push({ labels: {}, value: sum * this.#scale, metricName: `${this.name}_sum` });
    values.push({ labels: {}, value: count, metricName: `${this.name}_count` });
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }
}
