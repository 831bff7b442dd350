// Two directors with the kernel's IPVS connection sync daemon, each run by its own lvsd from
// lvsd.yaml `sync_daemon`: director A (the root namespace, holding the VIP) as master, director B
// (namespace "dirb", the same service) as backup, joined by a veth link for the sync multicast.
// A connection made through A's VIP appears in B's `ipvsadm -Lnc`; the role switched over A's
// control socket (the real CLI) shows in `ipvsadm -L --daemon`; a master daemon stopped behind
// lvsd's back (`ipvsadm --stop-daemon master`) is started again at the next resync.
//
//   client ── A (root ns: VIP 10.20.0.60, master on lvs-sync-a 10.40.0.1) ── rs1
//                   └── veth ── B (ns dirb: backup on eth0 10.40.0.2; checks reach rs1 via A)

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { httpUrl } from './lib/client.js';
import { Daemon, lvsdBin, makeConfigDir } from './lib/daemon.js';
import { output, pollUntil, run, skipOutsideVm } from './lib/exec.js';
import { deleteService, ipvsadm, waitForTable } from './lib/ipvsadm.js';
import { ipBatch, nsRun, removeNet } from './lib/netns.js';
import { FAST_CHECK, globalConfig, hasReals, START_WAIT } from './lib/scenario.js';
import { Topology } from './lib/topology.js';
import type { Session } from './lib/client.js';

const TIMEOUT = { timeout: 240_000 };
const WAIT = 60_000;
const VIP = '10.20.0.60';
const SERVICE = `tcp:${VIP}:80`;
const RIP = '10.10.1.2:80';
const NS_B = 'dirb';
const LINK_A = 'lvs-sync-a';
const SYNCID = 42;

/** `ipvsadm -L --daemon` in a namespace (root: A). */
const daemons = (ns?: string): Promise<string> => (ns === undefined ? ipvsadm('-L', '--daemon') : nsRun(ns, 'ipvsadm', ['-L', '--daemon']));

