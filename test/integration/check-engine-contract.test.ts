// One contract for both check engines (src/engine/): on the control thread (check_threads: 0) and on
// worker threads (two here, so the partition and the aggregation are exercised). The same scenarios
// run against real TCP listeners on 127.0.0.1 and must produce the same transitions: first results,
// a listener going away, a reload that keeps, changes and removes pairs, a real with two checks, and
// a clean stop. The worker engine also loses a thread (an uncaught error in it) and must restart it.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckSpec, RealConfig, ServiceConfig, Snapshot } from '../../src/config/model.js';
import type { HealthEvent } from '../../src/health/tracker.js';
import { buildProbePlan } from '../../src/scheduler/probe-key.js';
import { realKey, serviceKey } from '../../src/model/keys.js';
import { createCheckEngine } from '../../src/engine/create-engine.js';
import type { CheckEngine } from '../../src/engine/check-engine.js';
import type { ResultCounts } from '../../src/engine/control-side.js';
import { WorkerEngine } from '../../src/engine/worker-pool.js';
import { HealthBoard } from '../../src/reconcile/health-board.js';
import { createLogger } from '../../src/log.js';
import { close, listen } from '../helpers/closing-listener.js';
import type { Listener } from '../helpers/closing-listener.js';

const pos = { file: 'conf.d/it.yaml', line: 1, col: 1 };

