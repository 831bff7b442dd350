// The fatal policy: an unhandled error is logged at fatal with LVSD_INTERNAL, the table is kept
// (stop without clean), and the process exits 1 after the stop, or after the grace if it hangs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fatalHandlers } from '../../src/fatal.js';
import { captureLog } from '../helpers/log-capture.js';

test('an unhandled rejection is logged fatal with code and stack, stops once, exits 1 after the stop', async () => {
  const { logger, lines } = captureLog();
  const stops: string[] = [];
  let exited: number | null = null;
  let done!: () => void;
  const exitedP = new Promise<void>((r) => (done = r));
  const h = fatalHandlers({ logger, stop: async (kind) => void stops.push(kind), exit: (c) => ((exited = c), done()) });
  h.unhandledRejection(new TypeError('Invalid URL'));
  h.uncaughtException(new Error('second'));
  await exitedP;
  assert.equal(exited, 1);
  assert.deepEqual(stops, ['unhandledRejection'], 'one stop, the first wins');
  assert.equal(lines.length, 2, 'both are logged');
  assert.equal(lines[0]?.level, 'fatal');
  assert.equal(lines[0]?.code, 'LVSD_INTERNAL');
  assert.equal(lines[0]?.err, 'Invalid URL');
  assert.match(String(lines[0]?.stack), /TypeError: Invalid URL/);
});

test('a stop that never ends still exits 1 after the grace', async () => {
  const { logger } = captureLog();
  let exited: number | null = null;
  let done!: () => void;
  const exitedP = new Promise<void>((r) => (done = r));
  const h = fatalHandlers({ logger, stop: () => new Promise(() => {}), exit: (c) => ((exited = c), done()), graceMs: 20 });
  h.uncaughtException('not even an Error');
  // A ref'd handle keeps this test process alive until the unref'd grace timer fires.
  const keep = setInterval(() => {}, 1000);
  await exitedP;
  clearInterval(keep);
  assert.equal(exited, 1);
});

test('a stop that throws synchronously still exits 1', async () => {
  const { logger } = captureLog();
  let exited: number | null = null;
  let done!: () => void;
  const exitedP = new Promise<void>((r) => (done = r));
  const h = fatalHandlers({ logger, stop: () => { throw new Error('boom'); }, exit: (c) => ((exited = c), done()) });
  h.uncaughtException(new Error('x'));
  await exitedP;
  assert.equal(exited, 1);
});
