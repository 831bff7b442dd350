// lvsd against the real kernel IPVS, configuration and ownership side: services created by hand
// survive start, reloads and stop byte for byte; reloads (a conf.d edit, SIGHUP, an invalid file)
// touch only what changed; a real removed from the config drains while a client connection
// through it lives on; `ipvsadm -C` by hand is repaired at the next resync; stop with clean_stop
// false leaves the table, the next start adopts it without a change, and stop with clean_stop
// true removes only lvsd's services. Each scenario asserts the kernel table, the lines the daemon
// applied, and the client's requests through the VIP.
//
// Two daemon starts serve the whole file (a start costs 15-45 s of emulated CPU): the first runs
// the scenarios in order; the second is the restart after the clean_stop false stop.

import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { httpUrl } from './lib/client.js';
import { Daemon, makeConfigDir, writeConfigDir } from './lib/daemon.js';
import { skipOutsideVm } from './lib/exec.js';
import {
  deleteService,
  ipvsadm,
  ipvsadmRestore,
  readCounters,
  readTable,
  readTableText,
  serviceLines,
  waitForTable,
} from './lib/ipvsadm.js';
import type { Table } from './lib/ipvsadm.js';
import {
  appliedLines,
  appliedPasses,
  assertNoErrors,
  globalConfig,
  hasReals,
  linesFor,
  listenPort,
  metric,
  START_WAIT,
  stopDaemon,
  TableRecorder,
  waitForPasses,
} from './lib/scenario.js';
import { Topology } from './lib/topology.js';

const TIMEOUT = { timeout: 240_000 };
const WAIT = 60_000;

const rip = (n: number): string => `10.10.${n}.2:80`;

const VIP = {
  steady: '10.20.0.25',
  tuned: '10.20.0.26',
  added: '10.20.0.27',
  drain: '10.20.0.28',
  foreign: '10.20.0.29',
  drift: '10.20.0.31',
} as const;
type Name = keyof typeof VIP;
const key = (name: Name): string => `tcp:${VIP[name]}:80`;
const vport = (name: Name): string => `${VIP[name]}:80`;
const MANAGED: readonly Name[] = ['steady', 'tuned', 'added', 'drain', 'drift'];
const FOREIGN_MARK_KEY = 'fwmark:99:v4';

/** A service document on VIP:80 with reals rsN:80 (weight 1, or [n, weight]). */
function service(name: Name, reals: readonly (number | readonly [number, number])[]): Record<string, unknown> {
  return {
    name,
    address: vport(name),
    reals: reals.map((r) => (typeof r === 'number' ? { address: rip(r) } : { address: rip(r[0]), weight: r[1] })),
  };
}

/** Services made by hand, as an operator would: lvsd must never touch them. */
const FOREIGN_LINES = [
  `-A -t ${vport('foreign')} -s sh -p 120`,
  `-a -t ${vport('foreign')} -r ${rip(1)} -m -w 3`,
  `-a -t ${vport('foreign')} -r ${rip(2)} -m -w 2 -x 50 -y 10`,
  '-A -f 99 -s wrr',
  `-a -f 99 -r ${rip(3)} -m -w 4`,
];

/**
 * What the kernel holds of the foreign services: their -Sn lines and their reals' thresholds
 * (-Sn leaves those out; the listing's connection counters are traffic, not configuration).
 */
async function foreignText(): Promise<string> {
  const text = await readTableText();
  const listing = await ipvsadm('-Ln', '--thresholds', '-t', vport('foreign'));
  const thresholds = listing.split('\n').filter((l) => l.trim().startsWith('->') && !l.includes('RemoteAddress'));
  return [
    ...serviceLines(text, key('foreign')),
    ...serviceLines(text, FOREIGN_MARK_KEY),
    ...thresholds.map((l) => l.trim().split(/\s+/).slice(0, 4).join(' ')),
  ].join('\n');
}

