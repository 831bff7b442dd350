// Fault suite, signals: HUP/TERM/INT/USR2 at each lifecycle point (during start, during a pass,
// during stop) and 100 SIGHUPs in a burst, against `lvsd run` as a child process with the fake
// ipvsadm. Each case checks the outcome the README documents, that foreign services are
// byte-identical, and that no ipvsadm child, fd or process is left behind.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configDir, eventually, startDaemon } from '../helpers/daemon-process.js';
import type { DaemonProcess } from '../helpers/daemon-process.js';
import { FOREIGN, children, fakeIpvs, fdCount, gatedIpvsadm, gone } from '../helpers/faults.js';

/** A service whose reals need no listener (check type none: always up). */
function service(weight: number, vip = '192.0.2.10:80'): string {
  return `name: web\naddress: ${vip}\nforwarding: gate\ncheck: { type: none }\nreals:\n  - { address: "198.51.100.11:80", weight: ${weight} }\n`;
}

/** The daemon's exit status, or a failed test (and SIGKILL) when it does not exit within `ms`. */
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

async function healthz(listen: string): Promise<number> {
  return (await fetch(`http://${listen}/healthz`)).status;
}

describe('fault suite: signals', { timeout: 120_000 }, () => {
  let scratch: string;
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'lvsd-fault-signals-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  test('regression: SIGHUP during start no longer crashes (TypeError on watcher); it is applied once running', async () => {
    const dir = await mkdtemp(join(scratch, 'hup-'));
    const ipvs = await fakeIpvs(dir, FOREIGN);
    const gate = await gatedIpvsadm(dir, '--version');
    const cfg = await configDir({ 'web.yaml': service(5) }, `ipvsadm: ${gate.path}\n`);
    const d = startDaemon(cfg.dir, [], ipvs.env);
    try {
      const versionPid = await gate.entered();
      // Edited while starting: the watcher does not exist yet, so only the queued SIGHUP can see it.
      await writeFile(join(cfg.dir, 'conf.d', 'web.yaml'), service(7));
      d.child.kill('SIGHUP');
      await d.waitForLog((l) => l.msg === 'reload requested during start; it runs once started', 'HUP queued');
      await gate.open();
      await gone(versionPid, 'ipvsadm --version');
      await d.waitForLog((l) => l.msg === 'configuration reloaded' && String(l.reason).includes('SIGHUP'), 'queued reload applied');
      await eventually(async () => (ipvs.save().includes('-a -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 7') ? true : undefined), 'new weight in force');
      assert.equal(d.child.exitCode, null);
      assert.equal(await healthz(cfg.listen), 200);
      assert.ok(ipvs.save().startsWith(FOREIGN) || ipvs.save().includes(FOREIGN), ipvs.save());
      d.child.kill('SIGTERM');
      assert.equal(await exitWithin(d, 20_000, 'SIGTERM'), 0);
      assert.equal(ipvs.save(), FOREIGN, 'clean stop leaves exactly the foreign service');
    } finally {
      await d.stop();
      await cfg.remove();
    }
  });

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGUSR2'] as const) {
    test(`regression: ${signal} during start aborts the start cleanly (no "clean stop failed", no daemon without handlers)`, async () => {
      const dir = await mkdtemp(join(scratch, `${signal}-start-`));
      const ipvs = await fakeIpvs(dir, FOREIGN);
      const gate = await gatedIpvsadm(dir, '--version');
      const cfg = await configDir({ 'web.yaml': service(5) }, `ipvsadm: ${gate.path}\n`);
      const d = startDaemon(cfg.dir, [], ipvs.env);
      try {
        const versionPid = await gate.entered();
        d.child.kill(signal);
        assert.equal(await exitWithin(d, 20_000, signal), 0, d.stderr());
        // The start's ipvsadm --version was aborted (its process group killed), not orphaned.
        await gone(versionPid, 'ipvsadm --version');
        assert.ok(!d.logs.some((l) => /clean stop failed/.test(String(l.msg))), 'no "clean stop failed"');
        assert.ok(!d.logs.some((l) => l.msg === 'status and metrics listener ready'), 'the start did not carry on');
        assert.ok(d.logs.some((l) => l.msg === 'lvsd stopping (start aborted)'));
        // Nothing ran against the table: a start changes nothing before its first check round.
        assert.equal(ipvs.save(), FOREIGN);
        assert.deepEqual((await ipvs.runs()).filter((r) => r.argv[0] === '-R'), []);
      } finally {
        await gate.open();
        await d.stop();
        await cfg.remove();
      }
    });
  }

  test('SIGHUP during a pass: the reload is taken in, the next pass applies it', async () => {
    const dir = await mkdtemp(join(scratch, 'hup-pass-'));
    const ipvs = await fakeIpvs(dir, FOREIGN);
    const gate = await gatedIpvsadm(dir, '-R');
    const cfg = await configDir({ 'web.yaml': service(5) }, `ipvsadm: ${gate.path}\n`);
    const d = startDaemon(cfg.dir, [], ipvs.env);
    try {
      // The first pass's ipvsadm -R waits at the gate: a pass is running.
      const rPid = await gate.entered();
      await writeFile(join(cfg.dir, 'conf.d', 'web.yaml'), service(7));
      d.child.kill('SIGHUP');
      await d.waitForLog((l) => l.msg === 'configuration reloaded' && String(l.reason).includes('SIGHUP'), 'reload during the pass');
      await gate.open();
      await gone(rPid, 'the gated ipvsadm -R');
      await eventually(async () => (ipvs.save().includes('-r 198.51.100.11:80 -g -w 7') ? true : undefined), 'the reloaded weight applied');
      assert.ok(!d.logs.some((l) => l.msg === 'IPVS table still differs after apply; will retry'), 'no false verify failure');
      assert.equal(d.child.exitCode, null);
      d.child.kill('SIGTERM');
      assert.equal(await exitWithin(d, 20_000, 'SIGTERM'), 0);
      assert.equal(ipvs.save(), FOREIGN);
    } finally {
      await gate.open();
      await d.stop();
      await cfg.remove();
    }
  });

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGUSR2'] as const) {
    test(`${signal} during a pass aborts the pass (its ipvsadm killed, not waited for) and stops`, async () => {
      const dir = await mkdtemp(join(scratch, `${signal}-pass-`));
      const ipvs = await fakeIpvs(dir, FOREIGN);
      const gate = await gatedIpvsadm(dir, '-R');
      const cfg = await configDir({ 'web.yaml': service(5) }, `ipvsadm: ${gate.path}\n`);
      const d = startDaemon(cfg.dir, [], ipvs.env);
      try {
        const rPid = await gate.entered();
        d.child.kill(signal);
        assert.equal(await exitWithin(d, 20_000, signal), 0, d.stderr());
        await gone(rPid, 'the pass\'s ipvsadm -R');
        assert.ok(d.logs.some((l) => l.msg === 'IPVS pass aborted by stop'), 'the pass was aborted');
        // The aborted -R never reached the table; the clean stop found nothing of lvsd's to remove.
        assert.equal(ipvs.save(), FOREIGN);
        const deletes = (await ipvs.runs()).filter((r) => r.argv[0] === '-R' && /^-D /m.test(r.stdin ?? ''));
        assert.deepEqual(deletes, []);
      } finally {
        await gate.open();
        await d.stop();
        await cfg.remove();
      }
    });
  }

  test('SIGHUP and a second SIGINT during stop are ignored (the stop finishes as it began)', async () => {
    const dir = await mkdtemp(join(scratch, 'hup-stop-'));
    const ipvs = await fakeIpvs(dir, FOREIGN);
    const gate = await gatedIpvsadm(dir, '-R', { armed: false });
    const cfg = await configDir({ 'web.yaml': service(5) }, `ipvsadm: ${gate.path}\n`);
    const d = startDaemon(cfg.dir, [], ipvs.env);
    try {
      await eventually(async () => (ipvs.save().includes('-r 198.51.100.11:80 -g -w 5') ? true : undefined), 'service added');
      await gate.arm();
      d.child.kill('SIGTERM');
      // The clean stop's `ipvsadm -R` (the delete) waits at the gate: the daemon is stopping.
      const rPid = await gate.entered();
      d.child.kill('SIGHUP');
      await d.waitForLog((l) => l.msg === 'reload ignored: stopping', 'HUP ignored while stopping');
      // A second stop signal joins the first.
      d.child.kill('SIGINT');
      await gate.open();
      assert.equal(await exitWithin(d, 20_000, 'SIGTERM'), 0);
      await gone(rPid, 'ipvsadm -R');
      assert.ok(!d.logs.some((l) => l.msg === 'configuration reloaded'));
      assert.equal(d.logs.filter((l) => String(l.msg).startsWith('lvsd stopping')).length, 1);
      assert.equal(ipvs.save(), FOREIGN);
    } finally {
      await gate.open();
      await d.stop();
      await cfg.remove();
    }
  });

  test('100 SIGHUPs in a burst: still running, config in force, no fd or child left behind', async () => {
    const dir = await mkdtemp(join(scratch, 'burst-'));
    const ipvs = await fakeIpvs(dir, FOREIGN);
    const cfg = await configDir({ 'web.yaml': service(5) });
    const d = startDaemon(cfg.dir, [], ipvs.env);
    try {
      const pid = d.child.pid!;
      await eventually(async () => (ipvs.save().includes('-r 198.51.100.11:80 -g -w 5') ? true : undefined), 'service added');
      await eventually(async () => ((await children(pid)).length === 0 ? true : undefined), 'no ipvsadm running');
      const fdsBefore = await fdCount(pid);
      for (let i = 0; i < 100; i++) d.child.kill('SIGHUP');
      // After the burst, a change plus one more HUP: seen and applied, so the daemon still reloads.
      await writeFile(join(cfg.dir, 'conf.d', 'web.yaml'), service(8));
      d.child.kill('SIGHUP');
      await d.waitForLog((l) => l.msg === 'configuration reloaded', 'reload after the burst');
      await eventually(async () => (ipvs.save().includes('-r 198.51.100.11:80 -g -w 8') ? true : undefined), 'new weight in force');
      assert.equal(d.child.exitCode, null);
      assert.equal(await healthz(cfg.listen), 200);
      const reloads = d.logs.filter((l) => typeof l.reason === 'string' && l.reason.includes('SIGHUP') && /configuration (unchanged|reloaded)/.test(String(l.msg)));
      assert.ok(reloads.length >= 1 && reloads.length <= 101, `coalesced reloads: ${reloads.length}`);
      await eventually(async () => ((await children(pid)).length === 0 ? true : undefined), 'no child left');
      await eventually(async () => ((await fdCount(pid)) <= fdsBefore ? true : undefined), `fds back to ${fdsBefore}`);
      assert.ok(ipvs.save().includes(FOREIGN.trim().split('\n')[1]!));
      d.child.kill('SIGTERM');
      assert.equal(await exitWithin(d, 20_000, 'SIGTERM'), 0);
      assert.equal(ipvs.save(), FOREIGN);
    } finally {
      await d.stop();
      await cfg.remove();
    }
  });
});
