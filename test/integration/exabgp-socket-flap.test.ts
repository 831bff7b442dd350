// The exabgp socket under a connect/close loop (issue 18, left open by the fourth session: "a
// connect/close loop still logs two lines per cycle"): 1,000 cycles against the real backend on a
// real Unix socket, each connection handed the whole state (so lvsd writes to a peer already going
// away). The bridge lines (connected, disconnected, socket error) are logged at most once a period
// each; what a period folded is summed up when it ends, and nothing is lost from the counts.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExabgpBackend } from '../../src/announce/exabgp-backend.js';
import { captureLog } from '../helpers/log-capture.js';
import { eventually, lvsdCommand } from '../helpers/daemon-process.js';

const CYCLES = 1_000;
const KNOWN = new Map<string, 4 | 6>([['192.0.2.10', 4], ['2001:db8::10', 6]]);

/** Connect, wait until connected, close; resolves once the client side is closed. */
async function cycle(path: string): Promise<void> {
  const s = connect(path);
  s.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    s.once('connect', resolve);
    s.once('error', () => resolve());
  });
  s.destroy();
  await new Promise<void>((resolve) => (s.closed ? resolve() : s.once('close', () => resolve())));
}

/**
 * A bridge that stays: once the backend has handed it the state, every connection before it was
 * accepted (accepts are in order); once the backend counts only this one, each earlier close was
 * handled too. The log lines of the loop are then all written.
 */
async function settle(path: string, backend: ExabgpBackend): Promise<() => void> {
  const s = connect(path);
  s.setEncoding('utf8');
  let got = '';
  s.on('data', (c: string) => (got += c));
  s.on('error', () => undefined);
  await eventually(async () => (got.includes('announce route 192.0.2.10/32') ? true : undefined), 'the staying bridge handed the state');
  await eventually(async () => (backend.status().detail['bridges'] === 1 ? true : undefined), 'only the staying bridge connected');
  return () => s.destroy();
}

describe('exabgp socket: a connect/close loop does not fill the log', { timeout: 300_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lvsd-exabgp-flap-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it(`${CYCLES} cycles within one period: one connected and one disconnected line (was ${2 * CYCLES})`, async () => {
    const path = join(dir, 'a.sock');
    const log = captureLog('info');
    // A period no test run reaches: what is counted does not depend on how fast the loop runs.
    const backend = new ExabgpBackend({ socket: path, logger: log.logger, onError: () => undefined, logPeriodMs: 3_600_000 });
    await backend.start(KNOWN);
    backend.set(new Map([['192.0.2.10', 4]]), KNOWN);
    try {
      const start = log.lines.length;
      for (let i = 0; i < CYCLES; i++) await cycle(path);
      const release = await settle(path, backend);
      const lines = log.lines.slice(start);
      const show = (l: readonly unknown[]): string => JSON.stringify(l.slice(0, 5)) + (l.length > 5 ? ` and ${l.length - 5} more` : '');
      const by = (event: string): Record<string, unknown>[] => lines.filter((l) => l.event === event);
      assert.deepEqual(by('exabgp_bridge_connected').map((l) => [l.level, l.bridges]), [['info', 1]], show(by('exabgp_bridge_connected')));
      // Whether the loop ever left no bridge at all depends on when each close is handled: 0 or 1 line.
      assert.ok(by('exabgp_bridge_disconnected').length <= 1, show(by('exabgp_bridge_disconnected')));
      assert.ok(by('exabgp_bridge_disconnected').every((l) => l.level === 'warn' && l.bridges === 0), show(by('exabgp_bridge_disconnected')));
      assert.ok(by('exabgp_bridge_error').length <= 1, show(by('exabgp_bridge_error')));
      const other = lines.filter((l) => !['exabgp_bridge_connected', 'exabgp_bridge_disconnected', 'exabgp_bridge_error'].includes(String(l.event)));
      assert.deepEqual(other, [], 'no other line');
      release();
    } finally {
      await backend.close(false);
    }
  });

  it('a folded period is summed up when it ends: every first connection and last disconnection is logged or counted; the log ends on no bridge', async () => {
    const path = join(dir, 'b.sock');
    // debug: every connection is seen (folded ones at debug), so the test knows how many there were.
    const log = captureLog('debug');
    // A short period so the summaries come during the test; the counts hold whatever the timing.
    const backend = new ExabgpBackend({ socket: path, logger: log.logger, onError: () => undefined, logPeriodMs: 200 });
    await backend.start(KNOWN);
    backend.set(new Map([['192.0.2.10', 4]]), KNOWN);
    try {
      for (let i = 0; i < CYCLES; i++) await cycle(path);
      await eventually(async () => (backend.status().detail['bridges'] === 0 && log.lines.filter((l) => l.event === 'exabgp_bridge_connected').length === CYCLES ? true : undefined), 'every connection accepted and closed');
      const at = (event: string, level: string, bridges: number): number => log.lines.filter((l) => l.event === event && l.level === level && l.bridges === bridges).length;
      const summed = (field: string): number => log.lines.filter((l) => l.event === 'exabgp_bridge_flapping').reduce((n, l) => n + Number(l[field]), 0);
      // The transitions that matter to an operator: no bridge -> one (announcing possible), one -> none.
      const firsts = at('exabgp_bridge_connected', 'info', 1) + log.lines.filter((l) => l.event === 'exabgp_bridge_connected' && l.folded === true).length;
      const lasts = at('exabgp_bridge_disconnected', 'warn', 0) + log.lines.filter((l) => l.event === 'exabgp_bridge_disconnected' && l.folded === true).length;
      assert.ok(firsts >= 1 && lasts >= 1);
      await eventually(
        async () => (at('exabgp_bridge_connected', 'info', 1) + summed('connects') === firsts && at('exabgp_bridge_disconnected', 'warn', 0) + summed('disconnects') === lasts ? true : undefined),
        `${firsts} first connections and ${lasts} last disconnections each logged or counted in a summary`,
      );
      assert.ok(log.lines.some((l) => l.event === 'exabgp_bridge_flapping'), 'at least one period was folded and summed up');
      // The log ends on the state the socket is in: no bridge, at warn (announcing is not possible).
      const state = log.lines.filter((l) => l.level !== 'debug' && ['exabgp_bridge_connected', 'exabgp_bridge_disconnected', 'exabgp_bridge_flapping'].includes(String(l.event)));
      assert.deepEqual([state.at(-1)!.bridges, state.at(-1)!.level], [0, 'warn'], JSON.stringify(state.at(-1)));
    } finally {
      await backend.close(false);
    }
  });
});

