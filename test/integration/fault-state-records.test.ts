// Fault suite, state records as input (issue 18): sync-daemon.json and admin.json with values the
// schema used to take but the daemon could not use. Each case runs `lvsd run` as a child process
// with the fake ipvsadm and checks the safe default, one log line, the record moved aside, and that
// /status, the page and the CLI keep answering.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configDir, eventually, fakeIpvsadm, runLvsd, startDaemon, tcpListener } from '../helpers/daemon-process.js';
import type { ConfigDir, TcpListener } from '../helpers/daemon-process.js';
import { fakeIpvs } from '../helpers/faults.js';
import type { StatusDocument } from '../../src/observe/status-document.js';

const service = (port: number): string =>
  `name: web\naddress: 127.0.0.1:8080\nforwarding: masq\ncheck: { type: tcp, interval: 300ms, timeout: 200ms, rise: 1, fall: 1 }\nreals:\n  - address: "127.0.0.1:${port}"\n`;

async function corruptCopies(stateDir: string, name: string): Promise<string[]> {
  return (await readdir(stateDir)).filter((f) => f.startsWith(`${name}.corrupt-`));
}

describe('fault suite: unusable state records', { timeout: 120_000 }, () => {
  let real: TcpListener;
  before(async () => {
    real = await tcpListener();
  });
  after(async () => {
    await real.close();
  });

  test('regression: sync-daemon.json with "since": -1e20 no longer starts the master daemon while lvsd.yaml says backup', async () => {
    const cfg: ConfigDir = await configDir({ 'web.yaml': service(real.port) }, 'sync_daemon:\n  role: backup\n  interface: eth9\n  syncid: 7\n');
    const ipvs = await fakeIpvs(cfg.dir, '');
    const record = '{"version":1,"runtime":{"role":"master","by":"socket uid 0 (root)","since":-1e20},"started":["master"]}\n';
    await mkdir(cfg.stateDir, { recursive: true });
    await writeFile(join(cfg.stateDir, 'sync-daemon.json'), record);
    const d = startDaemon(cfg.dir, [], ipvs.env);
    try {
      await d.waitForLog((l) => l.event === 'sync_daemon' && l.action === 'start', 'a sync daemon started');
      const daemons = spawnSync(fakeIpvsadm, ['-L', '--daemon'], { env: { ...process.env, ...ipvs.env }, encoding: 'utf8' });
      assert.match(daemons.stdout, /^backup sync daemon/, 'lvsd.yaml\'s role, not the record\'s');
      assert.doesNotMatch(daemons.stdout, /master/);
      const unusable = d.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('sync daemon record unusable'));
      assert.equal(unusable.length, 1, 'logged once');
      assert.equal(unusable[0]?.level, 'error');
      assert.equal(unusable[0]?.code, 'LVSD_STATE_IO');
      assert.match(String(unusable[0]?.err), /runtime\.since/);
      const moved = await corruptCopies(cfg.stateDir, 'sync-daemon.json');
      assert.equal(moved.length, 1);
      assert.equal(await readFile(join(cfg.stateDir, moved[0]!), 'utf8'), record, 'kept as it was, for the operator');
      assert.equal(unusable[0]?.movedTo, join(cfg.stateDir, moved[0]!));

      const status = await fetch(`http://${cfg.listen}/status`);
      assert.equal(status.status, 200);
      const doc = (await status.json()) as StatusDocument;
      assert.equal(doc.sync_daemon?.role, 'backup');
      const role = await runLvsd(['sync-role', '-c', cfg.dir], ipvs.env);
      assert.equal(role.status, 0, role.stderr);
      assert.match(role.stdout, /^role {5}backup \(from lvsd\.yaml\)$/m);
      assert.equal(await d.stop(), 0, d.stderr());
    } finally {
      await d.stop();
      await cfg.remove();
    }
  });

  test('regression: admin.json with "since": 1e300 no longer makes /status, the page and lvsd admin/status fail, nor lvsd drain apply unsaved and unlogged', async () => {
    const cfg: ConfigDir = await configDir({ 'web.yaml': service(real.port) });
    const ipvs = await fakeIpvs(cfg.dir, '');
    const record = JSON.stringify({ version: 1, entries: [{ target: { kind: 'service', service: 'web' }, state: 'maint', by: 'socket uid 0 (root)', since: 1e300 }] });
    await mkdir(cfg.stateDir, { recursive: true });
    await writeFile(join(cfg.stateDir, 'admin.json'), record);
    const d = startDaemon(cfg.dir, [], ipvs.env);
    try {
      await d.waitForLog((l) => l.event === 'first_round', 'first round');
      const unusable = d.logs.filter((l) => l.msg === 'admin state record unusable; starting with no operator admin state');
      assert.equal(unusable.length, 1);
      assert.equal(unusable[0]?.code, 'LVSD_STATE_IO');
      assert.match(String(unusable[0]?.err), /entries\[0\]\.since/);
      const moved = await corruptCopies(cfg.stateDir, 'admin.json');
      assert.equal(moved.length, 1);
      assert.equal(await readFile(join(cfg.stateDir, moved[0]!), 'utf8'), record);

      // The safe default: no operator entry, so the real carries traffic.
      await eventually(async () => (/-a -t 127\.0\.0\.1:8080 -r 127\.0\.0\.1:\d+ -m -w 1/.test(ipvs.save()) ? true : undefined), 'real in the table');
      assert.equal((await fetch(`http://${cfg.listen}/status`)).status, 200);
      assert.equal((await fetch(`http://${cfg.listen}/`)).status, 200);
      for (const args of [['admin'], ['status']]) {
        const r = await runLvsd([args[0]!, '-c', cfg.dir], ipvs.env);
        assert.equal(r.status, 0, `${args[0]}: ${r.stderr}`);
      }
      const drain = await runLvsd(['drain', 'web', '-c', cfg.dir], ipvs.env);
      assert.equal(drain.status, 0, drain.stderr);
      await d.waitForLog((l) => l.event === 'admin_command' && l.command === 'drain', 'the drain logged');
      await eventually(async () => {
        const saved = JSON.parse(await readFile(join(cfg.stateDir, 'admin.json'), 'utf8').catch(() => '{}')) as { entries?: { state: string; since: number }[] };
        return saved.entries?.length === 1 && saved.entries[0]!.state === 'drain' ? true : undefined;
      }, 'the drain saved');
      assert.equal(await d.stop(), 0, d.stderr());
    } finally {
      await d.stop();
      await cfg.remove();
    }
  });
});
