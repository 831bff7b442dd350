// The sync daemon end to end with the fake ipvsadm: `lvsd run` starts lvsd.yaml's daemon, the real
// CLI switches the role over the real control socket (no table read for it), /status and /metrics
// show it, a daemon stopped behind lvsd's back comes back at the next resync, the run-time role
// survives a reload and a restart (the daemon stays up across the restart), and removing
// sync_daemon from lvsd.yaml stops only what lvsd started.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configDir, eventually, fakeIpvsadm, runLvsd, startDaemon, tcpListener } from '../helpers/daemon-process.js';
import type { ConfigDir, DaemonProcess, RunResult } from '../helpers/daemon-process.js';
import { fakeIpvs } from '../helpers/faults.js';
import type { FakeIpvs } from '../helpers/faults.js';
import type { StatusDocument } from '../../src/observe/status-document.js';

describe('sync_daemon with the fake ipvsadm', () => {
  let real: { port: number; close(): Promise<void> };
  let cfg: ConfigDir;
  let ipvs: FakeIpvs;
  let daemon: DaemonProcess;
  let globalBase: string;
  const lvsd = (...args: string[]): Promise<RunResult> => runLvsd([args[0]!, '-c', cfg.dir, ...args.slice(1)], ipvs.env);
  /** The fake kernel's `ipvsadm ARGS` (a test acting behind lvsd's back, or reading). */
  const fake = (...args: string[]): string => {
    const r = spawnSync(fakeIpvsadm, args, { env: { ...process.env, ...ipvs.env }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const daemons = (): string => fake('-L', '--daemon');
  const status = async (): Promise<StatusDocument> => (await (await fetch(`http://${cfg.listen}/status`)).json()) as StatusDocument;
  const metrics = async (): Promise<string> => (await fetch(`http://${cfg.listen}/metrics`)).text();
  const writeGlobal = (syncDaemon: string): Promise<void> => writeFile(join(cfg.dir, 'lvsd.yaml'), `${globalBase}${syncDaemon}`);
  const start = async (): Promise<void> => {
    daemon = startDaemon(cfg.dir, [], ipvs.env);
    await daemon.waitForLog((l) => l.event === 'first_round', 'first round');
  };
  const reload = async (): Promise<void> => {
    const seen = daemon.logs.length;
    daemon.child.kill('SIGHUP');
    await eventually(async () => (daemon.logs.slice(seen).some((l) => l.msg === 'new configuration in force' || l.event === 'config_unchanged') ? true : undefined), 'reload');
  };

  before(async () => {
    real = await tcpListener();
    cfg = await configDir({
      'web.yaml': `name: web\naddress: 127.0.0.1:8080\nforwarding: masq\ncheck: { type: tcp, interval: 300ms, timeout: 200ms, rise: 1, fall: 1 }\nreals:\n  - address: "127.0.0.1:${real.port}"\n`,
    }, 'clean_stop: false\n');
    globalBase = await readFile(join(cfg.dir, 'lvsd.yaml'), 'utf8');
    await writeGlobal('sync_daemon:\n  role: master\n  interface: eth9\n  syncid: 7\n  mcast_ttl: 2\n');
    ipvs = await fakeIpvs(cfg.dir, '');
    await start();
  });

  after(async () => {
    await daemon?.stop();
    await real?.close();
    await cfg?.remove();
  });

  test('lvsd.yaml\'s daemon is started with the first pass, with its options', async () => {
    await daemon.waitForLog((l) => l.event === 'sync_daemon' && l.action === 'start' && l.state === 'master', 'master started');
    assert.equal(daemons(), 'master sync daemon (mcast=eth9, syncid=7, maxlen=1472, group=224.0.0.81, port=8848, ttl=2)\n');
    const starts = (await ipvs.runs()).filter((r) => r.argv[0] === '--start-daemon');
    assert.deepEqual(starts.map((r) => r.argv), [['--start-daemon', 'master', '--mcast-interface', 'eth9', '--syncid', '7', '--mcast-ttl', '2']]);
    const show = await lvsd('sync-role');
    assert.equal(show.status, 0, show.stderr);
    assert.match(show.stdout, /^role {5}master \(from lvsd\.yaml\)$/m);
    assert.match(show.stdout, /^kernel {3}master \(interface eth9, syncid 7, maxlen 1472, group 224\.0\.0\.81, port 8848, ttl 2\)$/m);
  });

  test('lvsd sync-role backup: stop master, start backup, no read; status and metrics say who set it', async () => {
    const before = (await ipvs.runs()).length;
    const r = await lvsd('sync-role', 'backup');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^role {5}backup \(set at run time by socket uid 0 \(root, pid \d+\) at \S+; lvsd\.yaml says master\)$/m);
    assert.equal(daemons(), 'backup sync daemon (mcast=eth9, syncid=7, maxlen=1472, group=224.0.0.81, port=8848, ttl=2)\n');
    const runs = (await ipvs.runs()).slice(before).filter((x) => x.argv.some((a) => a.includes('daemon')));
    // The switch is a stop then a start with no read between them. Reads besides (the test's own
    // above, and lvsd's periodic resync every 5 s, which a loaded machine can land inside this test)
    // are not the switch's. Was an exact list: it failed on a CI machine at load 20 with one more read.
    const seq = runs.map((x) => x.argv.slice(0, 2).join(' '));
    assert.deepEqual(seq.filter((a) => a !== '-L --daemon'), ['--stop-daemon master', '--start-daemon backup']);
    assert.deepEqual(seq.slice(seq.indexOf('--stop-daemon master'), seq.indexOf('--start-daemon backup') + 1), ['--stop-daemon master', '--start-daemon backup']);
    assert.ok(seq.includes('-L --daemon'), 'the test\'s own read is logged');
    const quiet = await lvsd('sync-role', '--quiet');
    assert.equal(quiet.stdout, 'backup\n');
    const doc = await status();
    assert.equal(doc.sync_daemon?.role, 'backup');
    assert.equal(doc.sync_daemon?.source, 'runtime');
    assert.deepEqual(doc.sync_daemon?.kernel.map((d) => [d.state, d.owned]), [['backup', true]]);
    const m = await metrics();
    assert.match(m, /^lvsd_sync_daemon_running\{role="backup"\} 1$/m);
    assert.match(m, /^lvsd_sync_daemon_running\{role="master"\} 0$/m);
    assert.match(m, /^lvsd_sync_role\{role="backup",source="runtime"\} 1$/m);
    const text = await lvsd('status');
    assert.match(text.stdout, /^sync {5}role backup \(run time, socket uid 0 .*\); kernel: backup on eth9 syncid 7$/m);
    const bad = await lvsd('sync-role', 'primary');
    assert.equal(bad.status, 2, 'an unknown role is a usage error');
  });

  test('a daemon stopped behind lvsd\'s back is started again at the next resync (one log line)', async () => {
    fake('--stop-daemon', 'backup');
    const line = await daemon.waitForLog((l) => l.event === 'sync_daemon' && l.action === 'start' && /behind lvsd's back/.test(String(l.why)), 'repair');
    assert.equal(line.state, 'backup');
    assert.match(daemons(), /^backup sync daemon \(mcast=eth9, syncid=7,/);
    assert.match(await metrics(), /^lvsd_sync_daemon_repairs_total 1$/m);
  });

  test('a reload keeps the run-time role and applies new options to it; a restart keeps both', async () => {
    await writeGlobal('sync_daemon:\n  role: master\n  interface: eth9\n  syncid: 8\n  mcast_ttl: 2\n');
    await reload();
    await eventually(async () => (/syncid=8/.test(daemons()) ? true : undefined), 'backup restarted with syncid 8');
    assert.match(daemons(), /^backup sync daemon \(mcast=eth9, syncid=8,/);
    assert.equal((await status()).sync_daemon?.role, 'backup');
    assert.equal(await daemon.stop(), 0);
    assert.match(daemons(), /^backup sync daemon/, 'lvsd\'s stop leaves the kernel daemon running');
    const before = (await ipvs.runs()).length;
    await start();
    await daemon.waitForLog((l) => l.event === 'sync_role_restored' && l.role === 'backup', 'run-time role restored');
    await eventually(async () => ((await status()).sync_daemon?.last_read_at ? true : undefined), 'first read');
    const changes = (await ipvs.runs()).slice(before).filter((x) => /^--(start|stop)-daemon$/.test(x.argv[0] ?? ''));
    assert.deepEqual(changes, [], 'its own daemon found as wanted: nothing restarted');
    assert.deepEqual((await status()).sync_daemon?.kernel.map((d) => [d.state, d.owned]), [['backup', true]]);
  });

  test('sync-role config goes back to lvsd.yaml; sync_daemon removed stops lvsd\'s daemon, then roles are refused', async () => {
    const r = await lvsd('sync-role', 'config');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^role {5}master \(from lvsd\.yaml\)$/m);
    assert.match(daemons(), /^master sync daemon \(mcast=eth9, syncid=8,/);
    await writeGlobal('');
    await reload();
    await eventually(async () => (daemons() === '' ? true : undefined), 'daemon stopped');
    const refused = await lvsd('sync-role', 'master');
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /no sync_daemon section.*\[LVSD_SYNC_NOT_CONFIGURED\]/);
    assert.equal((await lvsd('sync-role', '--quiet')).stdout, 'unconfigured\n');
  });
});
