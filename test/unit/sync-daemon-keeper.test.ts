// The sync daemon keeper against the in-memory kernel model (MemoryDaemons, the dry run's and the
// fake ipvsadm's): start, drift repair at a resync, role switches at run time (persisted), the rule
// that only daemons lvsd started are ever stopped, and its ipvsadm runs (one read per resync).

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryDaemons, kernelViewOf } from '../../src/sync-daemon/ipvsadm.js';
import type { SyncDaemonRunner, SyncDaemonSpec, SyncDaemonState } from '../../src/sync-daemon/ipvsadm.js';
import { SyncDaemonKeeper } from '../../src/sync-daemon/keeper.js';
import type { LoopTimers } from '../../src/reconcile/loop-timers.js';
import type { SyncDaemonConfig } from '../../src/config/model.js';
import { LvsdError } from '../../src/errors.js';
import { captureLog } from '../helpers/log-capture.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The kernel as MemoryDaemons, with every ipvsadm run recorded and optional failures. */
function kernel(initial: Parameters<typeof kernelViewOf>[] = []) {
  const mem = new MemoryDaemons(initial.map(([s, spec]) => kernelViewOf(s, spec)));
  const runs: string[] = [];
  let failStart: string | null = null;
  const runner: SyncDaemonRunner = {
    async daemons() {
      runs.push('read');
      return mem.list();
    },
    async startDaemon(state: SyncDaemonState, spec: SyncDaemonSpec) {
      runs.push(`start ${state}`);
      if (failStart) throw new LvsdError('LVSD_IPVSADM_FAILED', `ipvsadm --start-daemon ${state}: exit status 255: ${failStart}`);
      const r = mem.exec({ cmd: 'start', state, spec });
      if (r) throw new LvsdError('LVSD_IPVSADM_FAILED', r.error);
    },
    async stopDaemon(state: SyncDaemonState) {
      runs.push(`stop ${state}`);
      const r = mem.exec({ cmd: 'stop', state });
      if (r) throw new LvsdError('LVSD_IPVSADM_FAILED', r.error);
    },
  };
  return { mem, runs, runner, failStarts: (why: string | null) => (failStart = why) };
}

/** Timers run by hand: `fire()` runs the one due (the keeper keeps at most one). */
function manualTimers(): LoopTimers & { pending: () => number; fire: () => void; lastDelay: () => number } {
  let next: { fn: () => void; ms: number } | null = null;
  let last = -1;
  return {
    setTimeout: (fn, ms) => {
      next = { fn, ms };
      last = ms;
      return next;
    },
    clearTimeout: (h) => {
      if (h === next) next = null;
    },
    pending: () => (next ? 1 : 0),
    lastDelay: () => last,
    fire: () => {
      const t = next;
      next = null;
      t?.fn();
    },
  };
}

const config = (over: Partial<SyncDaemonConfig> = {}): SyncDaemonConfig => ({
  role: 'master', interface: 'eth1', syncid: 10, maxlen: null, group: null, port: null, ttl: null,
  pos: { file: 'lvsd.yaml', line: 1, col: 1 }, ...over,
});
const spec = (over: Partial<SyncDaemonSpec> = {}): SyncDaemonSpec => ({ interface: 'eth1', syncid: 10, maxlen: null, group: null, port: null, ttl: null, ...over });

async function keeper(k: ReturnType<typeof kernel>, opts: { file?: string | null; cfg?: SyncDaemonConfig | null } = {}) {
  const log = captureLog();
  let now = 1_000_000;
  const timers = manualTimers();
  const keeper = new SyncDaemonKeeper({ runner: k.runner, logger: log.logger, file: opts.file ?? null, timers, now: () => now });
  await keeper.load();
  keeper.setConfig(opts.cfg === undefined ? config() : opts.cfg, 30_000);
  return { keeper, log, timers, advance: (ms: number) => (now += ms) };
}

const messages = (lines: Record<string, unknown>[]): string[] => lines.map((l) => String(l.msg));

