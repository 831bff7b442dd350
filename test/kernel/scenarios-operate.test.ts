// lvsd against the real kernel IPVS, operating side: slow start (a revived real ramps its kernel
// weight in steps, each seen in the kernel table) and quorum with sorry servers (a service whose
// healthy weight falls below `quorum` serves its sorry server, the healthy real stays at weight 0
// beside it, and quorum regained takes the sorry server out again).
//
// One daemon serves the file; the scenarios run in order, each leaving every realserver alive.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { httpUrl } from './lib/client.js';
import { Daemon, startDaemon } from './lib/daemon.js';
import { skipOutsideVm } from './lib/exec.js';
import { deleteService, waitForTable } from './lib/ipvsadm.js';
import type { Table } from './lib/ipvsadm.js';
import { appliedPasses, globalConfig, hasReals, linesFor, START_WAIT, TableRecorder, waitForTransition } from './lib/scenario.js';
import type { ManagedProcess } from './lib/servers.js';
import { Topology } from './lib/topology.js';

const TIMEOUT = { timeout: 240_000 };
const WAIT = 60_000;
const rip = (n: number): string => `10.10.${n}.2:80`;
const SORRY = '10.10.3.2:80';
const VIP = { ramp: '10.20.0.41', quorum: '10.20.0.42' } as const;
type Name = keyof typeof VIP;
const key = (name: Name): string => `tcp:${VIP[name]}:80`;
const vport = (name: Name): string => `${VIP[name]}:80`;

describe('lvsd scenarios: slow start and quorum (kernel IPVS)', { skip: skipOutsideVm }, () => {
  let topo: Topology;
  let daemon: Daemon;
  const http = new Map<string, ManagedProcess>();
  const server = (name: string): ManagedProcess => {
    const p = http.get(name);
    assert.ok(p, `http server ${name}`);
    return p;
  };
  const allUp = (t: Table): boolean =>
    hasReals(t, key('ramp'), [[rip(1), 100], [rip(2), 100]]) && hasReals(t, key('quorum'), [[rip(1), 1], [rip(2), 1]]);

  before(async () => {
    topo = await Topology.create({ reals: 3 });
    const procs = await Promise.all([topo.startHttp('rs1'), topo.startHttp('rs2'), topo.startHttp('rs3', { name: 'sorry' })]);
    ['rs1', 'rs2', 'sorry'].forEach((name, i) => http.set(name, procs[i] as ManagedProcess));
    for (const vip of Object.values(VIP)) await topo.addVip(vip);
    daemon = await startDaemon({
      global: globalConfig(),
      services: {
        // 4 steps of 6 s: long enough for every step to be sampled under TCG.
        ramp: { name: 'ramp', address: vport('ramp'), slow_start: '24s', reals: [{ address: rip(1), weight: 100 }, { address: rip(2), weight: 100 }] },
        quorum: { name: 'quorum', address: vport('quorum'), quorum: 2, reals: [{ address: rip(1) }, { address: rip(2) }], sorry: [{ address: SORRY }] },
      },
    });
  }, { timeout: 300_000 });

  after(async () => {
    try {
      if (daemon?.running) await daemon.kill();
      for (const name of Object.keys(VIP) as Name[]) await deleteService(key(name));
    } finally {
      await topo?.teardown();
    }
  }, TIMEOUT);

  it('starts at full weight (a new service ramps nothing)', { timeout: 300_000 }, async () => {
    await daemon.waitForMessage('first check round in', START_WAIT);
    await waitForTable(allUp, WAIT);
    assert.equal(daemon.logs.filter((l) => l['event'] === 'slow_start').length, 0);
  });

  it('a revived real ramps 10 -> 33 -> 55 -> 78 -> 100 in the kernel table, one pass per step', TIMEOUT, async () => {
    const d = daemon;
    await server('rs2').kill();
    await waitForTable((t) => hasReals(t, key('ramp'), [[rip(1), 100]]), WAIT);
    const recorder = new TableRecorder();
    const revivedAt = d.mark();
    await server('rs2').revive();
    await waitForTransition(d, { service: 'ramp', real: rip(2), from: 'down', to: 'up' }, WAIT, revivedAt);
    await waitForTable((t) => hasReals(t, key('ramp'), [[rip(1), 100], [rip(2), 100]]), WAIT);
    const seen = await recorder.stop();
    const weights = seen
      .map((t) => t.byKey.get(key('ramp'))?.reals.find((r) => r.address === rip(2))?.weight)
      .filter((w): w is number => w !== undefined)
      .filter((w, i, all) => i === 0 || all[i - 1] !== w);
    assert.deepEqual(weights, [10, 33, 55, 78, 100], 'every step seen in the kernel table, in order');
    const steps = linesFor(
      appliedPasses(d, revivedAt).flatMap((p) => p.lines),
      vport('ramp'),
    );
    assert.deepEqual(steps, [
      `-a -t ${vport('ramp')} -r ${rip(2)} -m -w 10`,
      `-e -t ${vport('ramp')} -r ${rip(2)} -m -w 33`,
      `-e -t ${vport('ramp')} -r ${rip(2)} -m -w 55`,
      `-e -t ${vport('ramp')} -r ${rip(2)} -m -w 78`,
      `-e -t ${vport('ramp')} -r ${rip(2)} -m -w 100`,
    ]);
    const ramps = appliedPasses(d, revivedAt).filter((p) => linesFor(p.lines, vport('ramp')).length > 0);
    assert.ok(ramps.slice(1).every((p) => p.reasons.includes('slow-start')), JSON.stringify(ramps.map((p) => p.reasons)));
    // rs1 was never touched.
    assert.deepEqual(steps.filter((l) => l.includes(rip(1))), []);
  });

  it('quorum 2 of weights 1+1: one real down is quorum lost, the sorry server answers; back: sorry out', TIMEOUT, async () => {
    const d = daemon;
    await waitForTable(allUp, WAIT);
    const killedAt = d.mark();
    await server('rs2').kill();
    await d.waitForLog((l) => l['event'] === 'quorum_down' && l['service'] === 'quorum', WAIT, killedAt);
    await d.waitForLog((l) => l['event'] === 'sorry_on' && l['service'] === 'quorum', WAIT, killedAt);
    // rs1 is healthy but below quorum: kept at weight 0 beside the sorry server.
    await waitForTable((t) => hasReals(t, key('quorum'), [[rip(1), 0], [SORRY, 1]]), WAIT);
    assert.deepEqual(await topo.client.whoAnswersMany(httpUrl(VIP.quorum), 3), ['sorry', 'sorry', 'sorry']);

    const revivedAt = d.mark();
    await server('rs2').revive();
    await d.waitForLog((l) => l['event'] === 'quorum_up' && l['service'] === 'quorum', WAIT, revivedAt);
    await d.waitForLog((l) => l['event'] === 'sorry_off' && l['service'] === 'quorum', WAIT, revivedAt);
    await waitForTable((t) => hasReals(t, key('quorum'), [[rip(1), 1], [rip(2), 1]]), WAIT);
    const names = await topo.client.whoAnswersMany(httpUrl(VIP.quorum), 4);
    assert.deepEqual(new Set(names), new Set(['rs1', 'rs2']), `answers: ${names.join(' ')}`);
  });
});
