// How many check threads: lvsd.yaml `check_threads`, or by default one fewer than the cores (the
// control thread keeps one), at least one.

import { availableParallelism } from 'node:os';

export function checkThreadsFor(configured: number | null, cores: number = availableParallelism()): number {
  if (configured !== null) return Math.max(0, Math.floor(configured));
  return Math.max(1, cores - 1);
}
