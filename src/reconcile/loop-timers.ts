// The timers of lvsd's background loops (the reconciler's passes and resyncs, the sync daemon
// keeper's reads and retries), injectable so tests drive them by hand.

export interface LoopTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * The global timers, looked up at call time (so node:test mock.timers applies), unref'd: the daemon
 * is kept alive by its listeners and checks, not by a resync timer.
 */
export const unrefTimers: LoopTimers = {
  setTimeout: (fn, ms) => {
    const t = globalThis.setTimeout(fn, ms) as { unref?: () => void };
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => globalThis.clearTimeout(h as Parameters<typeof clearTimeout>[0]),
};
