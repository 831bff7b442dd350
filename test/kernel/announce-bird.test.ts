// lvsd's `announce` bird backend against the VM's real kernel: the VIPs' /32 and /128 appear on lvsd's own
// dummy interface (lvsd0) after the first results, goes when the service loses quorum, comes back
// only after the hold-down, and goes on a clean stop; a stale address left on lvsd0 is removed at
// start; an address on another interface is never touched. BIRD exporting lvsd0 to a router is the
// two-director BGP test's part (test/kernel, bgp); this file proves the interface side alone.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Daemon, startDaemon } from './lib/daemon.js';
import { skipOutsideVm, pollUntil } from './lib/exec.js';
import { deleteService } from './lib/ipvsadm.js';
import { addAddress, ip, linkExists } from './lib/netns.js';
import { globalConfig, listenPort, START_WAIT } from './lib/scenario.js';
import type { ManagedProcess } from './lib/servers.js';
import { Topology, VIP_LINK } from './lib/topology.js';

const TIMEOUT = { timeout: 240_000 };
const WAIT = 60_000;
const IFACE = 'lvsd0';
const VIP = '10.20.0.61';
const STALE = '10.20.0.69/32';
/** On the topology's own VIP link: lvsd must leave it alone. */
const DECOY = '10.20.0.68/32';
const VIP6 = 'fd00:20::61';
const KEY = `tcp:${VIP}:80`;
const KEY6 = `tcp:[${VIP6}]:80`;
const BOTH = [`${VIP}/32`, `${VIP6}/128`];

