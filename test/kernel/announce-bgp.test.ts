// Health-driven VIP announce over BGP on the real kernel: two directors (each a namespace with its
// own IPVS, its own lvsd and its own BGP speaker) in front of a router running BIRD with ECMP
// (lib/bgp-topology.ts). The router's kernel route for the VIP must have one next hop per director
// that announces it; a director whose service loses quorum, or whose lvsd stops, drops out, and
// comes back (after the hold-down when it was withdrawn for health). Twice: with BIRD on the
// directors (`announce.backend: bird`, lvsd's VIPs on a dummy interface exported as connected
// routes), then with ExaBGP (`announce.backend: exabgp`, ExaBGP running `lvsd exabgp-bridge`).
// The speakers' configs are the README's ("More than one director"), from lib/bgp-configs.ts.
//
// Requests go from the router's namespace to the VIP, so they follow the router's routes: with two
// next hops both directors' realservers answer, with one only that director's.

import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { httpUrl } from './lib/client.js';
import type { Client } from './lib/client.js';
import { lvsdAnnounceYaml } from './lib/bgp-configs.js';
import { BgpTopology } from './lib/bgp-topology.js';
import type { BgpDirector } from './lib/bgp-topology.js';
import { Daemon, lvsdBin, makeConfigDir } from './lib/daemon.js';
import type { DaemonConfig, LogLine } from './lib/daemon.js';
import { skipOutsideVm, sleep } from './lib/exec.js';
import { addAddress } from './lib/netns.js';
import { assertNoErrors, globalConfig, START_WAIT, stopDaemon, waitForTransition } from './lib/scenario.js';
import type { ManagedProcess } from './lib/servers.js';

const VIP = '10.60.0.10';
/** Long enough that the router is sampled several times inside it, short for the VM's clock. */
const HOLD_DOWN = '4s';
const HOLD_DOWN_MS = 4_000;
const WAIT = 90_000;
const TIMEOUT = { timeout: 300_000 };

/** quorum 2 of two reals of weight 1: one real down is quorum lost, the VIP is withdrawn. */
function lvsdConfig(d: BgpDirector, announce: string): DaemonConfig {
  return {
    global: { ...globalConfig(), ...(parse(announce) as Record<string, unknown>) },
    services: {
      web: { name: 'web', address: `${VIP}:80`, quorum: 2, reals: d.reals.map((r) => ({ address: `${r.address}:80` })) },
    },
  };
}

/** The log line of an announce change of VIP: announced (true) or withdrawn (false), with its reason. */
function isChange(announce: boolean, reason?: string): (l: LogLine) => boolean {
  return (l) =>
    l['vip'] === VIP &&
    l['event'] === (announce ? 'vip_announced' : 'vip_withdrawn') &&
    (reason === undefined || l['reason'] === reason);
}

/** The VIP is healthy again and waits out its hold-down (`announce_at`: when it will be announced). */
const isHoldDown = (l: LogLine): boolean => l['vip'] === VIP && l['event'] === 'vip_hold_down';

const time = (l: LogLine): number => Date.parse(String(l['time']));

/** A user's uid from /etc/passwd. */
async function uidOf(user: string): Promise<number> {
  const line = (await readFile('/etc/passwd', 'utf8')).split('\n').find((l) => l.startsWith(`${user}:`));
  assert.ok(line, `user ${user} in /etc/passwd`);
  return Number(line.split(':')[2]);
}

/** The real uids of the processes whose command line contains `needle` (read from /proc). */
async function uidsOf(needle: string): Promise<number[]> {
  const uids: number[] = [];
  for (const pid of (await readdir('/proc')).filter((n) => /^\d+$/.test(n))) {
    try {
      const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
      if (!cmdline.includes(needle)) continue;
      const uid = /^Uid:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (uid !== undefined) uids.push(Number(uid));
    } catch {
      // The process exited meanwhile.
    }
  }
  return uids;
}

