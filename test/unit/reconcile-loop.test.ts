// The Reconciler loop against an in-memory IpvsRunner (MemoryTable) with node:test mock timers.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { LvsdError } from '../../src/errors.js';
import { MemoryTable } from '../../src/ipvs/memory-table.js';
import type { ExecOptions, IpvsRunner, IpvsTable, RealCounters, TableCounters, TableStats } from '../../src/ipvs/model.js';
import { createLogger } from '../../src/log.js';
import type { HealthView } from '../../src/reconcile/desired.js';
import type { HealthState } from '../../src/model/health-state.js';
import { Ownership } from '../../src/reconcile/ownership.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import type { PassPublished, PassReport, ReconcilerOptions } from '../../src/reconcile/reconciler.js';
import { plain, snapshot, table } from '../helpers/reconcile-fixtures.js';
import type { KernelServiceSpec, ServiceSpec } from '../helpers/reconcile-fixtures.js';
import { captureLog } from '../helpers/log-capture.js';

const WEB = 'tcp:192.0.2.10:80';
const DNS = 'udp:192.0.2.53:53';
const FOREIGN = 'tcp:198.51.100.1:443';
const R1 = '10.0.0.1:80';
const R2 = '10.0.0.2:80';
const R3 = '10.0.0.3:80';

/** The IpvsRunner seam with a MemoryTable behind it, plus the failures a real ipvsadm can show. */
class FakeRunner implements IpvsRunner {
  readonly memory: MemoryTable;
  readonly applies: string[][] = [];
  reads = 0;
  counterReads = 0;
  /** ActiveConn/InActConn by "service real"; absent = 0/0. */
  readonly conns = new Map<string, readonly [number, number]>();
  /** Every call throws this (ipvsadm missing or broken). */
  broken: Error | null = null;
  /** The next apply drops lines matching this, reporting an error for each (once). */
  dropOnce: RegExp | null = null;
  /** apply waits for this before touching the table. */
  gate: Promise<void> | null = null;
  /** apply never finishes on its own: only its AbortSignal ends it (a hanging ipvsadm -R). */
  hang = false;
  /** Called when an apply starts (e.g. a reload arriving while ipvsadm -R runs). */
  onApply: (() => void) | null = null;

  constructor(initial?: IpvsTable) {
    this.memory = new MemoryTable(initial);
  }

  async read(): Promise<IpvsTable> {
    this.reads++;
    if (this.broken) throw this.broken;
    return this.memory.table();
  }

  async stats(): Promise<TableStats> {
    if (this.broken) throw this.broken;
    return new Map();
  }

  async counters(): Promise<TableCounters> {
    this.counterReads++;
    if (this.broken) throw this.broken;
    const out = new Map<string, Map<string, RealCounters>>();
    for (const [key, svc] of this.memory.table().services) {
      const m = new Map<string, RealCounters>();
      for (const real of svc.reals.keys()) {
        const [a, i] = this.conns.get(`${key} ${real}`) ?? [0, 0];
        m.set(real, { activeConns: a, inactiveConns: i, persistentConns: 0 });
      }
      out.set(key, m);
    }
    return out;
  }

  async apply(lines: readonly string[], options: ExecOptions = {}): Promise<{ readonly errors: readonly string[] }> {
    this.applies.push([...lines]);
    if (this.broken) throw this.broken;
    this.onApply?.();
    if (this.hang) {
      await new Promise<void>((_, reject) => {
        const { signal } = options;
        const fail = (): void => reject(new LvsdError('LVSD_IPVSADM_ABORTED', `ipvsadm -R: aborted (${String(signal?.reason)})`));
        if (signal?.aborted) fail();
        signal?.addEventListener('abort', fail, { once: true });
      });
    }
    if (this.gate) await this.gate;
    const drop = this.dropOnce;
    this.dropOnce = null;
    const kept = drop ? lines.filter((l) => !drop.test(l)) : lines;
    const dropped = lines.filter((l) => !kept.includes(l)).map((l) => `${l}: Memory allocation problem`);
    return { errors: [...dropped, ...this.memory.restore(kept).errors] };
  }
}

/** Mutable health: "service real" -> state; everything else up. */
function mutableHealth(): { view: HealthView; set(s: string, r: string, st: HealthState): void } {
  const states = new Map<string, HealthState>();
  return {
    view: (s, r) => ({ state: states.get(`${s} ${r}`) ?? 'up' }),
    set: (s, r, st) => void states.set(`${s} ${r}`, st),
  };
}

const WEB_CONFIG: ServiceSpec = { key: WEB, reals: [{ address: R1, weight: 10 }, { address: R2, weight: 20 }] };

interface Rig {
  readonly runner: FakeRunner;
  readonly reconciler: Reconciler;
  readonly health: ReturnType<typeof mutableHealth>;
  readonly ownership: Ownership;
  readonly logs: Record<string, unknown>[];
  readonly reports: PassReport[];
  /** Everything published, passes and the clean stop. */
  readonly published: PassPublished[];
}