/** The -Sn lines of the managed services, for "unchanged" comparisons. */
async function managedText(): Promise<string> {
  const text = await readTableText();
  // Sorted: after a re-creation the kernel may list reals in another order.
  return MANAGED.flatMap((n) => serviceLines(text, key(n))).sort().join('\n');
}

describe('lvsd scenarios: configuration, ownership, drift (kernel IPVS)', { skip: skipOutsideVm }, () => {
  let topo: Topology;
  let daemon: Daemon;
  let configDir: string;
  let foreign: string;
  const global = globalConfig({ resync_interval: '2s', drain_timeout: '10m' });
  const port = listenPort(global);

  /** The state the reload scenario leaves; later scenarios and the restart start from it. */
  const afterReloads = {
    steady: service('steady', [1, 2]),
    tuned: service('tuned', [[1, 3], [2, 5]]),
    added: service('added', [3, 1]),
  };

  before(async () => {
    topo = await Topology.create({ reals: 3 });
    await topo.startHttpOnAll();
    for (const vip of Object.values(VIP)) await topo.addVip(vip);
    await ipvsadmRestore(FOREIGN_LINES);
    foreign = await foreignText();
    assert.match(foreign, /-s sh -p 120/);
    assert.match(foreign, /-> 10\.10\.2\.2:80 50 10$/m);
    configDir = await makeConfigDir({
      global,
      services: {
        steady: service('steady', [1, 2]),
        tuned: service('tuned', [1, 2]),
        drain: service('drain', [1, 2]),
        drift: service('drift', [1, 2]),
      },
    });
    daemon = await Daemon.start({ configDir, label: 'lvsd-config-1' });
  }, { timeout: 300_000 });

  after(async () => {
    try {
      if (daemon?.running) await daemon.kill();
      for (const name of Object.keys(VIP) as Name[]) await deleteService(key(name));
      await deleteService(FOREIGN_MARK_KEY);
    } finally {
      await topo?.teardown();
    }
  }, TIMEOUT);

  it('leaves services created by hand byte for byte when it starts', { timeout: 300_000 }, async () => {
    await daemon.waitForMessage('first check round in', START_WAIT);
    await waitForTable(
      (t) => (['steady', 'tuned', 'drain', 'drift'] as const).every((n) => hasReals(t, key(n), [[rip(1), 1], [rip(2), 1]])),
      WAIT,
    );
    assert.equal(await foreignText(), foreign);
    assert.ok(['rs1', 'rs2'].includes(await topo.client.whoAnswers(httpUrl(VIP.foreign))), 'the foreign service still serves');
    assert.deepEqual(linesFor(appliedLines(daemon), vport('foreign')), []);
    assert.deepEqual(linesFor(appliedLines(daemon), '99'), []);
  });

  it('reloads (conf.d edit, SIGHUP) add a service and change a weight without touching the others; an invalid config changes nothing', TIMEOUT, async () => {
    const d = daemon;
    const steadyBefore = serviceLines(await readTableText(), key('steady'));
    const recorder = new TableRecorder();
    try {
      // 1. A conf.d edit, seen by the watcher: a new file with a new service, and a weight change.
      const editAt = d.mark();
      await d.writeConfig({ services: { tuned: service('tuned', [1, [2, 5]]), added: service('added', [3]) } });
      await waitForTable((t) => hasReals(t, key('tuned'), [[rip(1), 1], [rip(2), 5]]) && hasReals(t, key('added'), [[rip(3), 1]]), WAIT);
      await d.waitForLog((l) => l.msg === 'configuration reloaded' && String(l['reason']).includes('file change'), WAIT, editAt);
      assert.deepEqual(
        [...appliedLines(d, editAt)].sort(),
        [`-A -t ${vport('added')} -s rr`, `-a -t ${vport('added')} -r ${rip(3)} -m -w 1`, `-e -t ${vport('tuned')} -r ${rip(2)} -m -w 5`].sort(),
        'only the new service and the changed weight were applied',
      );
      // Health survived the reload: no transition for the reals whose checks did not change.
      assert.deepEqual(d.logs.slice(editAt).filter((l) => l['event'] === 'health_transition' && l['service'] !== 'added'), []);
      assert.equal(await foreignText(), foreign, 'foreign services after a conf.d reload');

      // 2. SIGHUP right after an edit: weight of rs1 in tuned, rs1 joins added.
      const hupAt = d.mark();
      await d.writeConfig({ services: { tuned: afterReloads.tuned, added: afterReloads.added } });
      d.reload();
      await waitForTable((t) => hasReals(t, key('tuned'), [[rip(1), 3], [rip(2), 5]]) && hasReals(t, key('added'), [[rip(1), 1], [rip(3), 1]]), WAIT);
      // SIGHUP reloads at once and the watcher's debounced reload then finds the same content (or,
      // if the watcher won the race, SIGHUP finds nothing new): either way a reload ran for SIGHUP
      // and the edit was applied once.
      await d.waitForLog((l) => /^configuration (reloaded|unchanged)$/.test(String(l.msg)) && String(l['reason']).includes('SIGHUP'), WAIT, hupAt);
      assert.deepEqual(
        [...appliedLines(d, hupAt)].sort(),
        [`-a -t ${vport('added')} -r ${rip(1)} -m -w 1`, `-e -t ${vport('tuned')} -r ${rip(1)} -m -w 3`].sort(),
      );
      assert.equal(await foreignText(), foreign, 'foreign services after SIGHUP');

      // 3. An invalid config (one broken file plus a valid-looking edit elsewhere) is rejected as a
      // whole, logged with file and line, and the kernel is not touched, not even by later resyncs.
      const tableBefore = await readTableText();
      const badAt = d.mark();
      await d.writeConfig({
        services: {
          tuned: service('tuned', [[1, 9], [2, 9]]),
          broken: `name: broken\naddress: 10.20.0.40:80\nreals:\n  - address: ${rip(1)}\n    weight: 70000\n`,
        },
      });
      d.reload();
      const rejected = await d.waitForMessage(/^configuration rejected/, WAIT, badAt);
      assert.equal(rejected['code'], 'LVSD_CONFIG_INVALID');
      const issue = await d.waitForLog((l) => l['code'] === 'LVSD_CONFIG_INVALID' && String(l['file']).endsWith('broken.yaml'), WAIT, badAt);
      assert.equal(issue['line'], 5, `issue at the weight: ${JSON.stringify(issue)}`);
      await waitForPasses(port, await metric(port, 'lvsd_reconcile_passes_total'), 2, WAIT); // resyncs (every 2 s)
      assert.equal(await readTableText(), tableBefore, 'kernel table after the rejected reload');
      assert.deepEqual(appliedLines(d, badAt), [], 'nothing applied after the rejected reload');
      // Back to the running config (same content: nothing to apply).
      await d.writeConfig({ services: { tuned: afterReloads.tuned } });
      await rm(join(configDir, 'conf.d', 'broken.yaml'));
      await d.waitForLog((l) => l.msg === 'configuration unchanged', WAIT, d.mark());

      // No flap anywhere: steady never changed (no line, same entries in every sample), tuned
      // never lost a real, and nothing was deleted or re-created.
      const seen = await recorder.stop();
      const all = appliedLines(d, editAt);
      assert.deepEqual(linesFor(all, vport('steady')), []);
      assert.deepEqual(all.filter((l) => /^-[dDE] /.test(l)), [], 'no delete or service edit');
      assert.ok(seen.length > 0);
      const steadyReals = [[rip(1), 1], [rip(2), 1]];
      for (const t of recorder.serviceHistory(key('steady'))) assert.deepEqual(t, steadyReals);
      for (const t of seen) assert.equal(t.byKey.get(key('tuned'))?.reals.length, 2, 'tuned kept both reals');
      assert.deepEqual(serviceLines(await readTableText(), key('steady')), steadyBefore);
      assert.deepEqual(new Set(await topo.client.whoAnswersMany(httpUrl(VIP.steady), 2)), new Set(['rs1', 'rs2']));
      assert.ok(['rs1', 'rs3'].includes(await topo.client.whoAnswers(httpUrl(VIP.added))));
    } finally {
      await recorder.stop();
    }
  });

  it('drains a real removed from the config: a client connection through it keeps working until it closes', TIMEOUT, async () => {
    const d = daemon;
    const vip = vport('drain');
    // The first connection through this VIP (nothing else used it, so the real it lands on has no
    // other connection entry): a keep-alive session.
    const session = await topo.client.openSession(httpUrl(VIP.drain));
    const gone = session.servedBy === 'rs1' ? 1 : 2;
    const stays = 3 - gone;
    assert.equal(session.servedBy, `rs${gone}`);
    assert.equal((await readCounters()).get(key('drain'))?.get(rip(gone))?.activeConns, 1);

    const removedAt = d.mark();
    await d.writeConfig({ services: { drain: service('drain', [stays]) } });
    await waitForTable((t) => hasReals(t, key('drain'), [[rip(gone), 0], [rip(stays), 1]]), WAIT);
    assert.deepEqual(appliedLines(d, removedAt), [`-e -t ${vip} -r ${rip(gone)} -m -w 0`]);

    // The connection survives the drain: same TCP connection, same realserver, still answering.
    for (let i = 0; i < 2; i++) {
      const reply = await topo.client.sessionGet(session);
      assert.equal(reply.servedBy, `rs${gone}`);
      assert.equal(reply.reused, true, 'the request went over the same connection');
      assert.equal(reply.localPort, session.localPort);
    }
    // New connections go to the real that stays.
    assert.deepEqual(await topo.client.whoAnswersMany(httpUrl(VIP.drain), 3), [`rs${stays}`, `rs${stays}`, `rs${stays}`]);
    // Still draining a few passes later (drain polls every second): weight 0, not deleted.
    await waitForPasses(port, await metric(port, 'lvsd_reconcile_passes_total'), 2, WAIT);
    assert.ok(hasReals(await readTable(), key('drain'), [[rip(gone), 0], [rip(stays), 1]]), 'draining real kept at weight 0');
    assert.equal((await readCounters()).get(key('drain'))?.get(rip(gone))?.activeConns, 1);
    assert.equal(d.logs.some((l) => l.msg === 'drain finished; deleting real'), false);

    // Close it with an RST (IPVS then forgets the entry after its CLOSE timeout, ~10 s, instead of
    // TIME_WAIT's 2 minutes): the real is deleted because it went idle, long before drain_timeout.
    const closedAt = d.mark();
    await topo.client.closeSession(session, { reset: true });
    const finished = await d.waitForMessage('drain finished; deleting real', WAIT, closedAt);
    assert.equal(finished['why'], 'idle');
    assert.equal(finished['real'], rip(gone));
    assert.equal(finished['service'], 'drain');
    await waitForTable((t) => hasReals(t, key('drain'), [[rip(stays), 1]]), WAIT);
    assert.deepEqual(appliedLines(d, closedAt), [`-d -t ${vip} -r ${rip(gone)}`]);
    assert.equal(await foreignText(), foreign);
  });

  it('restores the table at the next resync after `ipvsadm -C` and a weight edited by hand', TIMEOUT, async () => {
    const d = daemon;
    const managed = await managedText();
    const vip = vport('drift');

    // The test flushes the table (lvsd never does): the foreign services go too, and are not lvsd's
    // to bring back.
    const flushAt = d.mark();
    await ipvsadm('-C');
    const restored = await waitForTable((t) => t.byKey.has(key('drift')) && t.byKey.has(key('steady')), WAIT);
    await waitForTable((t) => hasReals(t, key('drift'), [[rip(1), 1], [rip(2), 1]]), WAIT);
    assert.equal(await managedText(), managed, 'every managed service back as it was');
    assert.equal(restored.byKey.has(key('foreign')), false);
    assert.equal(restored.byKey.has(FOREIGN_MARK_KEY), false);
    const repair = appliedPasses(d, flushAt);
    assert.ok(repair[0]?.reasons.includes('resync'), `repaired by a resync: ${JSON.stringify(repair[0]?.reasons)}`);
    assert.deepEqual(linesFor(repair[0]?.lines ?? [], vip), [`-A -t ${vip} -s rr`, `-a -t ${vip} -r ${rip(1)} -m -w 1`, `-a -t ${vip} -r ${rip(2)} -m -w 1`]);
    assert.deepEqual(new Set(await topo.client.whoAnswersMany(httpUrl(VIP.drift), 2)), new Set(['rs1', 'rs2']));

    const editAt = d.mark();
    await ipvsadm('-e', '-t', vip, '-r', rip(2), '-m', '-w', '7');
    await waitForTable((t) => hasReals(t, key('drift'), [[rip(1), 1], [rip(2), 1]]), WAIT);
    assert.deepEqual(appliedLines(d, editAt), [`-e -t ${vip} -r ${rip(2)} -m -w 1`]);

    // The operator puts the foreign services back for the stop scenarios.
    await ipvsadmRestore(FOREIGN_LINES);
    foreign = await foreignText();
  });

  it('stops with clean_stop false leaving the table as it is; the next start adopts it without a change', { timeout: 300_000 }, async () => {
    const hupAt = daemon.mark();
    await writeConfigDir(configDir, { global: { ...global, clean_stop: false } });
    await daemon.waitForMessage('new configuration in force', WAIT, hupAt);
    const before = await readTableText();
    await stopDaemon(daemon);
    assert.deepEqual(daemon.logs.find((l) => l.msg === 'lvsd stopped')?.['removed'], []);
    // The rejected reload logs its verdict and each issue (FILE:LINE:COL) at error: expected here.
    assertNoErrors(daemon, [/^configuration rejected/, /broken\.yaml:\d+:\d+: /]);
    assert.equal(await readTableText(), before, 'table left exactly as it was');
    assert.deepEqual(new Set(await topo.client.whoAnswersMany(httpUrl(VIP.steady), 2)), new Set(['rs1', 'rs2']), 'traffic flows with no daemon');

    // Restart on the same config and state (clean_stop true again, a new listen port): every real
    // keeps its entry until its first result, which confirms it; nothing is applied at all.
    const restart = { ...global, clean_stop: true, listen: globalConfig()['listen'] };
    await writeConfigDir(configDir, { global: restart });
    daemon = await Daemon.start({ configDir, label: 'lvsd-config-2' });
    const first = await daemon.waitForMessage('first check round in', START_WAIT);
    assert.equal(first['why'], 'all reals checked');
    await waitForPasses(listenPort(restart), 0, 1, WAIT); // the pass start() runs, every result in
    assert.deepEqual(appliedPasses(daemon), [], 'the restart applied nothing');
    assert.equal(await readTableText(), before, 'table unchanged by the restart');
  });

  it('stops with clean_stop true removing its services (also those added by reloads), and only those', TIMEOUT, async () => {
    const stopAt = daemon.mark();
    assertNoErrors(daemon);
    await stopDaemon(daemon);
    const stopLine = daemon.logs.slice(stopAt).find((l) => l.msg === 'clean stop: removing managed services');
    assert.deepEqual(
      [...((stopLine?.['lines'] as string[] | undefined) ?? [])].sort(),
      MANAGED.map((n) => `-D -t ${vport(n)}`).sort(),
    );
    const table: Table = await readTable();
    for (const n of MANAGED) assert.equal(table.byKey.has(key(n)), false, `${n} removed`);
    assert.equal(await foreignText(), foreign, 'foreign services after the clean stop');
  });
});
