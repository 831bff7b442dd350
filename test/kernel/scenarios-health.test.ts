// lvsd against the real kernel IPVS, health side: a start with dead reals never adds them; a
// killed real leaves after `fall` failures and comes back after `rise` successes; with every real
// dead the sorry server answers the client, and leaves when one real is back; a quiescent service
// keeps a dead real at weight 0. Each scenario asserts the kernel table, the ipvsadm lines the
// daemon applied, and who answered the client through the VIP.
//
// One daemon serves the whole file (a daemon start costs 15-45 s of emulated CPU), with one
// service per scenario; the scenarios run in order, each leaving every realserver alive.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { httpUrl } from './lib/client.js';
import { Daemon, startDaemon } from './lib/daemon.js';
import { skipOutsideVm } from './lib/exec.js';
import { deleteService, readTable, waitForTable } from './lib/ipvsadm.js';
import type { Table } from './lib/ipvsadm.js';
import {
  appliedLines,
  appliedPasses,
  assertNoErrors,
  globalConfig,
  hasReals,
  indexOfMessage,
  linesFor,
  START_WAIT,
  stopDaemon,
  TableRecorder,
  waitForTransition,
} from './lib/scenario.js';
import type { ManagedProcess } from './lib/servers.js';
import { Topology } from './lib/topology.js';

const TIMEOUT = { timeout: 240_000 };
const WAIT = 60_000;

/** Kernel key of realserver N on port 80: "10.10.2.2:80". */
const rip = (n: number): string => `10.10.${n}.2:80`;
const SORRY = '10.10.4.2:80';

const VIP = { startdead: '10.20.0.21', killrevive: '10.20.0.22', sorry: '10.20.0.23', quiet: '10.20.0.24' } as const;
type Name = keyof typeof VIP;
const key = (name: Name): string => `tcp:${VIP[name]}:80`;
const vport = (name: Name): string => `${VIP[name]}:80`;