function rig(
  opts: {
    config?: readonly ServiceSpec[];
    kernel?: readonly KernelServiceSpec[];
    owned?: readonly string[];
    extra?: Partial<ReconcilerOptions>;
  } = {},
): Rig {
  const runner = new FakeRunner(table(opts.kernel ?? []));
  const ownership = Ownership.inMemory(opts.owned ?? []);
  const { logger, lines } = captureLog();
  const reports: PassReport[] = [];
  const published: PassPublished[] = [];
  const reconciler = new Reconciler({
    runner,
    logger,
    ownership,
    subscribers: [
      {
        published: (p) => {
          published.push(p);
          if (p.report) reports.push(p.report);
        },
      },
    ],
    ...opts.extra,
  });
  const health = mutableHealth();
  reconciler.setSnapshot(snapshot(opts.config ?? [WEB_CONFIG]));
  reconciler.setHealth(health.view);
  return { runner, reconciler, health, ownership, logs: lines, reports, published };
}

/** Advance mocked time and let the pass it may start finish. */
async function advance(r: Rig, ms: number): Promise<void> {
  mock.timers.tick(ms);
  await r.reconciler.settled();
}

const kernel = (r: Rig): Record<string, unknown> => plain(r.runner.memory.table());

describe('Reconciler', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it('changes nothing before start(), whatever is triggered, then syncs on start()', async () => {
    const r = rig({ kernel: [{ key: WEB, reals: [[R3, 1]] }] });
    r.reconciler.trigger('health');
    r.reconciler.trigger('reload');
    await advance(r, 10 * 60_000);
    assert.equal(r.runner.applies.length, 0);
    assert.equal(r.runner.reads, 0);
    assert.deepEqual(kernel(r), plain(table([{ key: WEB, reals: [[R3, 1]] }])));

    const report = await r.reconciler.start();
    assert.equal(report.ok, true);
    assert.deepEqual(report.lines, [
      '-a -t 192.0.2.10:80 -r 10.0.0.1:80 -m -w 10',
      '-a -t 192.0.2.10:80 -r 10.0.0.2:80 -m -w 20',
      '-d -t 192.0.2.10:80 -r 10.0.0.3:80',
    ]);
    assert.equal(r.runner.applies.length, 1);
    assert.deepEqual(kernel(r), plain(table([{ key: WEB, reals: [[R1, 10], [R2, 20]] }])));
  });

  it('coalesces a burst of triggers into one pass and one ipvsadm -R', async () => {
    const r = rig();
    await r.reconciler.start();
    const before = r.runner.applies.length;
    const readsBefore = r.runner.reads;
    r.health.set(WEB, R1, 'down');
    r.reconciler.trigger('health');
    await advance(r, 10);
    r.health.set(WEB, R2, 'down');
    r.reconciler.trigger('health');
    await advance(r, 10);
    r.health.set(WEB, R2, 'up');
    r.reconciler.trigger('health');
    r.reconciler.trigger('reload');
    await advance(r, 29);
    assert.equal(r.runner.applies.length, before, 'nothing yet inside the window');
    assert.equal(r.runner.reads, readsBefore);
    await advance(r, 1);
    assert.equal(r.runner.applies.length, before + 1);
    assert.deepEqual(r.runner.applies.at(-1), ['-d -t 192.0.2.10:80 -r 10.0.0.1:80']);
    assert.deepEqual(r.reports.at(-1)?.reasons, ['health', 'reload']);
    assert.deepEqual(kernel(r), plain(table([{ key: WEB, reals: [[R2, 20]] }])));
  });

  it('a trigger during a running pass causes exactly one more pass, and does not fail the running one', async () => {
    const r = rig();
    let open!: () => void;
    r.runner.gate = new Promise<void>((res) => (open = res));
    const first = r.reconciler.start();
    while (r.runner.applies.length === 0) await new Promise((res) => setImmediate(res));
    r.health.set(WEB, R1, 'down');
    r.reconciler.trigger('health');
    r.reconciler.trigger('health');
    r.runner.gate = null;
    open();
    const report = await first;
    assert.equal(report.ok, true, 'verified against the health the pass applied, not a later transition');
    assert.equal(r.reconciler.stats().failures, 0);
    assert.equal(r.runner.applies.length, 1);
    await advance(r, 50);
    assert.equal(r.runner.applies.length, 2);
    assert.deepEqual(r.runner.applies[1], ['-d -t 192.0.2.10:80 -r 10.0.0.1:80']);
    await advance(r, 50);
    assert.equal(r.runner.applies.length, 2);
  });

  it('re-reads after apply, logs the failing lines and retries with doubling backoff', async () => {
    const r = rig({ extra: { retryInitialMs: 1000, retryMaxMs: 4000 } });
    r.runner.dropOnce = /10\.0\.0\.2/;
    const first = await r.reconciler.start();
    assert.equal(first.ok, false);
    assert.deepEqual(first.remaining, ['-a -t 192.0.2.10:80 -r 10.0.0.2:80 -m -w 20']);
    assert.match(first.errors.join('\n'), /10\.0\.0\.2:80 -m -w 20: Memory allocation problem/);
    const logged = r.logs.find((l) => l.msg === 'IPVS table still differs after apply; will retry');
    assert.ok(logged);
    assert.deepEqual(logged.remaining, first.remaining);
    assert.equal(r.reconciler.stats().consecutiveFailures, 1);

    r.runner.dropOnce = /10\.0\.0\.2/; // fails once more
    await advance(r, 999);
    assert.equal(r.runner.applies.length, 1);
    await advance(r, 1);
    assert.equal(r.runner.applies.length, 2);
    assert.deepEqual(r.runner.applies[1], ['-a -t 192.0.2.10:80 -r 10.0.0.2:80 -m -w 20']);
    await advance(r, 1999);
    assert.equal(r.runner.applies.length, 2, 'second retry waits twice as long');
    await advance(r, 1);
    assert.equal(r.runner.applies.length, 3);
    const stats = r.reconciler.stats();
    assert.equal(stats.failures, 2);
    assert.equal(stats.consecutiveFailures, 0);
    assert.equal(stats.lastSuccessAt, Date.now());
    assert.deepEqual(kernel(r), plain(table([{ key: WEB, reals: [[R1, 10], [R2, 20]] }])));
  });

  it('a missing ipvsadm is a logged retry loop with capped backoff, never a crash', async () => {
    const r = rig({ extra: { retryInitialMs: 1000, retryMaxMs: 4000 } });
    r.runner.broken = new LvsdError('LVSD_IPVSADM_MISSING', 'ipvsadm not found at /usr/sbin/ipvsadm');
    const first = await r.reconciler.start();
    assert.equal(first.ok, false);
    const line = r.logs.find((l) => l.code === 'LVSD_IPVSADM_MISSING');
    assert.ok(line, 'one clear log line with the code');
    assert.equal(line.level, 'error');
    assert.match(String(line.err), /ipvsadm not found/);

    // Triggers while the runner is broken wait for the backoff instead of hammering it.
    r.reconciler.trigger('health');
    await advance(r, 999);
    assert.equal(r.runner.reads, 1);
    await advance(r, 1);
    assert.equal(r.runner.reads, 2);
    await advance(r, 2000);
    assert.equal(r.runner.reads, 3);
    await advance(r, 4000);
    assert.equal(r.runner.reads, 4);
    await advance(r, 4000);
    assert.equal(r.runner.reads, 5, 'backoff capped at retryMaxMs');
    assert.equal(r.reconciler.stats().consecutiveFailures, 5);

    r.runner.broken = null;
    await advance(r, 4000);
    assert.equal(r.reconciler.stats().consecutiveFailures, 0);
    assert.deepEqual(kernel(r), plain(table([{ key: WEB, reals: [[R1, 10], [R2, 20]] }])));
  });

  it('the periodic resync repairs drift (ipvsadm -C, a hand-edited weight) and leaves foreign services be', async () => {
    const r = rig({ kernel: [{ key: FOREIGN, reals: [[R1, 3]] }], extra: { resyncIntervalMs: 30_000 } });
    await r.reconciler.start();
    const want = plain(table([{ key: FOREIGN, reals: [[R1, 3]] }, { key: WEB, reals: [[R1, 10], [R2, 20]] }]));
    assert.deepEqual(kernel(r), want);

    r.runner.memory.restore(['-e -t 192.0.2.10:80 -r 10.0.0.1:80 -m -w 99']);
    await advance(r, 30_000);
    assert.deepEqual(r.runner.applies.at(-1), ['-e -t 192.0.2.10:80 -r 10.0.0.1:80 -m -w 10']);
    assert.deepEqual(kernel(r), want);

    r.runner.memory.restore(['-D -t 192.0.2.10:80', '-D -t 198.51.100.1:443']); // like -C
    await advance(r, 30_000);
    assert.deepEqual(
      kernel(r),
      plain(table([{ key: WEB, reals: [[R1, 10], [R2, 20]] }])),
      'the managed service comes back; the foreign one is not lvsd business',
    );
    assert.deepEqual(r.reports.at(-1)?.reasons, ['resync']);
  });

  it('a quiet resync pass reads the kernel and applies nothing', async () => {
    const r = rig();
    await r.reconciler.start();
    const applies = r.runner.applies.length;
    await advance(r, 30_000);
    await advance(r, 30_000);
    assert.equal(r.runner.applies.length, applies);
    assert.equal(r.reconciler.stats().passes, 3);
  });

  it('drains a real removed from the config: weight 0, deleted once idle', async () => {
    const r = rig({ config: [{ ...WEB_CONFIG, reals: [...WEB_CONFIG.reals!, R3] }], extra: { drainPollMs: 1000 } });
    await r.reconciler.start();
    assert.equal(r.runner.counterReads, 0, 'counters only read while something drains');
    r.runner.conns.set(`${WEB} ${R3}`, [2, 1]);
    r.reconciler.setSnapshot(snapshot([WEB_CONFIG]));
    await advance(r, 50);
    assert.deepEqual(r.runner.applies.at(-1), ['-e -t 192.0.2.10:80 -r 10.0.0.3:80 -m -w 0']);
    assert.equal(r.reconciler.stats().draining, 1);

    await advance(r, 1000);
    assert.equal(r.runner.applies.length, 2, 'still busy: nothing to do');
    r.runner.conns.set(`${WEB} ${R3}`, [0, 0]);
    await advance(r, 1000);
    assert.deepEqual(r.runner.applies.at(-1), ['-d -t 192.0.2.10:80 -r 10.0.0.3:80']);
    assert.equal(r.reconciler.stats().draining, 0);
    assert.deepEqual(kernel(r), plain(table([{ key: WEB, reals: [[R1, 10], [R2, 20]] }])));
  });

  it('a drain ends at the drain timeout even with connections left', async () => {
    const r = rig({ config: [{ ...WEB_CONFIG, reals: [R3] }], extra: { drainPollMs: 1000, drainTimeoutMs: 5000 } });
    await r.reconciler.start();
    r.runner.conns.set(`${WEB} ${R3}`, [5, 5]);
    r.reconciler.setSnapshot(snapshot([{ ...WEB_CONFIG, reals: [] }]));
    await advance(r, 50);
    assert.deepEqual(r.runner.applies.at(-1), ['-e -t 192.0.2.10:80 -r 10.0.0.3:80 -m -w 0']);
    await advance(r, 4000);
    assert.equal(r.runner.applies.length, 2);
    await advance(r, 1000);
    assert.deepEqual(r.runner.applies.at(-1), ['-d -t 192.0.2.10:80 -r 10.0.0.3:80']);
  });

  it('UDP reals and services removed from the config go at once', async () => {
    const dns: ServiceSpec = { key: DNS, reals: ['10.0.0.53:53', '10.0.0.54:53'] };
    const r = rig({ config: [WEB_CONFIG, dns] });
    await r.reconciler.start();
    r.runner.conns.set(`${DNS} 10.0.0.54:53`, [0, 9]);
    r.reconciler.setSnapshot(snapshot([WEB_CONFIG, { ...dns, reals: ['10.0.0.53:53'] }]));
    await advance(r, 50);
    assert.deepEqual(r.runner.applies.at(-1), ['-d -u 192.0.2.53:53 -r 10.0.0.54:53']);
    r.reconciler.setSnapshot(snapshot([WEB_CONFIG]));
    await advance(r, 50);
    assert.deepEqual(r.runner.applies.at(-1), ['-D -u 192.0.2.53:53']);
    assert.equal(r.runner.counterReads, 0);
  });

  it('a service removed from the config drains its reals, then is deleted', async () => {
    const r = rig({ extra: { drainPollMs: 1000 } });
    await r.reconciler.start();
    r.runner.conns.set(`${WEB} ${R1}`, [1, 0]);
    r.reconciler.setSnapshot(snapshot([]));
    await advance(r, 50);
    assert.deepEqual(r.runner.applies.at(-1), [
      '-e -t 192.0.2.10:80 -r 10.0.0.1:80 -m -w 0',
      '-d -t 192.0.2.10:80 -r 10.0.0.2:80',
    ]);
    r.runner.conns.set(`${WEB} ${R1}`, [0, 0]);
    await advance(r, 1000);
    assert.deepEqual(r.runner.applies.at(-1), ['-D -t 192.0.2.10:80']);
    assert.deepEqual(kernel(r), {});
    assert.deepEqual(r.ownership.keys(), new Set(), 'forgotten once gone from the kernel');
  });

  it('records a service as owned before creating it, adopts a configured pre-existing one', async () => {
    const other: ServiceSpec = { key: 'tcp:192.0.2.11:80', scheduler: 'rr', reals: [R1] };
    const r = rig({
      config: [WEB_CONFIG, other],
      kernel: [{ key: 'tcp:192.0.2.11:80', scheduler: 'rr', reals: [[R1, 1]] }, { key: FOREIGN }],
    });
    const seen: string[][] = [];
    const apply = r.runner.apply.bind(r.runner);
    r.runner.apply = async (lines) => {
      seen.push([...r.ownership.keys()].sort());
      return apply(lines);
    };
    await r.reconciler.start();
    assert.deepEqual(seen, [['tcp:192.0.2.10:80', 'tcp:192.0.2.11:80']], 'written ahead of the apply');

    // Both leave the config: lvsd removes what it manages, adopted or created; the foreign one stays.
    r.reconciler.setSnapshot(snapshot([]));
    await advance(r, 50);
    assert.deepEqual(kernel(r), plain(table([{ key: FOREIGN }])));
    assert.deepEqual(r.ownership.keys(), new Set());
  });

  it('keeps the kernel entries of reals without a first result (restart)', async () => {
    const r = rig({ kernel: [{ key: WEB, reals: [[R1, 7], [R2, 20]] }] });
    r.health.set(WEB, R1, 'unknown');
    r.health.set(WEB, R2, 'unknown');
    const report = await r.reconciler.start();
    assert.deepEqual(report.ops, []);
    assert.equal(r.runner.applies.length, 0);
  });

  it('stop({ clean: true }) deletes owned services one by one (never -C); foreign ones stay', async () => {
    const r = rig({
      kernel: [{ key: FOREIGN, reals: [[R1, 1]] }, { key: 'tcp:192.0.2.99:80', reals: [[R1, 1]] }],
      owned: ['tcp:192.0.2.99:80', 'tcp:192.0.2.98:80'],
    });
    r.runner.conns.set(`tcp:192.0.2.99:80 ${R1}`, [3, 3]); // draining when stopped: removed anyway
    await r.reconciler.start();
    const result = await r.reconciler.stop({ clean: true });
    assert.deepEqual(r.runner.applies.at(-1), ['-D -t 192.0.2.10:80', '-D -t 192.0.2.99:80']);
    assert.ok(r.runner.applies.flat().every((l) => !l.startsWith('-C')));
    assert.deepEqual(result, { removed: [WEB, 'tcp:192.0.2.99:80'], left: [] });
    assert.deepEqual(kernel(r), plain(table([{ key: FOREIGN, reals: [[R1, 1]] }])));
    assert.deepEqual(r.ownership.keys(), new Set());
    const applies = r.runner.applies.length;
    await advance(r, 120_000);
    assert.equal(r.runner.applies.length, applies, 'no pass after stop');
  });

  it('stop({ clean: false }) leaves the kernel as it is', async () => {
    const r = rig();
    await r.reconciler.start();
    const before = kernel(r);
    const applies = r.runner.applies.length;
    assert.deepEqual(await r.reconciler.stop({ clean: false }), { removed: [], left: [] });
    r.reconciler.trigger('health');
    await advance(r, 120_000);
    assert.equal(r.runner.applies.length, applies);
    assert.deepEqual(kernel(r), before);
  });

  it('stop({ clean: true }) before start() still releases what a previous run left', async () => {
    const r = rig({ kernel: [{ key: WEB, reals: [[R1, 10]] }, { key: FOREIGN }] });
    assert.deepEqual(await r.reconciler.stop({ clean: true }), { removed: [WEB], left: [] });
    assert.deepEqual(r.runner.applies, [['-D -t 192.0.2.10:80']]);
  });

  it('an unwritable ownership record is logged and does not hold the kernel back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lvsd-rec-'));
    try {
      const stateDir = join(dir, 'state');
      await writeFile(stateDir, 'a file where the directory should be');
      const ownership = await Ownership.load(stateDir, createLogger('silent'));
      const r = rig({ extra: { ownership } });
      const report = await r.reconciler.start();
      assert.equal(report.ok, true);
      assert.deepEqual(kernel(r), plain(table([{ key: WEB, reals: [[R1, 10], [R2, 20]] }])));
      assert.ok(r.logs.some((l) => l.code === 'LVSD_STATE_IO' && l.level === 'error'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an ownership record that cannot be written on every pass is one error line a minute with the count, and its recovery is said (regression: one error line per pass; issue 18)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lvsd-rec-'));
    try {
      const stateDir = join(dir, 'state');
      await writeFile(stateDir, 'a file where the directory should be');
      const ownership = await Ownership.load(stateDir, createLogger('silent'));
      // Count the failed writes as they happen, to check the count the second line carries.
      let failed = 0;
      const save = ownership.save.bind(ownership);
      ownership.save = (next) => save(next).catch((err: unknown) => {
        failed++;
        throw err;
      });
      const r = rig({ extra: { ownership } });
      await r.reconciler.start();
      const saveErrors = (): Record<string, unknown>[] => r.logs.filter((l) => l.msg === 'cannot save ownership record');
      for (let i = 0; i < 6; i++) {
        r.health.set(WEB, R1, i % 2 === 0 ? 'down' : 'up');
        r.reconciler.trigger('health');
        await advance(r, 1000);
      }
      assert.ok(failed >= 7, `failed writes ${failed}`);
      const firstMinute = failed;
      assert.equal(saveErrors().length, 1, 'one line for the first minute');
      assert.equal(saveErrors()[0]!.level, 'error');
      assert.equal(saveErrors()[0]!.suppressed, 0);
      await advance(r, 60_000);
      r.health.set(WEB, R1, 'down');
      r.reconciler.trigger('health');
      await advance(r, 1000);
      assert.equal(saveErrors().length, 2);
      // Every pass of the minute before was counted into the second line.
      const folded = saveErrors()[1]!.suppressed as number;
      assert.ok(folded >= firstMinute - 1 && folded <= failed - 2, `folded ${folded}, failed ${firstMinute} then ${failed}`);
      // state_dir repaired: the next save says so once.
      await rm(stateDir);
      await mkdir(stateDir);
      r.health.set(WEB, R1, 'up');
      r.reconciler.trigger('health');
      await advance(r, 1000);
      const saved = r.logs.filter((l) => l.event === 'ownership_saved');
      assert.equal(saved.length, 1);
      assert.equal(saveErrors().length, 2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('planOnce() returns the lines a pass would apply and applies nothing, before or after start()', async () => {
    const r = rig({ kernel: [{ key: WEB, scheduler: 'rr', reals: [[R1, 10]] }] });
    const plan = await r.reconciler.planOnce();
    assert.deepEqual(plan.lines, ['-E -t 192.0.2.10:80 -s wlc', '-a -t 192.0.2.10:80 -r 10.0.0.2:80 -m -w 20']);
    assert.deepEqual(
      plan.ops.map((o) => o.op),
      ['edit-service', 'add-real'],
    );
    assert.equal(r.runner.applies.length, 0);
    assert.deepEqual(kernel(r), plain(table([{ key: WEB, scheduler: 'rr', reals: [[R1, 10]] }])));
    assert.equal(r.reconciler.stats().passes, 0);
    await r.reconciler.start();
    assert.deepEqual((await r.reconciler.planOnce()).lines, []);
  });

  it('counts passes, ops by kind and the last successful sync', async () => {
    const r = rig({ kernel: [{ key: WEB, scheduler: 'rr', reals: [[R1, 1], [R3, 1]] }] });
    await r.reconciler.start();
    const s = r.reconciler.stats();
    assert.equal(s.started, true);
    assert.equal(s.passes, 1);
    assert.equal(s.failures, 0);
    assert.equal(s.lastSuccessAt, 1_000_000);
    assert.equal(s.lastError, null);
    assert.deepEqual(s.opsApplied, {
      'add-service': 0,
      'edit-service': 1,
      'delete-service': 0,
      'add-real': 1,
      'edit-real': 1,
      'delete-real': 1,
    });
    assert.equal(r.reports.length, 1);
  });
});

describe('Reconciler: one ipvsadm exec per change, self-contained and bounded passes', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  const execs = (r: Rig): number => r.runner.reads + r.runner.counterReads + r.runner.applies.length;

  it('in steady state a health change costs exactly one exec (the ipvsadm -R), no read before or after', async () => {
    const r = rig({ extra: { resyncIntervalMs: 30_000 } });
    await r.reconciler.start();
    assert.equal(r.runner.reads, 1, 'the kernel is read at start');
    for (const [real, state] of [[R1, 'down'], [R1, 'up'], [R2, 'down'], [R2, 'up']] as const) {
      const before = execs(r);
      r.health.set(WEB, real, state);
      r.reconciler.trigger('health');
      await advance(r, 50);
      assert.equal(execs(r) - before, 1, `${real} ${state}: one exec`);
    }
    assert.equal(r.runner.reads, 1, 'no read since start');
    assert.deepEqual(r.reconciler.stats().execs, { read: 1, counters: 0, apply: 5 });
    const last = r.published.at(-1)!;
    assert.deepEqual(plain(last.table.table!), kernel(r), 'the published model is what the kernel holds');
    assert.deepEqual(last.stats.execs, { read: 1, counters: 0, apply: 5 }, 'published with the counters of its pass');
    assert.equal(last.stats.passRunningSince, null, 'published once the pass has ended');
  });

  it('the kernel is read again once per resync interval (drift repair) and after an apply error', async () => {
    const r = rig({ extra: { resyncIntervalMs: 30_000, retryInitialMs: 1000 } });
    await r.reconciler.start();
    await advance(r, 30_000);
    assert.equal(r.runner.reads, 2, 'the resync read');
    r.runner.dropOnce = /10\.0\.0\.1/;
    r.health.set(WEB, R1, 'down');
    r.reconciler.trigger('health');
    await advance(r, 50);
    assert.equal(r.runner.reads, 3, 'an apply that reported an error is verified by a read');
    assert.equal(r.reconciler.stats().consecutiveFailures, 1);
    await advance(r, 1000);
    assert.equal(r.runner.reads, 3, 'the retry starts from what that read found');
    assert.deepEqual(kernel(r), plain(table([{ key: WEB, reals: [[R2, 20]] }])));
  });

  it('a drain reads only the connection counters while it waits', async () => {
    const r = rig({ config: [{ ...WEB_CONFIG, reals: [R3] }], extra: { drainPollMs: 1000, drainTimeoutMs: 60_000, resyncIntervalMs: 30_000 } });
    await r.reconciler.start();
    r.runner.conns.set(`${WEB} ${R3}`, [1, 0]);
    r.reconciler.setSnapshot(snapshot([{ ...WEB_CONFIG, reals: [] }]));
    await advance(r, 50);
    const reads = r.runner.reads;
    await advance(r, 1000);
    await advance(r, 1000);
    assert.equal(r.runner.reads, reads, 'no table read while draining');
    assert.ok(r.runner.counterReads >= 3);
    r.runner.conns.set(`${WEB} ${R3}`, [0, 0]);
    await advance(r, 1000);
    assert.deepEqual(r.runner.applies.at(-1), ['-d -t 192.0.2.10:80 -r 10.0.0.3:80']);
  });

  it('regression: a reload during ipvsadm -R no longer fails the pass ("IPVS table still differs after apply": verify used the new snapshot against the old plan)', async () => {
    const r = rig({ extra: { resyncIntervalMs: 30_000 } });
    await r.reconciler.start();
    // The verify read happens whenever ipvsadm reports an error: make it report one that changes nothing.
    r.runner.onApply = () => {
      r.runner.onApply = null;
      r.reconciler.setSnapshot(snapshot([{ key: WEB, reals: [{ address: R1, weight: 10 }, { address: R2, weight: 20 }, { address: R3, weight: 30 }] }]));
    };
    const realApply = r.runner.apply.bind(r.runner);
    r.runner.apply = async (lines, o) => {
      const out = await realApply(lines, o);
      return { errors: [...out.errors, 'a warning that changed nothing'] };
    };
    r.health.set(WEB, R1, 'down');
    r.reconciler.trigger('health');
    await advance(r, 50);
    const report = r.reports.at(-1)!;
    assert.equal(report.ok, true, 'judged against the config and health it applied');
    assert.equal(r.reconciler.stats().failures, 0);
    assert.equal(r.logs.filter((l) => l.msg === 'IPVS table still differs after apply; will retry').length, 0);
    await advance(r, 50);
    assert.deepEqual(r.runner.applies.at(-1), ['-a -t 192.0.2.10:80 -r 10.0.0.3:80 -m -w 30'], 'the reload is the next pass');
  });

  it('stop() aborts a hanging ipvsadm -R and a clean stop ends within its budget', async () => {
    const r = rig();
    await r.reconciler.start();
    r.runner.hang = true;
    r.health.set(WEB, R1, 'down');
    r.reconciler.trigger('health');
    mock.timers.tick(50);
    while (r.runner.applies.length < 2) await new Promise((res) => setImmediate(res));
    assert.notEqual(r.reconciler.stats().passRunningSince, null);
    const stopping = r.reconciler.stop({ clean: true, budgetMs: 5000 });
    // The running pass was aborted; the clean stop's own -D hangs too and is ended by the budget.
    while (r.runner.applies.length < 3) await new Promise((res) => setImmediate(res));
    assert.deepEqual(r.runner.applies.at(-1), ['-D -t 192.0.2.10:80']);
    assert.equal(r.reconciler.stats().passRunningSince, null);
    assert.equal(r.reports.at(-1)?.ok, false);
    assert.ok(r.logs.some((l) => l.msg === 'IPVS pass aborted by stop'));
    mock.timers.tick(5000);
    await assert.rejects(stopping, (e: unknown) => e instanceof LvsdError && e.code === 'LVSD_IPVSADM_ABORTED');
  });

  it('a pass past its deadline is aborted, counted and visible while it runs', async () => {
    const r = rig({ extra: { passDeadlineMs: 5000 } });
    await r.reconciler.start();
    r.runner.hang = true;
    r.health.set(WEB, R1, 'down');
    r.reconciler.trigger('health');
    mock.timers.tick(50);
    while (r.runner.applies.length < 2) await new Promise((res) => setImmediate(res));
    const running = r.reconciler.stats();
    assert.equal(running.passRunningSince, 1_000_050);
    assert.equal(running.passDeadlineMs, 5000);
    mock.timers.tick(5000);
    await r.reconciler.settled();
    assert.equal(r.reconciler.stats().passesOverdue, 1);
    assert.equal(r.reconciler.stats().passRunningSince, null);
    assert.equal(r.reports.at(-1)?.ok, false);
    assert.ok(r.logs.some((l) => l.msg === 'reconcile pass ran past its deadline; aborting it'));
    r.runner.hang = false;
  });
});

describe('Reconciler: drift repair is due one resync interval after the last read', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it('passes that only apply do not push the resync read back', async () => {
    const r = rig({ extra: { resyncIntervalMs: 30_000 } });
    await r.reconciler.start();
    await advance(r, 20_000);
    r.health.set(WEB, R1, 'down');
    r.reconciler.trigger('health');
    await advance(r, 50);
    assert.equal(r.runner.reads, 1, 'the change cost no read');
    r.runner.memory.restore(['-e -t 192.0.2.10:80 -r 10.0.0.2:80 -m -w 99']); // drift
    await advance(r, 9_950);
    assert.equal(r.runner.reads, 2, 'read 30 s after the last read, not 30 s after the last pass');
    assert.deepEqual(r.runner.applies.at(-1), ['-e -t 192.0.2.10:80 -r 10.0.0.2:80 -m -w 20']);
  });
});

describe('Reconciler: a lone trigger runs at once, a storm is coalesced (issue 21: reconcile latency)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  /** Let the passes that are already due run (a 0 ms timer is the next turn), without moving time. */
  const turn = (r: Rig): Promise<void> => advance(r, 0);

  it('a lone transition, no pass in the last 50 ms, is applied on the next turn instead of 50 ms later', async () => {
    const r = rig();
    await r.reconciler.start();
    await advance(r, 1000);
    const applies = r.runner.applies.length;
    r.health.set(WEB, R1, 'down');
    r.reconciler.trigger('health');
    assert.equal(r.runner.applies.length, applies, 'not inside trigger(): the triggers of the same turn are one pass');
    r.health.set(WEB, R2, 'down');
    r.reconciler.trigger('health');
    await turn(r);
    assert.equal(r.runner.applies.length, applies + 1);
    assert.deepEqual(r.runner.applies.at(-1), ['-d -t 192.0.2.10:80 -r 10.0.0.1:80', '-d -t 192.0.2.10:80 -r 10.0.0.2:80']);
    assert.equal(r.reports.at(-1)?.at, 1_001_000, 'begun without moving the clock');
    await advance(r, 1000);
    assert.equal(r.runner.applies.length, applies + 1, 'and nothing more');
  });

  it('a storm of transitions: the first applied at once, the rest of the 50 ms window in one more pass', async () => {
    const r = rig({ config: [{ key: WEB, reals: [R1, R2, R3] }] });
    await r.reconciler.start();
    await advance(r, 1000);
    const applies = r.runner.applies.length;
    r.health.set(WEB, R1, 'down');
    r.reconciler.trigger('health');
    await turn(r);
    assert.equal(r.runner.applies.length, applies + 1);
    for (const [real, state] of [[R2, 'down'], [R3, 'down'], [R3, 'up']] as const) {
      await advance(r, 10);
      r.health.set(WEB, real, state);
      r.reconciler.trigger('health');
    }
    await advance(r, 19);
    assert.equal(r.runner.applies.length, applies + 1, 'no second pass inside the window of the first');
    await advance(r, 1);
    assert.equal(r.runner.applies.length, applies + 2);
    assert.deepEqual(r.runner.applies.at(-1), ['-d -t 192.0.2.10:80 -r 10.0.0.2:80']);
    assert.equal(r.reports.at(-1)?.at, 1_001_050);
    await advance(r, 1000);
    assert.equal(r.runner.applies.length, applies + 2, 'the storm cost two passes');
  });

  it('triggers during a pass longer than the window run one pass as soon as it ends, not a window later', async () => {
    const r = rig();
    await r.reconciler.start();
    await advance(r, 1000);
    let open!: () => void;
    r.runner.gate = new Promise<void>((res) => (open = res));
    r.health.set(WEB, R1, 'down');
    r.reconciler.trigger('health');
    const before = r.runner.applies.length;
    // The gate holds the pass (and settled()): start it, and wait for its ipvsadm -R to begin.
    mock.timers.tick(0);
    for (let i = 0; i < 100 && r.runner.applies.length === before; i++) await new Promise((res) => setImmediate(res));
    assert.equal(r.runner.applies.length, before + 1, 'begun on the next turn');
    const applies = r.runner.applies.length;
    r.health.set(WEB, R2, 'down');
    r.reconciler.trigger('health');
    r.reconciler.trigger('admin');
    mock.timers.tick(80);
    assert.equal(r.runner.applies.length, applies, 'one pass at a time');
    r.runner.gate = null;
    open();
    await r.reconciler.settled();
    await turn(r);
    assert.equal(r.runner.applies.length, applies + 1);
    assert.deepEqual(r.runner.applies.at(-1), ['-d -t 192.0.2.10:80 -r 10.0.0.2:80']);
    assert.equal(r.reports.at(-1)?.at, 1_001_080, 'begun when the long pass ended');
    assert.deepEqual(r.reports.at(-1)?.reasons, ['health', 'admin']);
    await advance(r, 1000);
    assert.equal(r.runner.applies.length, applies + 1, 'exactly one more pass');
  });

  it('a trigger outside the window still waits for the backoff of a broken runner', async () => {
    const r = rig({ extra: { retryInitialMs: 1000 } });
    r.runner.broken = new LvsdError('LVSD_IPVSADM_MISSING', 'ipvsadm not found at /usr/sbin/ipvsadm');
    await r.reconciler.start();
    assert.equal(r.runner.reads, 1);
    await advance(r, 100);
    r.reconciler.trigger('health');
    await turn(r);
    await advance(r, 899);
    assert.equal(r.runner.reads, 1, 'not before the backoff');
    await advance(r, 1);
    assert.equal(r.runner.reads, 2);
  });
});