describe('announce over BGP: two directors, a BIRD router with ECMP (kernel)', { skip: skipOutsideVm }, () => {
  let topo: BgpTopology;
  let client: Client;
  let http: Map<string, ManagedProcess>;
  let a: BgpDirector;
  let b: BgpDirector;
  const daemons = new Map<string, Daemon>();
  const speakers = new Map<string, ManagedProcess>();

  const real = (name: string): ManagedProcess => {
    const p = http.get(name);
    assert.ok(p, `http server ${name}`);
    return p;
  };
  const daemon = (d: BgpDirector): Daemon => {
    const x = daemons.get(d.id);
    assert.ok(x, `lvsd of director ${d.id}`);
    return x;
  };

  async function startLvsd(d: BgpDirector, configDir: string, label: string): Promise<Daemon> {
    const x = await Daemon.start({ configDir, netns: d.ns, label: `lvsd-${d.id}-${label}` });
    daemons.set(d.id, x);
    return x;
  }

  /** Requests through the VIP until both directors' realservers answered (at most 40). */
  async function bothDirectorsAnswer(): Promise<void> {
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 2; i++) seen.add((await client.whoAnswers(httpUrl(VIP), 10_000)).slice(0, 1));
    assert.deepEqual([...seen].sort(), ['a', 'b'], 'with two next hops both directors serve the VIP');
  }

  async function onlyDirectorAnswers(d: BgpDirector): Promise<void> {
    const names = await client.whoAnswersMany(httpUrl(VIP), 6, 10_000);
    assert.deepEqual(names.filter((n) => !n.startsWith(d.id)), [], `only director ${d.id} serves: ${names.join(' ')}`);
  }

  /**
   * A's real a1 dies: quorum lost, A's next hop leaves the router; a1 back: A returns only once the
   * hold-down has passed: every router state read before lvsd's hold-down deadline has B alone.
   */
  async function quorumLossAndHoldDown(): Promise<void> {
    const d = daemon(a);
    await topo.waitForNextHops(VIP, [a.address, b.address], WAIT);
    const killedAt = d.mark();
    await real('a1').kill();
    await waitForTransition(d, { service: 'web', real: `${a.reals[0]?.address}:80`, to: 'down' }, WAIT, killedAt);
    await d.waitForLog(isChange(false, 'quorum_lost'), WAIT, killedAt);
    await topo.waitForNextHops(VIP, [b.address], WAIT);
    await onlyDirectorAnswers(b);

    const revivedAt = d.mark();
    const samples: { at: number; hops: string[] }[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const hops = await topo.nextHops(VIP).catch(() => null);
        if (hops !== null) samples.push({ at: Date.now(), hops });
        await sleep(200);
      }
    })();
    try {
      await real('a1').revive();
      const started = await d.waitForLog(isHoldDown, WAIT, revivedAt);
      const announced = await d.waitForLog(isChange(true, 'hold_down_done'), WAIT, revivedAt);
      await topo.waitForNextHops(VIP, [a.address, b.address], WAIT);
      const due = Date.parse(String(started['announce_at']));
      assert.ok(due >= time(started) + HOLD_DOWN_MS - 1_000, `announce_at ${String(started['announce_at'])} is hold_down after the health came back`);
      assert.ok(time(announced) >= due, 'announced no earlier than its announce_at');
      const inHoldDown = samples.filter((s) => s.at >= time(started) && s.at < due);
      assert.ok(inHoldDown.length > 0, 'the router was read during the hold-down');
      assert.deepEqual(
        inHoldDown.filter((s) => s.hops.includes(a.address)),
        [],
        'A is not a next hop before its hold-down is over',
      );
    } finally {
      sampling = false;
      await sampler.catch(() => undefined);
    }
    await bothDirectorsAnswer();
  }

  /** lvsd A stops cleanly: its next hop leaves at once; started again: it returns. */
  async function stopAndRestart(label: string): Promise<void> {
    const d = daemon(a);
    await topo.waitForNextHops(VIP, [a.address, b.address], WAIT);
    const stopping = d.mark();
    await stopDaemon(d);
    assertNoErrors(d);
    assert.ok(d.logs.slice(stopping).some(isChange(false, 'stopping')), 'the stop withdrew the VIP');
    await topo.waitForNextHops(VIP, [b.address], WAIT);
    await onlyDirectorAnswers(b);

    const again = await startLvsd(a, d.configDir, `${label}-restart`);
    await again.waitForLog(isChange(true, 'first_results'), START_WAIT);
    await topo.waitForNextHops(VIP, [a.address, b.address], WAIT);
    await bothDirectorsAnswer();
  }

  before(async () => {
    topo = await BgpTopology.create({ realsPerDirector: 2 });
    [a, b] = topo.directors as [BgpDirector, BgpDirector];
    http = await topo.startHttpOnAll();
    await topo.startRouterBird();
    client = await topo.startClient();
  }, { timeout: 300_000 });

  after(async () => {
    try {
      for (const d of daemons.values()) if (d.running) await d.kill();
    } finally {
      await topo?.teardown();
    }
  }, TIMEOUT);

  describe('BIRD on the directors (announce.backend: bird)', () => {
    before(async () => {
      const announce = lvsdAnnounceYaml({ backend: 'bird', holdDown: HOLD_DOWN });
      for (const d of [a, b]) speakers.set(d.id, await topo.startDirectorBird(d));
      const dirs = await Promise.all([a, b].map((d) => makeConfigDir(lvsdConfig(d, announce))));
      await Promise.all([a, b].map((d, i) => startLvsd(d, dirs[i] as string, 'bird')));
    }, { timeout: 300_000 });

    it('both directors announce the VIP: the router has two ECMP next hops, both serve', { timeout: 400_000 }, async () => {
      for (const d of [a, b]) await daemon(d).waitForLog(isChange(true, 'first_results'), START_WAIT);
      assert.deepEqual(await topo.waitForNextHops(VIP, [a.address, b.address], WAIT), [a.address, b.address].sort());
      await bothDirectorsAnswer();
    });

    it('quorum lost on A withdraws its next hop; healthy again, it returns after the hold-down', TIMEOUT, quorumLossAndHoldDown);

    it('lvsd A stops: its next hop is withdrawn; started again: it returns', TIMEOUT, () => stopAndRestart('bird'));

    after(async () => {
      for (const d of [a, b]) await stopDaemon(daemon(d));
      for (const s of speakers.values()) await s.kill('SIGTERM');
      speakers.clear();
    }, TIMEOUT);
  });

  describe('ExaBGP on the directors (announce.backend: exabgp)', () => {
    /** In a directory lvsd creates (0755) in the topology's (0755): ExaBGP's user reaches it. */
    const socket = (d: BgpDirector): string => join(topo.dir, 'run', `exabgp-${d.id}.sock`);
    before(async () => {
      // The BIRD part stopped both lvsd: the router has no route left.
      await topo.waitForNextHops(VIP, [], WAIT);
      // ExaBGP only announces: the VIP is put on the director by hand, as the README says.
      for (const d of [a, b]) await addAddress('lo', `${VIP}/32`, d.ns);
      const dirs = await Promise.all(
        [a, b].map((d) =>
          makeConfigDir(
            lvsdConfig(d, lvsdAnnounceYaml({ backend: 'exabgp', holdDown: HOLD_DOWN, socket: socket(d), socketGroup: 'exabgp' })),
          ),
        ),
      );
      await Promise.all([
        ...[a, b].map((d, i) => startLvsd(d, dirs[i] as string, 'exabgp')),
        ...[a, b].map(async (d) => {
          const bridge = `${process.execPath} ${lvsdBin} exabgp-bridge --socket ${socket(d)}`;
          speakers.set(d.id, await topo.startExabgp(d, bridge));
        }),
      ]);
    }, { timeout: 400_000 });

    it('both directors announce the VIP through ExaBGP: two ECMP next hops, both serve', { timeout: 400_000 }, async () => {
      for (const d of [a, b]) await daemon(d).waitForLog(isChange(true, 'first_results'), START_WAIT);
      // The bridges run as ExaBGP's user, not root: socket_group is what lets them in.
      const exabgpUid = await uidOf('exabgp');
      for (const d of [a, b]) {
        const uids = await uidsOf(`exabgp-bridge --socket ${socket(d)}`);
        assert.ok(uids.length > 0 && uids.every((u) => u === exabgpUid), `bridge of ${d.id}: uids ${uids.join(' ')}, exabgp is ${exabgpUid}`);
      }
      assert.deepEqual(await topo.waitForNextHops(VIP, [a.address, b.address], WAIT), [a.address, b.address].sort());
      await bothDirectorsAnswer();
    });

    it('quorum lost on A withdraws its next hop; healthy again, it returns after the hold-down', TIMEOUT, quorumLossAndHoldDown);

    it('lvsd A stops: its next hop is withdrawn; started again: it returns', TIMEOUT, () => stopAndRestart('exabgp'));
  });
});
