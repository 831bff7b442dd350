// Fault suite, ipvsadm: missing, no IPVS in the kernel, failing, printing garbage, hanging (during
// a pass, then SIGTERM). Each case: the daemon lives (or exits as documented), foreign services
// stay byte-identical, nothing is applied on a guess, and no ipvsadm is left behind.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configDir, eventually, startDaemon } from '../helpers/daemon-process.js';
import type { DaemonProcess } from '../helpers/daemon-process.js';
import { FOREIGN, alive, fakeIpvs } from '../helpers/faults.js';

const SERVICE = 'name: web\naddress: 192.0.2.10:80\nforwarding: gate\ncheck: { type: none }\nreals:\n  - { address: "198.51.100.11:80", weight: 5 }\n';

async function exitWithin(d: DaemonProcess, ms: number, what: string): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const over = new Promise<'over'>((resolve) => (timer = setTimeout(() => resolve('over'), ms)));
  const r = await Promise.race([d.exited, over]);
  clearTimeout(timer);
  if (r === 'over') {
    d.child.kill('SIGKILL');
    assert.fail(`daemon did not exit after ${what}\nlogs:\n${d.logs.map((l) => JSON.stringify(l)).join('\n')}`);
  }
  return r;
}

describe('fault suite: ipvsadm', { timeout: 180_000 }, () => {
  let scratch: string;
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'lvsd-fault-ipvsadm-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  for (const [name, extra, env] of [
    ['no IPVS in the kernel', '', { LVSD_FAKE_IPVS_FAIL: 'not-loaded' }],
    ['ipvsadm missing', 'ipvsadm: /nonexistent/sbin/ipvsadm\n', {}],
  ] as const) {
    test(`regression: run with ${name} no longer logs "clean stop failed; managed services may remain" at stop`, async () => {
      const ipvs = await fakeIpvs(await mkdtemp(join(scratch, 'noipvs-')), FOREIGN, env);
      const cfg = await configDir({ 'web.yaml': SERVICE }, extra);
      const d = startDaemon(cfg.dir, [], ipvs.env);
      try {
        const unusable = await d.waitForLog((l) => l.msg === 'ipvsadm is not usable; will keep retrying', 'start-up error');
        assert.match(String(unusable.code), /^LVSD_IPVSADM_(MISSING|FAILED)$/);
        // Checks run and the reconciler tries (and fails) without taking the daemon down.
        await d.waitForLog((l) => l.msg === 'IPVS sync failed; will retry', 'a failed pass');
        assert.equal(d.child.exitCode, null);
        d.child.kill('SIGTERM');
        assert.equal(await exitWithin(d, 20_000, 'SIGTERM'), 0);
        assert.ok(!d.logs.some((l) => /clean stop failed/.test(String(l.msg))), 'no false alarm');
        assert.ok(d.logs.some((l) => l.msg === 'clean stop could not read the IPVS table; this run changed nothing in it and no earlier run left a record'));
        assert.equal(ipvs.save(), FOREIGN);
      } finally {
        await d.stop();
        await cfg.remove();
      }
    });
  }

  test('ipvsadm -R failing: logged and retried, the daemon lives, foreign services byte-identical', async () => {
    const ipvs = await fakeIpvs(await mkdtemp(join(scratch, 'failing-')), FOREIGN, { LVSD_FAKE_IPVS_FAIL: 'exit:1@restore' });
    const cfg = await configDir({ 'web.yaml': SERVICE });
    const d = startDaemon(cfg.dir, [], ipvs.env);
    try {
      await d.waitForLog((l) => l.msg === 'IPVS table still differs after apply; will retry' || l.msg === 'IPVS sync failed; will retry', 'failure logged');
      assert.equal(d.child.exitCode, null);
      const health = await fetch(`http://${cfg.listen}/healthz`);
      assert.ok([200, 503].includes(health.status), 'the API answers');
      await health.text();
      assert.equal(ipvs.save(), FOREIGN);
      d.child.kill('SIGTERM');
      assert.equal(await exitWithin(d, 20_000, 'SIGTERM'), 0);
      assert.equal(ipvs.save(), FOREIGN);
    } finally {
      await d.stop();
      await cfg.remove();
    }
  });

  test('ipvsadm printing garbage: refused by the parser (nothing applied on a guess), the daemon lives; the clean stop cannot verify: exit 1', async () => {
    const ipvs = await fakeIpvs(await mkdtemp(join(scratch, 'garbage-')), FOREIGN, { LVSD_FAKE_IPVS_FAIL: 'garbage@read' });
    const cfg = await configDir({ 'web.yaml': SERVICE });
    const d = startDaemon(cfg.dir, [], ipvs.env);
    try {
      const failed = await d.waitForLog((l) => l.msg === 'IPVS sync failed; will retry', 'parse failure');
      assert.equal(failed.code, 'LVSD_IPVS_PARSE');
      assert.deepEqual((await ipvs.runs()).filter((r) => r.argv[0] === '-R'), [], 'nothing applied without a readable table');
      assert.equal(d.child.exitCode, null);
      d.child.kill('SIGTERM');
      // Documented: a clean stop that cannot read the table cannot say nothing remains.
      assert.equal(await exitWithin(d, 20_000, 'SIGTERM'), 1);
      const line = d.logs.find((l) => l.msg === 'clean stop failed; managed services may remain in the kernel');
      assert.equal(line?.code, 'LVSD_IPVS_PARSE');
      assert.equal(ipvs.save(), FOREIGN);
    } finally {
      await d.stop();
      await cfg.remove();
    }
  });

  test('regression: SIGTERM while ipvsadm -R hangs stops within the stop budget (it took 119 s: the pass\'s apply timeout, then the clean stop\'s)', async () => {
    // The service is already in the kernel at another weight: the first pass edits it (-R hangs),
    // and the clean stop's delete (-R) hangs too.
    const seed = `${FOREIGN}-A -t 192.0.2.10:80 -s wlc\n-a -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 3\n`;
    const ipvs = await fakeIpvs(await mkdtemp(join(scratch, 'hang-')), seed, { LVSD_FAKE_IPVS_FAIL: 'hang@restore' });
    const before = ipvs.save();
    const cfg = await configDir({ 'web.yaml': SERVICE });
    const d = startDaemon(cfg.dir, [], ipvs.env);
    try {
      await d.waitForLog((l) => l.msg === 'applying IPVS changes', 'a pass applying');
      const hung = await eventually(async () => (await ipvs.runs()).find((r) => r.argv[0] === '-R') as { pid?: number } | undefined, 'the hung -R');
      assert.ok(typeof hung.pid === 'number');
      assert.ok(await alive(hung.pid), 'ipvsadm -R hangs');
      d.child.kill('SIGTERM');
      // Bounded wait: the stop budget is 15 s; before the fix this took the apply timeout plus the clean stop's.
      const code = await exitWithin(d, 25_000, 'SIGTERM with ipvsadm -R hanging');
      // The clean stop's own -R hangs too, so it cannot finish: documented exit 1, and an error line
      // with its code (the -R's own deadline, or the stop budget, whichever ends it first).
      assert.equal(code, 1);
      const shown = (): string => d.logs.filter((l) => l.level !== 'debug').map((l) => JSON.stringify(l)).join('\n');
      assert.ok(
        d.logs.some((l) => l.level === 'error' && /^LVSD_(STOP_TIMEOUT|IPVSADM_FAILED)$/.test(String(l.code)) && /clean stop failed|did not finish/.test(String(l.msg)) && /timed out|budget|aborted/.test(`${String(l.err)} ${String(l.msg)}`)),
        `the cause is logged with its code:\n${shown()}`,
      );
      assert.ok(d.logs.some((l) => l.msg === 'IPVS pass aborted by stop'), 'the running pass was aborted, not waited for');
      assert.ok(d.logs.some((l) => l.msg === 'clean stop: removing managed services'), 'the clean stop was tried after the pass was aborted');
      // Every ipvsadm it started was killed, none orphaned.
      for (const r of (await ipvs.runs()) as { pid?: number }[]) if (typeof r.pid === 'number') assert.equal(await alive(r.pid), false, `ipvsadm ${r.pid} left behind`);
      // Nothing applied: the table is as it was, foreign service included.
      assert.equal(ipvs.save(), before);
    } finally {
      await d.stop();
      await cfg.remove();
    }
  });
});
