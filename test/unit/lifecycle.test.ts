// The daemon lifecycle table: what each request does in each phase, and which transitions exist.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lifecycle, actionFor } from '../../src/daemon/lifecycle.js';
import type { Action, Phase, Request } from '../../src/daemon/lifecycle.js';

test('every request has a defined action in every phase', () => {
  const table: [Phase, Request, Action][] = [
    ['starting', 'reload', 'queue-reload'],
    ['starting', 'stop', 'abort-start'],
    ['running', 'reload', 'reload'],
    ['running', 'stop', 'stop'],
    ['stopping', 'reload', 'ignore'],
    ['stopping', 'stop', 'ignore'],
    ['stopped', 'reload', 'ignore'],
    ['stopped', 'stop', 'ignore'],
  ];
  for (const [phase, request, action] of table) assert.equal(actionFor(phase, request), action, `${phase} ${request}`);
});

test('a stop during start aborts the start signal; a stop when running does not need to', () => {
  const a = new Lifecycle();
  assert.equal(a.startSignal.aborted, false);
  a.to('stopping');
  assert.equal(a.startSignal.aborted, true);
  assert.equal(a.stopRequested, true);

  const b = new Lifecycle();
  b.to('running');
  b.to('stopping');
  assert.equal(b.startSignal.aborted, false);
  b.to('stopped');
  assert.equal(b.phase, 'stopped');
});

test('transitions outside the table are refused', () => {
  const l = new Lifecycle();
  assert.throws(() => l.to('stopped'), /starting -> stopped/);
  l.to('running');
  assert.throws(() => l.to('starting'), /running -> starting/);
  l.to('stopping');
  assert.throws(() => l.to('running'), /stopping -> running/);
  l.to('stopped');
  assert.throws(() => l.to('stopping'), /stopped -> stopping/);
});

test('listeners see each transition once, in order', () => {
  const l = new Lifecycle();
  const seen: string[] = [];
  l.onChange((from, to) => seen.push(`${from}>${to}`));
  l.to('running');
  l.to('stopping');
  l.to('stopped');
  assert.deepEqual(seen, ['starting>running', 'running>stopping', 'stopping>stopped']);
});
