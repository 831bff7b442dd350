// KernelView: one kernel read per maxAgeMs shared by concurrent callers; failures become state, not throws.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IpvsRunner, TableCounters } from '../../src/ipvs/model.js';
import { KernelView } from '../../src/observe/kernel-view.js';
import type { TableStats } from '../../src/ipvs/model.js';
import { table } from '../helpers/reconcile-fixtures.js';

class CountingRunner implements IpvsRunner {
  reads = 0;
  counterReads = 0;
  failCounters = false;
  release: (() => void) | null = null;
  gate: Promise<void> | null = null;
  async read() {
    this.reads++;
    if (this.gate) await this.gate;
    return table([{ key: 'tcp:192.0.2.10:80', reals: [['10.0.0.1:80', 5]] }]);
  }
  async counters(): Promise<TableCounters> {
    this.counterReads++;
    if (this.failCounters) throw new Error('ipvsadm -Ln: exit status 2');
    return new Map();
  }
  async apply() {
    return { errors: [] };
  }
  async stats() {
    return new Map();
  }
}

describe('KernelView', () => {
  it('serves one read for maxAgeMs and reads again after', async () => {
    let now = 1000;
    const runner = new CountingRunner();
    const view = new KernelView({ runner, maxAgeMs: 5000, now: () => now });
    assert.equal(view.last.at, null);
    const first = await view.get();
    assert.equal(first.at, 1000);
    assert.equal(first.table?.services.get('tcp:192.0.2.10:80')?.reals.get('10.0.0.1:80')?.weight, 5);
    now = 5999;
    assert.equal(await view.get(), first);
    assert.equal(runner.reads, 1);
    now = 6000;
    await view.get();
    assert.equal(runner.reads, 2);
    view.invalidate();
    await view.get();
    assert.equal(runner.reads, 3);
  });

  it('shares one read among concurrent callers', async () => {
    const runner = new CountingRunner();
    runner.gate = new Promise((resolve) => (runner.release = resolve));
    const view = new KernelView({ runner });
    const a = view.get();
    const b = view.get();
    runner.release!();
    assert.equal(await a, await b);
    assert.equal(runner.reads, 1);
  });

  it('keeps what could be read and names what could not', async () => {
    const runner = new CountingRunner();
    runner.failCounters = true;
    const stats: TableStats = new Map();
    const view = new KernelView({ runner, readStats: async () => stats });
    const k = await view.get();
    assert.notEqual(k.table, null);
    assert.equal(k.counters, null);
    assert.equal(k.stats, stats);
    assert.equal(k.error, 'connection counters: ipvsadm -Ln: exit status 2');
  });

  it('has no stats and no error without a stats reader', async () => {
    const k = await new KernelView({ runner: new CountingRunner() }).get();
    assert.equal(k.stats, null);
    assert.equal(k.error, null);
  });
});

describe('KernelView with the reconciler model', () => {
  it('never reads the table: it serves the model as it is now, and counters at most once per maxAgeMs', async () => {
    let now = 1000;
    const runner = new CountingRunner();
    let model = table([{ key: 'tcp:192.0.2.10:80', reals: [['10.0.0.1:80', 5]] }]);
    const view = new KernelView({ runner, maxAgeMs: 5000, now: () => now, model: () => ({ table: model }) });
    const first = await view.get();
    assert.equal(first.table, model);
    model = table([{ key: 'tcp:192.0.2.10:80', reals: [['10.0.0.1:80', 0]] }]);
    now = 2000;
    const second = await view.get();
    assert.equal(second.table, model, 'a change applied since shows at once');
    for (let i = 0; i < 10; i++) await view.get();
    assert.deepEqual([runner.reads, runner.counterReads], [0, 1]);
  });
});
