// Fault suite on the real kernel: lvsd killed with SIGKILL (no clean stop, no chance to tidy up)
// and started again on the same config and state dir, while a client keeps sending requests
// through the VIP. The kernel keeps the table the dead daemon left; the new daemon adopts it and
// changes nothing before its first results, so no live real is ever removed or added twice and
// every request is answered. Regression for issue 10's "kill -9 then restart".

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { httpUrl } from './lib/client.js';
import { Daemon, makeConfigDir } from './lib/daemon.js';
import { skipOutsideVm } from './lib/exec.js';
import { ipvsadm, waitForTable } from './lib/ipvsadm.js';
import { appliedLines, globalConfig, hasReals, listenPort, START_WAIT, stopDaemon, TableRecorder, waitForPasses } from './lib/scenario.js';
import { Topology } from './lib/topology.js';

const TIMEOUT = { timeout: 400_000 };
const VIP = '10.20.0.61';
const KEY = `tcp:${VIP}:80`;
const FOREIGN_VIP = '10.20.0.62';
const rip = (n: number): string => `10.10.${n}.2:80`;
const ALL: readonly (readonly [string, number])[] = [[rip(1), 1], [rip(2), 1], [rip(3), 1]];

describe('fault: kill -9 then restart (kernel IPVS)', { skip: skipOutsideVm }, () => {
  let topo: Topology;
  let configDir: string;
  let port: number;
  let daemon: Daemon | null = null;

  before(async () => {
    topo = await Topology.create({ reals: 3 });
    await topo.startHttpOnAll();
    await topo.addVip(VIP);
    await topo.addVip(FOREIGN_VIP);
    await ipvsadm('-A', '-t', `${FOREIGN_VIP}:80`, '-s', 'rr');
    await ipvsadm('-a', '-t', `${FOREIGN_VIP}:80`, '-r', rip(3), '-m', '-w', '5');
    const global = globalConfig();
    port = listenPort(global);
    configDir = await makeConfigDir({
      global,
      services: { web: { name: 'web', address: `${VIP}:80`, reals: [1, 2, 3].map((n) => ({ address: rip(n) })) } },
    });
  });

  after(async () => {
    if (daemon) await stopDaemon(daemon).catch(() => undefined);
    await ipvsadm('-D', '-t', `${FOREIGN_VIP}:80`).catch(() => undefined);
    await topo?.teardown();
  });

  it('no live real is removed or added twice, and traffic keeps flowing', TIMEOUT, async () => {
    daemon = await Daemon.start({ configDir, label: 'lvsd-killed' });
    await waitForTable((t) => hasReals(t, KEY, ALL), START_WAIT);
    const foreignBefore = (await ipvsadm('-Sn')).split('\n').filter((l) => l.includes(FOREIGN_VIP)).join('\n');

    const recorder = new TableRecorder();
    // Requests through the VIP for the whole kill and restart, one after the other.
    let traffic = true;
    const answers: string[] = [];
    const failures: string[] = [];
    const url = httpUrl(VIP);
    const load = (async () => {
      while (traffic) {
        const r = await topo.client.tryWhoAnswers(url, 5000);
        if ('name' in r) answers.push(r.name);
        else failures.push(r.error);
      }
    })();

    // Traffic is flowing before the kill (the first requests are slow under emulation).
    await pollAnswers(answers, 3);
    const killed = daemon;
    killed.signal('SIGKILL');
    const exit = await killed.exited;
    assert.equal(exit.signal, 'SIGKILL');
    daemon = null;
    // The kernel keeps what the dead daemon left.
    await waitForTable((t) => hasReals(t, KEY, ALL), 10_000);

    const answersBeforeRestart = answers.length;
    daemon = await Daemon.start({ configDir, label: 'lvsd-restarted' });
    // In sync: the restarted daemon's first reconcile pass is done (it found nothing to change).
    await waitForPasses(port, 0, 1, START_WAIT);
    // One more request round after the new daemon took over.
    await waitForTable((t) => hasReals(t, KEY, ALL), START_WAIT);
    const afterTakeOver = answers.length;
    await pollAnswers(answers, afterTakeOver + 6);
    traffic = false;
    await load;
    const tables = await recorder.stop();

    tables.forEach((t, i) => assert.ok(hasReals(t, KEY, ALL), `sample ${i}: the service lost or changed a live real: ${JSON.stringify(t.byKey.get(KEY) ?? null)}`));
    // Adopted as it was: the restarted daemon had nothing to apply to its own service.
    assert.deepEqual(appliedLines(daemon).filter((l) => l.includes(VIP)), [], 'the restarted daemon re-applied lines for a table that was right');
    assert.deepEqual(failures, [], 'requests through the VIP failed during the kill and restart');
    assert.ok(answersBeforeRestart > 0 && answers.length > answersBeforeRestart, 'requests were answered before and after the restart');
    assert.deepEqual(new Set(answers), new Set(['rs1', 'rs2', 'rs3']), 'every real kept serving');
    const foreignAfter = (await ipvsadm('-Sn')).split('\n').filter((l) => l.includes(FOREIGN_VIP)).join('\n');
    assert.equal(foreignAfter, foreignBefore, 'the foreign service is byte-identical');
  });
});

/** Waits (bounded) until `answers` has at least `count` entries. */
async function pollAnswers(answers: readonly string[], count: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (answers.length < count) {
    if (Date.now() > deadline) throw new Error(`only ${answers.length} of ${count} answers`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