describe('lvsd scenarios: health (kernel IPVS)', { skip: skipOutsideVm }, () => {
  let topo: Topology;
  let daemon: Daemon;
  let startRecorder: TableRecorder;
  const http = new Map<string, ManagedProcess>();

  const server = (name: string): ManagedProcess => {
    const p = http.get(name);
    assert.ok(p, `http server ${name}`);
    return p;
  };
  const reviveAll = async (): Promise<void> => {
    await Promise.all(['rs1', 'rs2', 'rs3'].map((n) => (server(n).running ? undefined : server(n).revive())));
  };
  /** Every realserver up and every service at its full table (the state each scenario starts from). */
  const allUp = (t: Table): boolean =>
    hasReals(t, key('startdead'), [[rip(1), 1], [rip(2), 1], [rip(3), 1]]) &&
    hasReals(t, key('killrevive'), [[rip(1), 1], [rip(2), 1], [rip(3), 1]]) &&
    hasReals(t, key('sorry'), [[rip(1), 1], [rip(2), 1]]) &&
    hasReals(t, key('quiet'), [[rip(1), 1], [rip(3), 3]]);

  before(async () => {
    topo = await Topology.create({ reals: 4 });
    // rs1..rs3 are the realservers; rs4 hosts the sorry server, which answers "hello from sorry".
    const procs = await Promise.all([
      topo.startHttp('rs1'),
      topo.startHttp('rs2'),
      topo.startHttp('rs3'),
      topo.startHttp('rs4', { name: 'sorry' }),
    ]);
    ['rs1', 'rs2', 'rs3', 'sorry'].forEach((name, i) => http.set(name, procs[i] as ManagedProcess));
    for (const vip of Object.values(VIP)) await topo.addVip(vip);
    // The first scenario is the start itself: rs2 and rs3 are dead when lvsd starts.
    await Promise.all([server('rs2').kill(), server('rs3').kill()]);
    startRecorder = new TableRecorder();
    const three = [1, 2, 3].map((n) => ({ address: rip(n) }));
    daemon = await startDaemon({
      global: globalConfig(),
      services: {
        startdead: { name: 'startdead', address: vport('startdead'), reals: three },
        killrevive: { name: 'killrevive', address: vport('killrevive'), reals: three },
        sorry: { name: 'sorry', address: vport('sorry'), reals: [{ address: rip(1) }, { address: rip(2) }], sorry: [{ address: SORRY }] },
        quiet: { name: 'quiet', address: vport('quiet'), quiescent: true, reals: [{ address: rip(1) }, { address: rip(3), weight: 3 }] },
      },
    });
  }, { timeout: 300_000 });

  after(async () => {
    try {
      await startRecorder?.stop();
      if (daemon?.running) await daemon.kill();
      for (const name of Object.keys(VIP) as Name[]) await deleteService(key(name));
    } finally {
      await topo?.teardown();
    }
  }, TIMEOUT);

  it('starts with 2 of 3 reals dead: only the live one is ever added; the others come back after rise', { timeout: 300_000 }, async () => {
    await daemon.waitForMessage('first check round in', START_WAIT);
    const initial = (t: Table): boolean =>
      hasReals(t, key('startdead'), [[rip(1), 1]]) &&
      hasReals(t, key('killrevive'), [[rip(1), 1]]) &&
      hasReals(t, key('sorry'), [[rip(1), 1]]) &&
      hasReals(t, key('quiet'), [[rip(1), 1], [rip(3), 0]]); // quiescent: a down real sits at weight 0
    await waitForTable(initial, WAIT);
    assert.deepEqual(await topo.client.whoAnswersMany(httpUrl(VIP.startdead), 3), ['rs1', 'rs1', 'rs1']);

    // The first results decided at once (rs1 up, rs2 and rs3 down), all before anything was applied.
    const d = daemon;
    const first = indexOfMessage(d, 'first check round in');
    for (const [n, to] of [[1, 'up'], [2, 'down'], [3, 'down']] as const) {
      const t = d.logs.findIndex((l) => l['event'] === 'health_transition' && l['service'] === 'startdead' && l['real'] === rip(n));
      assert.ok(t >= 0 && t < first, `first result of ${rip(n)} before the first pass`);
      assert.equal(d.logs[t]?.['from'], 'unknown');
      assert.equal(d.logs[t]?.['to'], to);
    }
    const passes = appliedPasses(d);
    assert.ok(passes.length > 0 && (passes[0]?.index ?? -1) > first, 'nothing applied before the first check round');

    // Never added while dead: no applied line named rs2 or rs3 (except the quiescent weight-0
    // entry), and no table sampled from before the daemon started until now showed them.
    const lines = appliedLines(d);
    const touching = (n: number): string[] => lines.filter((l) => l.includes(` -r ${rip(n)}`));
    assert.deepEqual(touching(2), []);
    assert.deepEqual(touching(3), [`-a -t ${vport('quiet')} -r ${rip(3)} -m -w 0`]);
    const seen = await startRecorder.stop();
    assert.ok(seen.some((t) => t.byKey.has(key('startdead'))), `the recorder saw the table (${startRecorder.readCount} reads)`);
    for (const t of seen) {
      for (const name of ['startdead', 'killrevive', 'sorry'] as const) {
        // ipvsadm -R applies line by line, so a read can fall between a service's -A and its -a:
        // an empty service is a real state then; a dead real in it never is.
        const reals = t.byKey.get(key(name))?.reals.map((r) => r.address) ?? [];
        assert.ok(reals.every((r) => r === rip(1)), `${name} showed ${reals.join(', ')}`);
      }
      const quiet = t.byKey.get(key('quiet'))?.reals.find((r) => r.address === rip(3));
      assert.ok(quiet === undefined || quiet.weight === 0, 'the dead quiescent real never had a weight');
    }

    // Revive the dead ones: each comes back after `rise` (2) successes, with one add (an edit for
    // the quiescent one).
    const revivedAt = d.mark();
    await Promise.all([server('rs2').revive(), server('rs3').revive()]);
    for (const n of [2, 3]) {
      const { line } = await waitForTransition(d, { service: 'startdead', real: rip(n), from: 'down', to: 'up' }, WAIT, revivedAt);
      assert.match(String(line['reason']), /^2 consecutive successes \(rise 2\)/);
    }
    await waitForTable(allUp, WAIT);
    assert.deepEqual(
      linesFor(appliedLines(d, revivedAt), vport('startdead')).sort(),
      [2, 3].map((n) => `-a -t ${vport('startdead')} -r ${rip(n)} -m -w 1`),
    );
    assert.deepEqual(linesFor(appliedLines(d, revivedAt), vport('quiet')), [`-e -t ${vport('quiet')} -r ${rip(3)} -m -w 3`]);
    const names = await topo.client.whoAnswersMany(httpUrl(VIP.startdead), 6);
    assert.deepEqual(new Set(names), new Set(['rs1', 'rs2', 'rs3']), `answers: ${names.join(' ')}`);
  });

  it('kills a real: removed after `fall` failures; revived: back after `rise` successes', TIMEOUT, async () => {
    const d = daemon;
    const vip = vport('killrevive');
    try {
      await waitForTable(allUp, WAIT);
      const killedAt = d.mark();
      await server('rs3').kill();
      const down = await waitForTransition(d, { service: 'killrevive', real: rip(3), from: 'up', to: 'down' }, WAIT, killedAt);
      assert.match(String(down.line['reason']), /^2 consecutive failures \(fall 2\)/);
      await waitForTable((t) => hasReals(t, key('killrevive'), [[rip(1), 1], [rip(2), 1]]), WAIT);
      // One delete of the real (not of the service), applied after the down transition.
      const removal = appliedPasses(d, killedAt).filter((p) => linesFor(p.lines, vip).length > 0);
      assert.deepEqual(removal.flatMap((p) => linesFor(p.lines, vip)), [`-d -t ${vip} -r ${rip(3)}`]);
      assert.ok((removal[0]?.index ?? -1) > down.index, 'delete applied after the down transition');
      const names = await topo.client.whoAnswersMany(httpUrl(VIP.killrevive), 4);
      assert.deepEqual(new Set(names), new Set(['rs1', 'rs2']), `answers: ${names.join(' ')}`);

      const revivedAt = d.mark();
      await server('rs3').revive();
      const up = await waitForTransition(d, { service: 'killrevive', real: rip(3), from: 'down', to: 'up' }, WAIT, revivedAt);
      assert.match(String(up.line['reason']), /^2 consecutive successes \(rise 2\)/);
      await waitForTable(allUp, WAIT);
      assert.deepEqual(linesFor(appliedLines(d, revivedAt), vip), [`-a -t ${vip} -r ${rip(3)} -m -w 1`]);
      const again = await topo.client.whoAnswersMany(httpUrl(VIP.killrevive), 6);
      assert.deepEqual(new Set(again), new Set(['rs1', 'rs2', 'rs3']), `answers: ${again.join(' ')}`);
      // rs1 and rs2 were never touched after their first add.
      for (const n of [1, 2]) assert.equal(linesFor(appliedLines(d), vip).filter((l) => l.includes(` -r ${rip(n)}`)).length, 1);
    } finally {
      await reviveAll();
    }
  });

  it('kills every real: the sorry server serves the client; one revived real: sorry gone', TIMEOUT, async () => {
    const d = daemon;
    const vip = vport('sorry');
    try {
      await waitForTable(allUp, WAIT);
      assert.deepEqual(linesFor(appliedLines(d), vip).filter((l) => l.includes(SORRY)), [], 'no sorry server while reals are up');

      const killedAt = d.mark();
      await Promise.all([server('rs1').kill(), server('rs2').kill()]);
      for (const n of [1, 2]) await waitForTransition(d, { service: 'sorry', real: rip(n), to: 'down' }, WAIT, killedAt);
      await waitForTable((t) => hasReals(t, key('sorry'), [[SORRY, 1]]), WAIT);
      assert.deepEqual(await topo.client.whoAnswersMany(httpUrl(VIP.sorry), 2), ['sorry', 'sorry']);
      // Capacity in before capacity out: the sorry server was added before the last real's delete.
      const lines = linesFor(appliedLines(d, killedAt), vip);
      const addSorry = lines.indexOf(`-a -t ${vip} -r ${SORRY} -m -w 1`);
      assert.ok(addSorry >= 0, `sorry server added: ${JSON.stringify(lines)}`);
      const lastDelete = Math.max(...[1, 2].map((n) => lines.indexOf(`-d -t ${vip} -r ${rip(n)}`)));
      assert.ok(lastDelete > addSorry, `sorry added before the last real left: ${JSON.stringify(lines)}`);

      const revivedAt = d.mark();
      await server('rs2').revive();
      await waitForTransition(d, { service: 'sorry', real: rip(2), from: 'down', to: 'up' }, WAIT, revivedAt);
      await waitForTable((t) => hasReals(t, key('sorry'), [[rip(2), 1]]), WAIT);
      assert.deepEqual(await topo.client.whoAnswersMany(httpUrl(VIP.sorry), 2), ['rs2', 'rs2']);
      // One pass: the real in first, then the sorry server out.
      const back = appliedPasses(d, revivedAt).filter((p) => linesFor(p.lines, vip).length > 0);
      assert.equal(back.length, 1, JSON.stringify(back));
      assert.deepEqual(linesFor(back[0]?.lines ?? [], vip), [`-a -t ${vip} -r ${rip(2)} -m -w 1`, `-d -t ${vip} -r ${SORRY}`]);
    } finally {
      await reviveAll();
    }
  });

  it('keeps a dead real of a quiescent service at weight 0 instead of removing it', TIMEOUT, async () => {
    const d = daemon;
    const vip = vport('quiet');
    try {
      await waitForTable(allUp, WAIT);
      const killedAt = d.mark();
      await server('rs3').kill();
      await waitForTransition(d, { service: 'quiet', real: rip(3), from: 'up', to: 'down' }, WAIT, killedAt);
      await waitForTable((t) => hasReals(t, key('quiet'), [[rip(1), 1], [rip(3), 0]]), WAIT);
      assert.deepEqual(linesFor(appliedLines(d, killedAt), vip), [`-e -t ${vip} -r ${rip(3)} -m -w 0`]);
      assert.deepEqual(await topo.client.whoAnswersMany(httpUrl(VIP.quiet), 3), ['rs1', 'rs1', 'rs1']);

      const revivedAt = d.mark();
      await server('rs3').revive();
      await waitForTransition(d, { service: 'quiet', real: rip(3), from: 'down', to: 'up' }, WAIT, revivedAt);
      await waitForTable((t) => hasReals(t, key('quiet'), [[rip(1), 1], [rip(3), 3]]), WAIT);
      assert.deepEqual(linesFor(appliedLines(d, revivedAt), vip), [`-e -t ${vip} -r ${rip(3)} -m -w 3`]);
      const names = await topo.client.whoAnswersMany(httpUrl(VIP.quiet), 4);
      assert.ok(names.includes('rs3'), `rs3 answers again: ${names.join(' ')}`);
      // Never deleted: over the whole run, rs3 of the quiescent service had one add and edits only.
      const rs3 = linesFor(appliedLines(d), vip).filter((l) => l.includes(` -r ${rip(3)}`));
      assert.equal(rs3.filter((l) => !l.startsWith('-e ')).length, 1, JSON.stringify(rs3));
      assert.ok(rs3[0]?.startsWith('-a '));
    } finally {
      await reviveAll();
    }
  });

  it('removes every managed service on a clean stop', TIMEOUT, async () => {
    assertNoErrors(daemon);
    await stopDaemon(daemon);
    const table = await readTable();
    for (const name of Object.keys(VIP) as Name[]) assert.equal(table.byKey.has(key(name)), false, `${name} removed`);
  });
});
