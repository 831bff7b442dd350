// The hand-over of the signals the entry parked (src/cli/early-signals.ts): the owner's handlers
// come before the parking listener goes (never a moment with none, when the default would kill),
// and what was parked is replayed in arrival order. Signals are real: process.kill on this process.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EARLY_SIGNALS, handOverSignals, parkEarlySignals } from '../../src/cli/early-signals.js';
import type { EarlySignal } from '../../src/cli/early-signals.js';

/** Resolves once `signal` reached this process's listeners (signal handles do not keep the loop alive: a timer does meanwhile). */
function delivered(signal: NodeJS.Signals): Promise<void> {
  const keepAlive = setInterval(() => undefined, 1_000);
  return new Promise<void>((resolve) => process.once(signal, () => resolve())).finally(() => clearInterval(keepAlive));
}

describe('early signals', () => {
  it('parks real signals, then replays them in arrival order to the owner, who also gets the later ones', async () => {
    const early = parkEarlySignals();
    const hup = delivered('SIGHUP');
    process.kill(process.pid, 'SIGHUP');
    await hup;
    const usr2 = delivered('SIGUSR2');
    process.kill(process.pid, 'SIGUSR2');
    await usr2;
    assert.deepEqual(early.queued, ['SIGHUP', 'SIGUSR2']);
    const seen: EarlySignal[] = [];
    const uninstall = handOverSignals(early, (s) => seen.push(s));
    assert.deepEqual(seen, ['SIGHUP', 'SIGUSR2'], 'replayed in arrival order');
    assert.deepEqual(early.queued, []);
    for (const s of EARLY_SIGNALS) assert.ok(!process.listeners(s).includes(early.park), `${s}: the parking listener is gone`);
    const later = delivered('SIGHUP');
    process.kill(process.pid, 'SIGHUP');
    await later;
    assert.deepEqual(seen, ['SIGHUP', 'SIGUSR2', 'SIGHUP']);
    uninstall();
  });

  it('installs the owner before it removes the parking listener: a listener is there at every step', () => {
    const early = parkEarlySignals();
    const counts: number[] = [];
    const originalOff = process.off.bind(process);
    // Count SIGHUP's listeners each time one is removed during the hand-over.
    process.off = ((event: string | symbol, l: (...args: unknown[]) => void) => {
      const r = originalOff(event, l);
      if (event === 'SIGHUP') counts.push(process.listenerCount('SIGHUP'));
      return r;
    }) as typeof process.off;
    let uninstall: () => void;
    try {
      uninstall = handOverSignals(early, () => undefined);
    } finally {
      process.off = originalOff as typeof process.off;
    }
    assert.ok(counts.length > 0 && counts.every((n) => n >= 1), `listeners after each removal: ${counts.join(', ')}`);
    uninstall();
  });
});
