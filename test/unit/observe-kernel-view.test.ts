// KernelView: one kernel read per maxAgeMs shared by concurrent callers; failures become state, not throws.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IpvsRunner, TableCounters } from '../../src/ipvs/model.js';
import { KernelView } from '../../src/observe/kernel-view.js';
import { parseProcIpVs } from '../../src/ipvs/proc-conns.js';
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

  it('takes connection counters from /proc/net/ip_vs when it lists every service of the model: no ipvsadm run', async () => {
    const runner = new CountingRunner();
    const model = table([{ key: 'tcp:192.0.2.10:80', reals: [['10.0.0.11:80', 1]] }]);
    const proc = parseProcIpVs(PROC_SAMPLE);
    const view = new KernelView({ runner, model: () => ({ table: model }), readConnections: async () => proc });
    const k = await view.get();
    assert.equal(k.counters?.get('tcp:192.0.2.10:80')?.get('10.0.0.11:80')?.activeConns, 3);
    assert.deepEqual([runner.counterReads, view.procReads], [0, 1]);
  });

  it('runs ipvsadm for the counters when /proc misses a service of the model, or cannot be read', async () => {
    const model = table([{ key: 'tcp:192.0.2.99:80', reals: [['10.0.0.1:80', 1]] }]);
    const missing = new CountingRunner();
    const view = new KernelView({ runner: missing, model: () => ({ table: model }), readConnections: async () => parseProcIpVs(PROC_SAMPLE) });
    await view.get();
    assert.deepEqual([missing.counterReads, view.procReads], [1, 0]);
    const unreadable = new CountingRunner();
    const view2 = new KernelView({ runner: unreadable, model: () => ({ table: model }), readConnections: () => Promise.reject(new Error('ENOENT')) });
    assert.equal((await view2.get()).error, null);
    assert.equal(unreadable.counterReads, 1);
  });
});

/** /proc/net/ip_vs as the kernel prints it (ip_vs_ctl.c ip_vs_info_seq_show): hex addresses and ports. */
const PROC_SAMPLE = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port Forward Weight ActiveConn InActConn
TCP  C000020A:0050 wlc 
  -> 0A00000C:0050      Route   0      0          4         
  -> 0A00000B:0050      Masq    1      3          12        
UDP  [2001:0db8:0000:0000:0000:0000:0000:0035]:0035 rr 
  -> [2001:0db8:0000:0000:0000:0000:0000:0011]:0035      Route   1      0          7         
TCP  C000020B:01BB wlc persistent 300 FFFFFFFF
FWM  0000000C wlc persistent 300 FFFFFFFF
  -> 0A000015:0000      Route   1      2          0         
FWM  0000000D sh 
  -> [2001:0db8:0000:0000:0000:0000:0000:0021]:0000      Route   1      1          1         
FWM  0000000E rr 
`;

describe('/proc/net/ip_vs', () => {
  it('gives active and inactive connections per service and real, keyed as everywhere else', () => {
    const c = parseProcIpVs(PROC_SAMPLE);
    assert.deepEqual([...c.keys()], ['tcp:192.0.2.10:80', 'udp:[2001:db8::35]:53', 'tcp:192.0.2.11:443', 'fwmark:12:v4', 'fwmark:13:v6']);
    assert.deepEqual(c.get('tcp:192.0.2.10:80')?.get('10.0.0.11:80'), { activeConns: 3, inactiveConns: 12, persistentConns: 0 });
    assert.deepEqual(c.get('tcp:192.0.2.10:80')?.get('10.0.0.12:80'), { activeConns: 0, inactiveConns: 4, persistentConns: 0 });
    assert.equal(c.get('udp:[2001:db8::35]:53')?.get('[2001:db8::11]:53')?.inactiveConns, 7);
    assert.equal(c.get('tcp:192.0.2.11:443')?.size, 0);
    // A fwmark's family comes from its reals; a real without a port is keyed without one.
    assert.equal(c.get('fwmark:12:v4')?.get('10.0.0.21')?.activeConns, 2);
    assert.equal(c.get('fwmark:13:v6')?.get('[2001:db8::21]')?.activeConns, 1);
  });

  it('refuses what it does not understand, so the caller runs ipvsadm instead', () => {
    assert.throws(() => parseProcIpVs('IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\nTCP  nothex:0050 wlc\n'), /LVSD_IPVS_PARSE|bad virtual service/);
    assert.throws(() => parseProcIpVs('TCP  C000020A:0050 wlc\n'), /no header/);
  });
});