describe('lvsd exabgp-bridge against an lvsd that closes every connection at once', { timeout: 300_000 }, () => {
  const RECONNECTS = 20; // the bridge retries once a second: 20 s of a loop
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lvsd-bridge-flap-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it(`${RECONNECTS} connects and closes: one line of each a started minute in ExaBGP's log (was two lines a reconnect)`, async () => {
    const path = join(dir, 'x.sock');
    let accepted = 0;
    // What a capped (or crash-looping) lvsd does: accept, then close at once.
    const server = createServer((s) => {
      accepted++;
      s.on('error', () => undefined);
      s.destroy();
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const started = Date.now();
    const bridge = spawn(process.execPath, lvsdCommand(['exabgp-bridge', '--socket', path]), { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    bridge.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => bridge.once('exit', (code) => resolve(code)));
    try {
      await eventually(async () => (accepted >= RECONNECTS ? true : undefined), `${RECONNECTS} connections`, 240_000);
      bridge.stdin.end(); // ExaBGP stopping: the bridge exits 0, having written every line
      assert.equal(await exited, 0);
      const minutes = Math.floor((Date.now() - started) / 60_000) + 1;
      const lines = stderr.trim().split('\n');
      const count = (re: RegExp): number => lines.filter((l) => re.test(l)).length;
      const connected = count(/^lvsd exabgp-bridge: connected to /);
      const closed = count(/^lvsd exabgp-bridge: lvsd closed the connection; reconnecting$/);
      const summaries = count(/^lvsd exabgp-bridge: \d+ connection\(s\) and \d+ close\(s\) by lvsd not shown/);
      assert.ok(connected >= 1 && connected <= minutes, `${connected} connected lines in ${minutes} started minute(s):\n${stderr}`);
      assert.ok(closed >= 1 && closed <= minutes, `${closed} closed lines in ${minutes} started minute(s):\n${stderr}`);
      assert.ok(summaries <= minutes, stderr);
      assert.equal(lines.length, connected + closed + summaries, stderr);
    } finally {
      bridge.kill();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
