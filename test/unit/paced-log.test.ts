// PacedLog: a burst of log lines is written a batch per turn, in order, the rest after pauses;
// a small burst with nothing queued is written at once. (2,000 admin_change lines in one turn held
// the daemon's loop ~0.8 s behind a full stdout pipe; issue 18.)

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacedLog, nextPause, PACED_LOG_PAUSE_MS } from '../../src/paced-log.js';

describe('PacedLog', () => {
  it('writes a burst that fits one batch at once', () => {
    const out: number[] = [];
    const log = new PacedLog(5);
    log.write([1, 2, 3].map((n) => () => out.push(n)));
    assert.deepEqual(out, [1, 2, 3]);
  });

  it('writes a larger burst a batch now and the rest later, in order, after lines queued before it', async () => {
    const out: number[] = [];
    const log = new PacedLog(5);
    log.write(Array.from({ length: 12 }, (_, i) => () => out.push(i)));
    assert.deepEqual(out, [0, 1, 2, 3, 4], 'one batch in this turn');
    // A small write while lines wait goes behind them, not ahead.
    log.write([() => out.push(100)]);
    assert.equal(out.length, 5);
    await log.flushed();
    assert.deepEqual(out, [...Array.from({ length: 12 }, (_, i) => i), 100]);
    // Drained: small writes are immediate again.
    log.write([() => out.push(200)]);
    assert.equal(out.at(-1), 200);
  });

  it('flushNow writes everything queued at once (at stop)', async () => {
    const out: number[] = [];
    const log = new PacedLog(5);
    log.write(Array.from({ length: 30 }, (_, i) => () => out.push(i)));
    const done = log.flushNow();
    assert.equal(out.length, 30);
    await done;
    assert.deepEqual(out, Array.from({ length: 30 }, (_, i) => i));
  });

  it('pauses longer after a batch that met a full pipe, and back to the base after a quick one', () => {
    assert.equal(nextPause(PACED_LOG_PAUSE_MS, 1), PACED_LOG_PAUSE_MS);
    assert.equal(nextPause(PACED_LOG_PAUSE_MS, 100), PACED_LOG_PAUSE_MS * 2);
    assert.equal(nextPause(1000, 100) <= 160, true);
    assert.equal(nextPause(80, 2), PACED_LOG_PAUSE_MS);
  });
});
