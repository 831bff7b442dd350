// The connection lines of `lvsd exabgp-bridge` (src/cli/bridge-lines.ts): "connected" and "closed"
// at most once a period each, and what a period folded told once it is over, with the state then.
// Regression (issue 18): the bridge wrote both lines on every reconnect, two a second into ExaBGP's
// log while lvsd closed each connection at once.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { bridgeLines } from '../../src/cli/bridge-lines.js';

describe('exabgp-bridge connection lines', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 }));
  afterEach(() => mock.timers.reset());

  it('a reconnect loop: the first connect and close, then one summary a period with the counts and the state', () => {
    const out: string[] = [];
    const lines = bridgeLines('/run/lvsd/exabgp.sock', (l) => out.push(l.trimEnd()), 60_000, Date.now);
    for (let i = 0; i < 100; i++) {
      lines.event('connected');
      lines.event('closed');
      mock.timers.tick(500);
    }
    // 50 s: nothing but the first two lines.
    assert.deepEqual(out, ['lvsd exabgp-bridge: connected to /run/lvsd/exabgp.sock', 'lvsd exabgp-bridge: lvsd closed the connection; reconnecting']);
    // The summary comes a period after the first folded line (the second connect, at 0.5 s).
    mock.timers.tick(10_000);
    assert.equal(out.length, 2);
    mock.timers.tick(500);
    assert.deepEqual(out.slice(2), ['lvsd exabgp-bridge: 99 connection(s) and 99 close(s) by lvsd not shown in the last 60s; not connected now; reconnecting']);
    // After a summary the next event is told at once; a quiet period tells nothing more.
    lines.event('connected');
    assert.equal(out.at(-1), 'lvsd exabgp-bridge: connected to /run/lvsd/exabgp.sock');
    mock.timers.tick(120_000);
    assert.equal(out.length, 4);
    lines.stop();
  });

  it('an lvsd restart a while after the last lines: both lines at once, nothing folded', () => {
    const out: string[] = [];
    const lines = bridgeLines('s', (l) => out.push(l.trimEnd()), 60_000, Date.now);
    lines.event('connected');
    mock.timers.tick(3_600_000);
    lines.event('closed');
    mock.timers.tick(1_000);
    lines.event('connected');
    mock.timers.tick(120_000);
    assert.deepEqual(out, ['lvsd exabgp-bridge: connected to s', 'lvsd exabgp-bridge: lvsd closed the connection; reconnecting', 'lvsd exabgp-bridge: connected to s']);
    lines.stop();
  });

  it('folded events ending connected: the summary says connected now', () => {
    const out: string[] = [];
    const lines = bridgeLines('s', (l) => out.push(l.trimEnd()), 60_000, Date.now);
    lines.event('connected');
    lines.event('closed');
    lines.event('connected');
    lines.event('closed');
    lines.event('connected');
    mock.timers.tick(60_000);
    assert.equal(out.at(-1), 'lvsd exabgp-bridge: 2 connection(s) and 1 close(s) by lvsd not shown in the last 60s; connected to s now');
    lines.stop();
  });
});
