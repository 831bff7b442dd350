// lvsd against the real kernel IPVS, admin side, driven by the real CLI over the control socket:
// `lvsd drain` sets a real to weight 0 while a live TCP connection through the VIP keeps working
// (and the real stays in the table when idle: drain is not removal); `lvsd disable --real IP`
// takes that host out of every service (removed once idle, long before drain_timeout);
// `lvsd enable --real IP` brings it back in every service.
//
// One daemon serves the file; the scenarios run in order. Each CLI call is a node start (seconds
// of emulated CPU), so there are three of them, each with --socket (no config to load).

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { httpUrl } from './lib/client.js';
import { Daemon, lvsdBin, startDaemon } from './lib/daemon.js';
import { pollUntil, run, skipOutsideVm } from './lib/exec.js';
import { deleteService, readCounters, readTable, waitForTable } from './lib/ipvsadm.js';
import { appliedLines, globalConfig, hasReals, listenPort, metric, START_WAIT, waitForPasses } from './lib/scenario.js';
import { Topology } from './lib/topology.js';

const TIMEOUT = { timeout: 240_000 };
const WAIT = 60_000;
const host = (n: number): string => `10.10.${n}.2`;
const rip = (n: number): string => `${host(n)}:80`;
const VIP = { web: '10.20.0.51', api: '10.20.0.52' } as const;
type Name = keyof typeof VIP;
const key = (name: Name): string => `tcp:${VIP[name]}:80`;
const vport = (name: Name): string => `${VIP[name]}:80`;

describe('lvsd scenarios: drain, disable, enable over the control socket (kernel IPVS)', { skip: skipOutsideVm }, () => {
  let topo: Topology;
  let daemon: Daemon;
  // drain_timeout far away: a real in maint that leaves does so because it went idle.
  const global = globalConfig({ drain_timeout: '10m' });
  const port = listenPort(global);
  let gone = 1;
  let stays = 2;
  const lvsd = async (...args: string[]): Promise<string> => {
    const r = await run(process.execPath, [lvsdBin, args[0]!, '--socket', join(daemon.configDir, 'control.sock'), ...args.slice(1)], { timeoutMs: 180_000 });
    return r.stdout;
  };

  before(async () => {
    topo = await Topology.create({ reals: 2 });
    await topo.startHttpOnAll();
    for (const vip of Object.values(VIP)) await topo.addVip(vip);
    daemon = await startDaemon({
      global,
      services: {
        web: { name: 'web', address: vport('web'), reals: [{ address: rip(1) }, { address: rip(2) }] },
        api: { name: 'api', address: vport('api'), reals: [{ address: rip(1) }, { address: rip(2) }] },
      },
    }, { label: 'lvsd-admin' });
  }, { timeout: 300_000 });

  after(async () => {
    try {
      if (daemon?.running) await daemon.kill();
      for (const name of Object.keys(VIP) as Name[]) await deleteService(key(name));
    } finally {
      await topo?.teardown();
    }
  }, TIMEOUT);

  it('starts with both reals in both services', { timeout: 300_000 }, async () => {
    await daemon.waitForMessage('first check round in', START_WAIT);
    await waitForTable((t) => hasReals(t, key('web'), [[rip(1), 1], [rip(2), 1]]) && hasReals(t, key('api'), [[rip(1), 1], [rip(2), 1]]), WAIT);
  });

  it('lvsd drain: weight 0 in the kernel, a live TCP connection through the VIP keeps working, the idle real stays', TIMEOUT, async () => {
    const d = daemon;
    const session = await topo.client.openSession(httpUrl(VIP.web));
    gone = session.servedBy === 'rs1' ? 1 : 2;
    stays = 3 - gone;
    assert.equal((await readCounters()).get(key('web'))?.get(rip(gone))?.activeConns, 1);

    const at = d.mark();
    assert.equal(await lvsd('drain', 'web', rip(gone)), `web ${rip(gone)}: ready -> drain\n`);
    await waitForTable((t) => hasReals(t, key('web'), [[rip(gone), 0], [rip(stays), 1]]), WAIT);
    assert.deepEqual(appliedLines(d, at), [`-e -t ${vport('web')} -r ${rip(gone)} -m -w 0`]);
    const change = await d.waitForLog((l) => l['event'] === 'admin_change' && l['real'] === rip(gone), WAIT, at);
    assert.match(String(change['cause']), /^operator socket uid 0 \(root, pid \d+\)$/);

    // The connection survives: same TCP connection, same realserver, still answering.
    for (let i = 0; i < 2; i++) {
      const reply = await topo.client.sessionGet(session);
      assert.equal(reply.servedBy, `rs${gone}`);
      assert.equal(reply.reused, true, 'the request went over the same connection');
      assert.equal(reply.localPort, session.localPort);
    }
    // New connections go to the other real; api is untouched.
    assert.deepEqual(await topo.client.whoAnswersMany(httpUrl(VIP.web), 3), [`rs${stays}`, `rs${stays}`, `rs${stays}`]);
    assert.ok(hasReals(await readTable(), key('api'), [[rip(1), 1], [rip(2), 1]]));

    // Drain is not removal: once the connection is gone (RST: IPVS forgets it after ~10 s), the
    // real stays in the table at weight 0 until enabled.
    await topo.client.closeSession(session, { reset: true });
    await pollUntil('the drained real idle', async () => {
      const c = (await readCounters()).get(key('web'))?.get(rip(gone));
      return c && c.activeConns + c.inactiveConns === 0 ? true : undefined;
    }, WAIT);
    await waitForPasses(port, await metric(port, 'lvsd_reconcile_passes_total'), 2, WAIT);
    assert.ok(hasReals(await readTable(), key('web'), [[rip(gone), 0], [rip(stays), 1]]), 'a drained idle real stays at weight 0');
    assert.equal(await metric(port, `lvsd_real_admin_state{service="web",real="${rip(gone)}"}`), 1);
  });

  it('lvsd disable --real IP: that host leaves every service (removed once idle), clients reach the other real', TIMEOUT, async () => {
    const d = daemon;
    const at = d.mark();
    const out = await lvsd('disable', '--real', host(gone));
    assert.deepEqual(out.trim().split('\n').sort(), [`api ${rip(gone)}: ready -> maint`, `web ${rip(gone)}: drain -> maint`]);
    await waitForTable((t) => hasReals(t, key('web'), [[rip(stays), 1]]) && hasReals(t, key('api'), [[rip(stays), 1]]), WAIT);
    const finished = d.logs.slice(at).filter((l) => l.msg === 'drain finished; deleting real');
    assert.ok(finished.length >= 1 && finished.every((l) => l['why'] === 'idle'), JSON.stringify(finished));
    for (const vip of [VIP.web, VIP.api]) assert.deepEqual(await topo.client.whoAnswersMany(httpUrl(vip), 3), [`rs${stays}`, `rs${stays}`, `rs${stays}`]);
  });

  it('lvsd enable --real IP: the host is back in every service', TIMEOUT, async () => {
    const out = await lvsd('enable', '--real', host(gone));
    assert.deepEqual(out.trim().split('\n').sort(), [`api ${rip(gone)}: maint -> ready`, `web ${rip(gone)}: maint -> ready`]);
    await waitForTable((t) => hasReals(t, key('web'), [[rip(1), 1], [rip(2), 1]]) && hasReals(t, key('api'), [[rip(1), 1], [rip(2), 1]]), WAIT);
    const names = await topo.client.whoAnswersMany(httpUrl(VIP.api), 4);
    assert.deepEqual(new Set(names), new Set(['rs1', 'rs2']), `answers: ${names.join(' ')}`);
  });
});