/** Poll until `cond` holds; the deadline only guards against a hang, it asserts no timing. */
async function waitFor(what: string, cond: () => boolean, deadlineMs = 20_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function tcp(port: number, intervalMs = 40): CheckSpec {
  return { type: 'tcp', intervalMs, timeoutMs: 2000, rise: 1, fall: 1, port, send: null, expect: null };
}
function real(port: number, checks?: CheckSpec[]): RealConfig {
  const address = { host: '127.0.0.1', family: 4 as const, port };
  const check = checks?.[0] ?? tcp(port);
  return { key: realKey(address), address, weight: 1, forwarding: 'masq', check, ...(checks ? { checks } : {}), slowStartMs: 0, pos };
}
function service(n: number, reals: RealConfig[]): ServiceConfig {
  const vip = { host: `192.0.2.${n}`, family: 4 as const, port: 80 };
  return {
    kind: 'address', name: `svc${n}`, key: serviceKey({ kind: 'address', protocol: 'tcp', vip }), family: 4, vip,
    protocol: 'tcp', scheduler: 'wlc', persistence: null, quiescent: false, quorum: 1, hysteresis: 0, notify: { commands: {}, timeoutMs: 10_000 }, reals, sorry: [], pos,
  };
}
function snapshotOf(services: ServiceConfig[]): Snapshot {
  return { global: {} as Snapshot['global'], services, files: [], hash: 'it' };
}

/** The engine under test with what its hooks delivered. */
interface Harness {
  engine: CheckEngine;
  events: HealthEvent[];
  results: ResultCounts[];
  board: HealthBoard;
  state(s: ServiceConfig, r: RealConfig): string;
  boardState(s: ServiceConfig, r: RealConfig): string;
  /** After every resync: "mirror/board" state of the watched pair. */
  resyncs: string[];
  watch: [ServiceConfig, RealConfig] | null;
}

async function harness(threads: number, testHooks = false): Promise<Harness> {
  const events: HealthEvent[] = [];
  const results: ResultCounts[] = [];
  const board = new HealthBoard();
  let engine!: CheckEngine;
  const hooks = {
    onEvents: (e: readonly HealthEvent[]) => {
      events.push(...e);
      board.apply(e);
    },
    onResults: (r: ResultCounts) => results.push(r),
    onResync: () => {
      board.resync(engine.boardEntries());
      const w = h.watch;
      if (w) h.resyncs.push(`${h.state(w[0], w[1])}/${h.boardState(w[0], w[1])}`);
    },
  };
  const logger = createLogger('silent');
  let h: Harness;
  if (testHooks) engine = new WorkerEngine({ threads, maxConcurrent: 16, logger, hooks, testHooks: true, restartDelayMs: 10, flushMs: 50 });
  else engine = createCheckEngine({ threads, maxConcurrent: 16, logger, hooks, flushMs: 50 });
  engine.start();
  h = {
    engine,
    events,
    results,
    board,
    state: (s, r) => engine.health.get(s.key, r.key)?.health.state ?? 'absent',
    boardState: (s, r) => board.view(s.key, r.key).state,
    resyncs: [],
    watch: null,
  };
  return h;
}

/** Transitions as comparable text, without timing. */
function summary(events: readonly HealthEvent[]): string[] {
  return events.map((e) => `${e.serviceKey} ${e.realKey} ${e.kind} ${e.from}->${e.to}`);
}

describe('check engine contract (in-thread and worker threads)', () => {
  let a: Listener;
  let b: Listener;
  before(async () => {
    a = await listen();
    b = await listen();
  });
  after(async () => {
    await close(a);
    await close(b);
  });

  const runs = new Map<number, { first: string[]; down: string[]; reload: string[] }>();

  for (const threads of [0, 2]) {
    it(`threads: ${threads}: first results, a failure, a reload, a real with two checks, a clean stop`, async () => {
      // Fresh listeners per run: the previous run closed b.
      const la = await listen();
      const lb = await listen();
      const h = await harness(threads);
      try {
        const ra = real(la.port);
        const rb = real(lb.port);
        const both = real(la.port + 0, [tcp(la.port), tcp(lb.port, 60)]);
        const s1 = service(1, [ra, rb]);
        const s2 = service(2, [ra, rb]);
        const s3 = service(3, [both]);
        h.engine.update(buildProbePlan(snapshotOf([s1, s2, s3])));
        assert.equal(h.engine.health.unknownCount, 5, 'every pair unknown before its first result');
        // The first-round deadline counts from here (daemon/first-round.ts): it must resolve.
        await h.engine.checking();
        await waitFor('every pair checked', () => h.engine.health.unknownCount === 0);
        for (const [s, r] of [[s1, ra], [s1, rb], [s2, ra], [s2, rb], [s3, both]] as const) {
          assert.equal(h.state(s, r), 'up', `${s.name} ${r.key}`);
          assert.equal(h.boardState(s, r), 'up');
        }
        const parts = h.engine.health.checksOf(s3.key, both.key);
        assert.equal(parts?.length, 2, 'both checks of the real are tracked');
        const first = summary(h.events).sort();
        assert.deepEqual(first, [
          `${s1.key} ${ra.key} state unknown->up`, `${s1.key} ${rb.key} state unknown->up`,
          `${s2.key} ${ra.key} state unknown->up`, `${s2.key} ${rb.key} state unknown->up`,
          `${s3.key} ${both.key} state unknown->up`,
        ].sort());

        // b goes away: its pairs and the two-check real (its second check is on b) go down.
        const before = h.events.length;
        await close(lb);
        await waitFor('b down everywhere', () => h.state(s1, rb) === 'down' && h.state(s2, rb) === 'down' && h.state(s3, both) === 'down');
        await waitFor('the board follows', () => h.boardState(s1, rb) === 'down' && h.boardState(s3, both) === 'down');
        const down = summary(h.events.slice(before)).sort();
        assert.deepEqual(down, [`${s1.key} ${rb.key} state up->down`, `${s2.key} ${rb.key} state up->down`, `${s3.key} ${both.key} state up->down`].sort());
        assert.equal(h.state(s1, ra), 'up');
        for (const e of h.events.slice(before)) assert.ok(e.result.code === 'refused' || e.result.code === 'reset', e.reason);
        await waitFor('results and counters reported', () => h.results.length > 0 && h.engine.stats().completed > 0);
        const codes = new Set(h.results.flatMap((r) => [...r.results.probe].map((p, i) => `${r.keys[p] === undefined ? 'unindexed' : 'indexed'} ${r.results.code[i]}`)));
        assert.ok(![...codes].some((c) => c.startsWith('unindexed')), 'every result names a probe of the plan');
        assert.equal(h.engine.stats().probes, 3);
        // Routine results' details (counters, last reason) stay on the engine's side until asked for.
        await waitFor('several checks of a', () => h.engine.stats().completed > 12);
        await h.engine.refresh();
        const ta = h.engine.health.get(s1.key, ra.key)!;
        assert.ok(ta.health.checks > 1, `a was checked ${ta.health.checks} times as the mirror knows`);
        assert.match(ta.health.lastResult!.reason, /TCP/);

        // Reload: s2 goes, s1 keeps ra (same check) and its rb check changes (a new probe: unknown again),
        // s4 is new on ra (a probe already running: its last result decides at once).
        const mark = h.events.length;
        const rb2 = { ...rb, check: tcp(lb.port, 45) };
        const s1b = service(1, [ra, rb2]);
        const s4 = service(4, [ra]);
        h.engine.update(buildProbePlan(snapshotOf([s1b, s3, s4])));
        assert.equal(h.state(s1b, ra), 'up', 'a kept pair keeps its state');
        assert.equal(h.state(s1b, rb2), 'unknown', 'a changed check starts over');
        assert.equal(h.engine.health.get(s2.key, ra.key), undefined, 'a removed service is gone');
        await waitFor('new pairs decided', () => h.state(s4, ra) === 'up' && h.state(s1b, rb2) === 'down');
        const reload = summary(h.events.slice(mark)).filter((e) => !e.includes(s3.key)).sort();
        assert.deepEqual(reload, [`${s1b.key} ${rb2.key} state unknown->down`, `${s4.key} ${ra.key} state unknown->up`].sort());
        runs.set(threads, { first, down, reload });

        await h.engine.stop();
        assert.equal(h.engine.stats().inFlight, 0);
      } finally {
        await h.engine.stop();
        await close(la);
        await close(lb);
      }
    });
  }

  it('both engines saw the same transitions', () => {
    assert.equal(runs.size, 2, 'both runs completed');
    const [inThread, worker] = [runs.get(0)!, runs.get(2)!];
    // Ports differ between runs; compare the shape (service, from->to) of each step.
    const shape = (xs: string[]) => xs.map((x) => x.replace(/127\.0\.0\.1:\d+/g, 'REAL')).sort();
    assert.deepEqual(shape(worker.first), shape(inThread.first));
    assert.deepEqual(shape(worker.down), shape(inThread.down));
    assert.deepEqual(shape(worker.reload), shape(inThread.reload));
  });

  it('worker threads: a thread that dies is restarted, its pairs unknown meanwhile while the board holds them', async () => {
    const h = await harness(1, true);
    const engine = h.engine as WorkerEngine;
    try {
      const ra = real(a.port);
      const s1 = service(1, [ra]);
      engine.update(buildProbePlan(snapshotOf([s1])));
      await waitFor('first result', () => h.state(s1, ra) === 'up');
      h.watch = [s1, ra];
      engine.crash(0);
      await waitFor('thread restarted', () => engine.restarts === 1);
      // At the crash the mirror says unknown (status) while the board holds `up` (the kernel keeps the real).
      await waitFor('the crash resynced the board', () => h.resyncs.length > 0);
      assert.equal(h.resyncs[0], 'unknown/up');
      await waitFor('checked again by the new thread', () => h.events.filter((e) => e.from === 'unknown' && e.to === 'up').length === 2);
      assert.equal(h.state(s1, ra), 'up');
      assert.equal(h.boardState(s1, ra), 'up');
      assert.ok(!h.events.some((e) => e.to === 'down'), 'the crash is no verdict on the real');
      await waitFor('counters of the new thread', () => engine.stats().completed > 0);
    } finally {
      await engine.stop();
    }
  });

  /** A MISC check whose command writes its pid and then sleeps far past the test (it starts within 50 ms, never overlaps itself). */
  function sleeper(pidFile: string): CheckSpec {
    return { type: 'misc', intervalMs: 50, timeoutMs: 120_000, rise: 1, fall: 1, port: 80, command: ['/bin/sh', '-c', `echo $$ > ${pidFile}; exec sleep 300`], dynamicWeight: false };
  }

  /** Gone: no such process, or a zombie (exited; only its reaping is pending). */
  function gone(pid: number): boolean {
    try {
      const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').pop()!.trim().split(' ')[0];
      return state === 'Z';
    } catch {
      return true;
    }
  }

  for (const how of ['stop', 'crash'] as const) {
    it(`worker threads: a MISC command in flight is killed when its thread ${how === 'stop' ? 'stops' : 'dies'}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'lvsd-engine-misc-'));
      const h = await harness(1, true);
      const engine = h.engine as WorkerEngine;
      try {
        const pidFile = join(dir, 'pid');
        const r = { ...real(a.port), check: sleeper(pidFile) };
        engine.update(buildProbePlan(snapshotOf([service(9, [r])])));
        await waitFor('the command runs', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '');
        const pid = Number(readFileSync(pidFile, 'utf8').trim());
        assert.ok(!gone(pid), 'the command is running');
        if (how === 'stop') {
          await engine.stop();
          // The checker's own cleanup ran on the thread before it said stopped.
          assert.ok(gone(pid), `pid ${pid} outlived the stop`);
        } else {
          engine.crash(0);
          await waitFor('the dead thread\'s command killed by its run tag', () => gone(pid));
          await waitFor('thread restarted', () => engine.restarts === 1);
        }
      } finally {
        await engine.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