describe('sync daemon keeper', () => {
  it('starts nothing before start(); then the configured daemon, with one read', async () => {
    const k = kernel();
    const { keeper, log } = await keeper_(k);
    assert.deepEqual(k.runs, []);
    await keeper.start();
    assert.deepEqual(k.runs, ['read', 'start master']);
    assert.deepEqual([...k.mem.list().keys()], ['master']);
    assert.match(messages(log.lines).join('\n'), /sync daemon: started master \(interface eth1, syncid 10\): lvsd start/);
    assert.deepEqual(keeper.status().kernel.map((d) => [d.state, d.owned]), [['master', true]]);
  });

  it('regression: while a resync reads the kernel, status still shows the daemons last known (was: "none running" for the length of the read)', async () => {
    const k = kernel();
    const { keeper, timers, advance } = await keeper_(k);
    await keeper.start();
    // Hold the next read until the test has looked at the status.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const read = k.runner.daemons.bind(k.runner);
    k.runner.daemons = async (o) => {
      await held;
      return read(o);
    };
    advance(30_000);
    timers.fire();
    assert.deepEqual(keeper.status().kernel.map((d) => [d.state, d.owned]), [['master', true]], 'during the read');
    release();
    await keeper.settled();
    assert.deepEqual(keeper.status().kernel.map((d) => [d.state, d.owned]), [['master', true]], 'after the read');
  });

  it('nothing changed: a resync costs one read and nothing else', async () => {
    const k = kernel();
    const { keeper, timers, advance } = await keeper_(k);
    await keeper.start();
    k.runs.length = 0;
    assert.equal(timers.lastDelay(), 30_000);
    advance(30_000);
    timers.fire();
    await keeper.settled();
    assert.deepEqual(k.runs, ['read']);
  });

  it('repairs at the next resync a daemon stopped behind its back, one log line, counted', async () => {
    const k = kernel();
    const { keeper, log, timers, advance } = await keeper_(k);
    await keeper.start();
    k.mem.exec({ cmd: 'stop', state: 'master' });
    k.runs.length = 0;
    advance(30_000);
    timers.fire();
    await keeper.settled();
    assert.deepEqual(k.runs, ['read', 'start master']);
    const repair = log.lines.filter((l) => /stopped behind lvsd's back/.test(String(l.msg)));
    assert.equal(repair.length, 1);
    assert.equal(keeper.stats().repairs, 1);
  });

  it('repairs its own daemon running with other options: stop + start', async () => {
    const k = kernel();
    const { keeper, timers, advance, log } = await keeper_(k);
    await keeper.start();
    k.mem.exec({ cmd: 'stop', state: 'master' });
    k.mem.exec({ cmd: 'start', state: 'master', spec: spec({ syncid: 3 }) });
    k.runs.length = 0;
    advance(30_000);
    timers.fire();
    await keeper.settled();
    assert.deepEqual(k.runs, ['read', 'stop master', 'start master']);
    assert.equal(k.mem.list().get('master')?.syncid, 10);
    assert.ok(messages(log.lines).some((m) => /started master .*options differ \(syncid 3, want 10\)/.test(m)));
  });

  it('a role switch at run time costs only the start and stop it needs (no read), and is persisted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lvsd-sync-'));
    dirs.push(dir);
    const file = join(dir, 'sync-daemon.json');
    const k = kernel();
    const { keeper } = await keeper_(k, { file });
    await keeper.start();
    k.runs.length = 0;
    const st = await keeper.setRuntimeRole('backup', 'socket uid 0');
    assert.deepEqual(k.runs, ['stop master', 'start backup']);
    assert.equal(st.role, 'backup');
    assert.equal(st.source, 'runtime');
    assert.equal(st.config_role, 'master');
    const saved = JSON.parse(await readFile(file, 'utf8')) as { runtime: { role: string; by: string }; started: string[] };
    assert.equal(saved.runtime.role, 'backup');
    assert.equal(saved.runtime.by, 'socket uid 0');
    assert.deepEqual(saved.started, ['backup']);
    k.runs.length = 0;
    await keeper.setRuntimeRole('both', 'ocf promote');
    assert.deepEqual(k.runs, ['start master']);
    assert.deepEqual([...k.mem.list().keys()], ['master', 'backup']);
  });

  it('the run-time role survives a reload (setConfig) and a restart; "config" clears it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lvsd-sync-'));
    dirs.push(dir);
    const file = join(dir, 'sync-daemon.json');
    const k = kernel();
    const first = await keeper_(k, { file });
    await first.keeper.start();
    await first.keeper.setRuntimeRole('backup', 'pacemaker');
    first.keeper.setConfig(config({ syncid: 10, ttl: 2 }), 30_000);
    await first.keeper.settled();
    assert.equal(first.keeper.role().role, 'backup', 'a reload keeps the run-time role');
    assert.equal(k.mem.list().get('backup')?.ttl, 2, 'and applies the new options to it');
    await first.keeper.stop();
    assert.deepEqual([...k.mem.list().keys()], ['backup'], 'stop leaves the kernel daemon running');
    const second = await keeper_(k, { file, cfg: config({ ttl: 2 }) });
    assert.deepEqual(second.keeper.role(), { role: 'backup', source: 'runtime' });
    k.runs.length = 0;
    await second.keeper.start();
    assert.deepEqual(k.runs, ['read'], 'its own daemon found running as wanted: nothing to do');
    await second.keeper.setRuntimeRole(null, 'operator');
    assert.deepEqual(second.keeper.role(), { role: 'master', source: 'config' });
    assert.deepEqual([...k.mem.list().keys()], ['master']);
  });

  it('never stops or restarts a daemon it did not start: a conflict, reported once, left alone', async () => {
    const k = kernel([['master', spec({ interface: 'eth0', syncid: 5 })]]);
    const { keeper, log, timers, advance } = await keeper_(k);
    await keeper.start();
    assert.deepEqual(k.runs, ['read']);
    assert.equal(keeper.status().conflicts.length, 1);
    assert.match(keeper.status().conflicts[0]!, /master: a sync daemon lvsd did not start runs with interface eth0, want eth1; syncid 5, want 10/);
    advance(30_000);
    timers.fire();
    await keeper.settled();
    assert.deepEqual(k.runs, ['read', 'read']);
    assert.equal(log.lines.filter((l) => l.action === 'conflict').length, 1, 'logged once, not per resync');
    // role none stops only what lvsd started: the foreign daemon stays.
    await keeper.setRuntimeRole('none', 'op');
    assert.deepEqual([...k.mem.list().keys()], ['master']);
  });

  it('adopts a running daemon with identical options (a record lost), then owns it', async () => {
    const k = kernel([['master', spec()]]);
    const { keeper, log } = await keeper_(k);
    await keeper.start();
    assert.deepEqual(k.runs, ['read']);
    assert.ok(messages(log.lines).some((m) => /adopting the running master daemon/.test(m)));
    await keeper.setRuntimeRole('none', 'op');
    assert.deepEqual([...k.mem.list().keys()], []);
  });

  it('a failed start is retried with backoff after a read, and says so in status', async () => {
    const k = kernel();
    k.failStarts('No such device');
    const { keeper, timers } = await keeper_(k);
    await keeper.start();
    assert.match(keeper.status().last_error ?? '', /No such device/);
    assert.equal(timers.lastDelay(), 1_000);
    k.failStarts(null);
    k.runs.length = 0;
    timers.fire();
    await keeper.settled();
    assert.deepEqual(k.runs, ['read', 'start master']);
    assert.equal(keeper.status().last_error, null);
  });

  it('regression: a director without sync_daemon no longer runs ipvsadm -L --daemon at every resync (no run, no timer)', async () => {
    const k = kernel([['master', spec({ interface: 'eth0' })]]);
    const { keeper, timers } = await keeper_(k, { cfg: null });
    await keeper.start();
    assert.deepEqual(k.runs, []);
    assert.equal(timers.pending(), 0);
    assert.deepEqual(keeper.status().kernel, []);
    // Configured by a reload: one pass now (the foreign master differs: a conflict, untouched).
    keeper.setConfig(config(), 30_000);
    await keeper.settled();
    assert.deepEqual(k.runs, ['read']);
    assert.equal(keeper.status().conflicts.length, 1);
    assert.equal(timers.pending(), 1);
  });

  it('sync_daemon removed from lvsd.yaml: stops what lvsd started; a role cannot be set without it', async () => {
    const k = kernel();
    const { keeper } = await keeper_(k);
    await keeper.start();
    keeper.setConfig(null, 30_000);
    await keeper.settled();
    assert.deepEqual([...k.mem.list().keys()], []);
    await assert.rejects(keeper.setRuntimeRole('master', 'op'), { code: 'LVSD_SYNC_NOT_CONFIGURED' });
    assert.equal(keeper.status().configured, false);
  });
});

// Named apart from the `keeper` local of each test.
const keeper_ = keeper;
