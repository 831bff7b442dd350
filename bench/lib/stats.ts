// Small numeric helpers for benchmark figures.

/** Percentile by nearest rank of an ascending-sorted array; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** A growable Float64Array: millions of latencies without millions of boxed numbers. */
export class Samples {
  #a: Float64Array;
  #n = 0;

  constructor(capacity = 1024) {
    this.#a = new Float64Array(Math.max(16, capacity));
  }

  push(x: number): void {
    if (this.#n === this.#a.length) {
      const bigger = new Float64Array(this.#a.length * 2);
      bigger.set(this.#a);
      this.#a = bigger;
    }
    this.#a[this.#n++] = x;
  }

  get length(): number {
    return this.#n;
  }

  sorted(): Float64Array {
    return this.#a.slice(0, this.#n).sort();
  }
}

export const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
export const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;