describe('two directors, master and backup sync daemons (kernel IPVS)', { skip: skipOutsideVm }, () => {
  let topo: Topology;
  let a: Daemon;
  let b: Daemon;
  let session: Session | null = null;
  const service = { name: 'web', address: `${VIP}:80`, reals: [{ address: RIP }] };
  const lvsdA = async (...args: string[]): Promise<string> =>
    (await run(process.execPath, [lvsdBin, args[0]!, '--socket', join(a.configDir, 'control.sock'), ...args.slice(1)], { timeoutMs: 180_000 })).stdout;

  before(async () => {
    topo = await Topology.create({ reals: 1 });
    await topo.startHttpOnAll();
    await topo.addVip(VIP);
    await removeNet([LINK_A], [NS_B]);
    await ipBatch([`netns add ${NS_B}`, `link add ${LINK_A} type veth peer name eth0 netns ${NS_B}`, `link set ${LINK_A} up`, `addr add 10.40.0.1/24 dev ${LINK_A}`]);
    // B's checks reach rs1 through A (rs1 answers via its default route, A).
    await ipBatch(['link set lo up', 'link set eth0 up', 'addr add 10.40.0.2/24 dev eth0', 'route add default via 10.40.0.1'], NS_B);
    const config = (role: string, iface: string, extra: Record<string, unknown> = {}): Promise<string> =>
      makeConfigDir({
        global: globalConfig({ sync_daemon: { role, interface: iface, syncid: SYNCID }, ...extra }),
        services: { web: { ...service, check: FAST_CHECK } },
      });
    // A resyncs every 3 s, so the repair below comes quickly.
    const [dirA, dirB] = await Promise.all([config('master', LINK_A, { resync_interval: '3s' }), config('backup', 'eth0')]);
    [a, b] = await Promise.all([
      Daemon.start({ configDir: dirA, label: 'lvsd-sync-a' }),
      Daemon.start({ configDir: dirB, label: 'lvsd-sync-b', netns: NS_B }),
    ]);
  }, { timeout: 300_000 });

  after(async () => {
    try {
      if (session) await topo.client.closeSession(session, { reset: true }).catch(() => undefined);
      for (const d of [a, b]) if (d?.running) await d.kill();
      // lvsd leaves the kernel's sync daemons running when it stops (by design): stop A's here;
      // B's ends with its namespace.
      for (const state of ['master', 'backup']) await run('ipvsadm', ['--stop-daemon', state]).catch(() => undefined);
      await deleteService(SERVICE);
    } finally {
      await removeNet([LINK_A], [NS_B]).catch(() => undefined);
      await topo?.teardown();
    }
  }, TIMEOUT);

  it('each lvsd starts its daemon from lvsd.yaml: A master, B backup, as ipvsadm -L --daemon shows', { timeout: 300_000 }, async () => {
    const started = (d: Daemon, state: string) => d.waitForLog((l) => l['event'] === 'sync_daemon' && l['action'] === 'start' && l['state'] === state, START_WAIT);
    await Promise.all([started(a, 'master'), started(b, 'backup')]);
    assert.match(await daemons(), new RegExp(`^master sync daemon \\(mcast=${LINK_A}, syncid=${SYNCID}, maxlen=\\d+, group=224\\.0\\.0\\.81, port=8848, ttl=1\\)$`));
    assert.match(await daemons(NS_B), new RegExp(`^backup sync daemon \\(mcast=eth0, syncid=${SYNCID}, maxlen=\\d+, group=224\\.0\\.0\\.81, port=8848, ttl=1\\)$`));
    await waitForTable((t) => hasReals(t, SERVICE, [[RIP, 1]]), WAIT);
  });

  it('a connection made through A\'s VIP appears in B\'s ipvsadm -Lnc', TIMEOUT, async () => {
    session = await topo.client.openSession(httpUrl(VIP));
    assert.equal(session.servedBy, 'rs1');
    // A few more packets on the connection: the master syncs a connection after sync_threshold packets.
    for (let i = 0; i < 3; i++) await topo.client.sessionGet(session);
    const line = await pollUntil('the connection in the backup\'s table', async () => {
      const table = await nsRun(NS_B, 'ipvsadm', ['-Lnc']);
      return table.split('\n').find((l) => new RegExp(`^TCP\\s+\\S+\\s+ESTABLISHED\\s+10\\.30\\.0\\.2:${session!.localPort}\\s+${VIP}:80\\s+${RIP}$`).test(l.trim()));
    }, WAIT, 500);
    assert.ok(line);
    // The master's own table has the same connection (the one the client made).
    assert.match(await output('ipvsadm', ['-Lnc']), new RegExp(`10\\.30\\.0\\.2:${session.localPort}\\s+${VIP}:80\\s+${RIP}`));
  });

  it('the role switched over A\'s control socket follows in ipvsadm -L --daemon', TIMEOUT, async () => {
    const at = a.mark();
    assert.match(await lvsdA('sync-role', 'both'), /^role {5}both \(set at run time by socket uid 0 /m);
    const both = await daemons();
    assert.match(both, new RegExp(`^master sync daemon \\(mcast=${LINK_A}, syncid=${SYNCID},`, 'm'));
    assert.match(both, new RegExp(`^backup sync daemon \\(mcast=${LINK_A}, syncid=${SYNCID},`, 'm'));
    await a.waitForLog((l) => l['event'] === 'sync_role' && l['role'] === 'both' && l['source'] === 'runtime', WAIT, at);
    assert.match(await lvsdA('sync-role', 'config'), /^role {5}master \(from lvsd\.yaml\)$/m);
    assert.match(await daemons(), new RegExp(`^master sync daemon \\(mcast=${LINK_A}, syncid=${SYNCID}, [^\\n]*\\)$`));
  });

  it('a master stopped behind lvsd\'s back is started again at the next resync', TIMEOUT, async () => {
    const at = a.mark();
    // Gone from the kernel (ipvsadm exits 0 only when it stopped a running daemon).
    await run('ipvsadm', ['--stop-daemon', 'master']);
    const repair = await a.waitForLog((l) => l['event'] === 'sync_daemon' && l['action'] === 'start' && /behind lvsd's back/.test(String(l['why'])), WAIT, at);
    assert.equal(repair['state'], 'master');
    assert.match(await daemons(), new RegExp(`^master sync daemon \\(mcast=${LINK_A}, syncid=${SYNCID},`));
  });
});