/** Global addresses of a link as "ip/prefix"; empty when the link does not exist. */
async function addressesOf(dev: string): Promise<string[]> {
  if (!(await linkExists(dev))) return [];
  const links = JSON.parse(await ip(['-j', 'addr', 'show', 'dev', dev])) as { addr_info?: { local: string; prefixlen: number; scope: string }[] }[];
  return links.flatMap((l) => (l.addr_info ?? []).filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`)).sort();
}

async function waitForAddresses(dev: string, want: readonly string[], what: string): Promise<void> {
  await pollUntil(what, async () => (JSON.stringify(await addressesOf(dev)) === JSON.stringify([...want].sort()) ? true : undefined), WAIT);
}

describe('announce, bird backend: VIP addresses on lvsd0 (kernel)', { skip: skipOutsideVm }, () => {
  let topo: Topology;
  let daemon: Daemon;
  let rs1: ManagedProcess;
  let global: Record<string, unknown>;

  before(async () => {
    topo = await Topology.create({ reals: 1, client: false });
    rs1 = await topo.startHttp('rs1');
    await addAddress(VIP_LINK, DECOY);
    // What a crashed lvsd with another config would leave: lvsd0 with an address nobody announces.
    if (await linkExists(IFACE)) await ip(['link', 'del', IFACE]);
    await ip(['link', 'add', IFACE, 'type', 'dummy']);
    await addAddress(IFACE, STALE);
    global = globalConfig({ announce: { backend: 'bird', hold_down: '3s', interface: IFACE } });
    daemon = await startDaemon({
      global,
      services: {
        web: { name: 'web', address: `${VIP}:80`, reals: [{ address: '10.10.1.2:80' }] },
        web6: { name: 'web6', address: `[${VIP6}]:80`, reals: [{ address: '[fd00:10:1::2]:80' }] },
      },
    });
  }, { timeout: 300_000 });

  after(async () => {
    try {
      if (daemon?.running) await daemon.kill();
      await deleteService(KEY);
      await deleteService(KEY6);
      if (await linkExists(IFACE)) await ip(['link', 'del', IFACE]);
    } finally {
      await topo?.teardown();
    }
  }, TIMEOUT);

  it('first results: VIP/32 on lvsd0 (first_results); the stale address removed; other links untouched', { timeout: 300_000 }, async () => {
    const line = await daemon.waitForLog((l) => l['event'] === 'vip_announced' && l['vip'] === VIP, START_WAIT);
    assert.equal(line['reason'], 'first_results');
    await waitForAddresses(IFACE, BOTH, `${VIP}/32 and ${VIP6}/128 alone on ${IFACE}`);
    assert.ok(daemon.logs.some((l) => l['event'] === 'announce_stale_removed' && l['address'] === STALE));
    // The first results came before the address: nothing was announced before them.
    const first = daemon.logs.findIndex((l) => typeof l.msg === 'string' && l.msg.startsWith('first check round'));
    assert.ok(first >= 0 && first < daemon.logs.indexOf(line), 'announced only after the first check round');
    assert.deepEqual(await addressesOf(VIP_LINK), [DECOY]);
    const link = JSON.parse(await ip(['-d', '-j', 'link', 'show', 'dev', IFACE])) as { flags: string[]; linkinfo: { info_kind: string } }[];
    assert.equal(link[0]?.linkinfo.info_kind, 'dummy');
    assert.ok(link[0]?.flags.includes('UP'), 'lvsd0 is up');
  });

  it('the real fails: withdrawn at once (quorum_lost); back: announced again only after the hold-down', TIMEOUT, async () => {
    const killedAt = daemon.mark();
    await rs1.kill();
    const withdrawn = await daemon.waitForLog((l) => l['event'] === 'vip_withdrawn' && l['vip'] === VIP, WAIT, killedAt);
    assert.equal(withdrawn['reason'], 'quorum_lost');
    assert.deepEqual(withdrawn['services_without_quorum'], ['web']);
    await daemon.waitForLog((l) => l['event'] === 'vip_withdrawn' && l['vip'] === VIP6 && l['reason'] === 'quorum_lost', WAIT, killedAt);
    await waitForAddresses(IFACE, [], `both VIPs gone from ${IFACE}`);

    const revivedAt = daemon.mark();
    await rs1.revive();
    const hold = await daemon.waitForLog((l) => l['event'] === 'vip_hold_down' && l['vip'] === VIP, WAIT, revivedAt);
    assert.equal(hold['reason'], 'quorum_back');
    const status = await daemon.waitForLog((l) => l['event'] === 'vip_announced' && l['vip'] === VIP, WAIT, revivedAt);
    assert.equal(status['reason'], 'hold_down_done');
    assert.ok(daemon.logs.indexOf(hold) < daemon.logs.indexOf(status));
    // The address went back only with the hold_down_done change, not when health came back.
    const added = await daemon.waitForLog((l) => l['event'] === 'announce_address_added' && l['address'] === `${VIP}/32`, WAIT, revivedAt);
    assert.ok(daemon.logs.indexOf(added) > daemon.logs.indexOf(status), 'ip addr add only after hold_down_done');
    await waitForAddresses(IFACE, BOTH, `both VIPs back on ${IFACE}`);
    assert.deepEqual(await addressesOf(VIP_LINK), [DECOY]);
  });

  it('SIGUSR2 (restart keeping the table) leaves the addresses; the next lvsd adopts them without a flap', { timeout: 300_000 }, async () => {
    const at = daemon.mark();
    daemon.signal('SIGUSR2');
    const exit = await daemon.exited;
    assert.equal(exit.code, 0);
    assert.ok(!daemon.logs.slice(at).some((l) => l['event'] === 'vip_withdrawn'), 'nothing withdrawn by SIGUSR2');
    assert.deepEqual(await addressesOf(IFACE), BOTH);
    daemon = await Daemon.start({ configDir: daemon.configDir, label: 'lvsd-announce-2' });
    const adopted = await daemon.waitForLog((l) => l['event'] === 'announce_adopted', START_WAIT);
    assert.deepEqual([...(adopted['vips'] as string[])].sort(), [VIP, VIP6].sort());
    // The announcer has had its first results (its first successful pass) in /status.
    await pollUntil('announce results in /status', async () => {
      const doc = (await (await fetch(`http://127.0.0.1:${listenPort(global)}/status`)).json()) as { announce: { results: boolean; vips: { announced: boolean }[] } };
      return doc.announce.results && doc.announce.vips.every((v) => v.announced) ? true : undefined;
    }, START_WAIT);
    // After the first results the addresses are still there and were never removed or re-added.
    await waitForAddresses(IFACE, BOTH, 'both VIPs kept on lvsd0');
    assert.ok(!daemon.logs.some((l) => l['event'] === 'announce_address_removed' || l['event'] === 'announce_address_added'), 'no ip addr del/add across the restart');
    assert.ok(!daemon.logs.some((l) => l['event'] === 'vip_withdrawn'), 'nothing withdrawn at the first results');
  });

  it('clean stop (SIGTERM): withdrawn (stopping) and the address removed; lvsd0 and other links stay', TIMEOUT, async () => {
    const at = daemon.mark();
    assert.equal(await daemon.stop(), 0);
    for (const vip of [VIP, VIP6]) {
      const line = daemon.logs.slice(at).find((l) => l['event'] === 'vip_withdrawn' && l['vip'] === vip);
      assert.equal(line?.['reason'], 'stopping', vip);
    }
    assert.deepEqual(await addressesOf(IFACE), []);
    assert.ok(await linkExists(IFACE), 'the interface itself stays (the speaker config names it)');
    assert.deepEqual(await addressesOf(VIP_LINK), [DECOY]);
  });
});
