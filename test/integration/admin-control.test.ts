// Admin state end to end: `lvsd run` as a child process with the fake ipvsadm, driven by the real
// CLI over the real control socket and by files in a real maintenance directory, across a reload
// and a restart; a user that is not root is refused by the socket itself.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configDir, eventually, fakeIpvsadm, freePort, lvsdCommand, runLvsd, startDaemon, tcpListener } from '../helpers/daemon-process.js';
import type { ConfigDir, DaemonProcess, RunResult } from '../helpers/daemon-process.js';
import { fakeIpvs } from '../helpers/faults.js';
import type { FakeIpvs } from '../helpers/faults.js';
import type { StatusDocument } from '../../src/observe/status-document.js';

function service(name: string, vipPort: number, reals: readonly { port: number; weight: number }[]): string {
  return [
    `name: ${name}`,
    `address: 127.0.0.1:${vipPort}`,
    'forwarding: masq',
    'check: { type: tcp, interval: 300ms, timeout: 200ms, rise: 1, fall: 1 }',
    'reals:',
    ...reals.map((r) => `  - { address: "127.0.0.1:${r.port}", weight: ${r.weight} }`),
    '',
  ].join('\n');
}

/** "VIP REAL" -> kernel weight, from the fake table's -Sn. */
function weights(save: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of save.split('\n')) {
    const m = /^-a -t (\S+) -r (\S+) \S+ -w (\d+)/.exec(line);
    if (m) out.set(`${m[1]} ${m[2]}`, Number(m[3]));
  }
  return out;
}

/** Run the CLI as user nobody (uid 65534) with setpriv. */
function runAsNobody(args: readonly string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...lvsdCommand(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('admin state through the control socket and the maintenance directory', () => {
  let a: { port: number; close(): Promise<void> };
  let b: { port: number; close(): Promise<void> };
  let webPort: number;
  let apiPort: number;
  let cfg: ConfigDir;
  let ipvs: FakeIpvs;
  let daemon: DaemonProcess;
  let A: string;
  let B: string;
  let WEB: string;
  let API: string;
  const lvsd = (...args: string[]): Promise<RunResult> => runLvsd([args[0]!, '-c', cfg.dir, ...args.slice(1)], ipvs.env);
  const table = (): Map<string, number> => weights(ipvs.save());
  /** Connections the kernel would count for a real (the fake's --fake-counters). */
  const counters = async (serviceKey: string, real: string, active: number): Promise<void> => {
    const r = spawnSync(fakeIpvsadm, ['--fake-counters', serviceKey, real, String(active), '0'], { env: { ...process.env, ...ipvs.env }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  const start = async (): Promise<void> => {
    daemon = startDaemon(cfg.dir, [], ipvs.env);
    await daemon.waitForLog((l) => l.event === 'first_round', 'first round');
  };

  before(async () => {
    a = await tcpListener();
    b = await tcpListener();
    webPort = await freePort();
    apiPort = await freePort();
    A = `127.0.0.1:${a.port}`;
    B = `127.0.0.1:${b.port}`;
    WEB = `127.0.0.1:${webPort}`;
    API = `127.0.0.1:${apiPort}`;
    cfg = await configDir(
      {
        'web.yaml': service('web', webPort, [{ port: a.port, weight: 5 }, { port: b.port, weight: 5 }]),
        'api.yaml': service('api', apiPort, [{ port: a.port, weight: 3 }]),
      },
      // clean_stop: false so that the restart below finds the table as it was (an upgrade).
      'maintenance_dir: maint\nclean_stop: false\n',
    );
    ipvs = await fakeIpvs(cfg.dir, '');
    await start();
    await eventually(async () => (table().get(`${API} ${A}`) === 3 ? true : undefined), 'first table');
  });

  after(async () => {
    await daemon?.stop();
    await a?.close();
    await b?.close();
    await cfg?.remove();
  });

  test('the socket is mode 0600, owned by root', async () => {
    const st = await stat(join(cfg.dir, 'control.sock'));
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(st.uid, 0);
  });

  test('a user that is not root is refused by the socket (exit 1, says to run as root)', async () => {
    // Let nobody reach the socket's directory, so only the socket's own mode stands in the way.
    await chmod(cfg.dir, 0o755);
    const r = await runAsNobody(['drain', '--socket', join(cfg.dir, 'control.sock'), 'web']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /permission denied on .*control\.sock: the control socket is root-only .*run this as root.*\[LVSD_CONTROL_DENIED\]/);
    const list = await runAsNobody(['admin', '--socket', join(cfg.dir, 'control.sock')]);
    assert.equal(list.status, 1);
    // Nothing was drained.
    assert.equal(table().get(`${WEB} ${A}`), 5);
  });

  test('an unknown service or real is a clear error, exit 1, and changes nothing', async () => {
    const s = await lvsd('drain', 'nope');
    assert.equal(s.status, 1);
    assert.match(s.stderr, /unknown service "nope" \(services: (web, api|api, web)\) \[LVSD_ADMIN_UNKNOWN_TARGET\]/);
    const r = await lvsd('disable', 'web', '127.0.0.9:80');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /service "web" has no real 127\.0\.0\.9:80 \(reals: /);
    const h = await lvsd('disable', '--real', '127.0.0.9');
    assert.equal(h.status, 1);
    assert.match(h.stderr, /no service has a real 127\.0\.0\.9/);
    const u = await lvsd('drain', 'web', 'not-an-address');
    assert.equal(u.status, 2, 'a REAL that is no address is a usage error');
  });

  test('drain: weight 0, kept in the table; the change is logged with the peer', async () => {
    const r = await lvsd('drain', 'web', A);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `web ${A}: ready -> drain\n`);
    await eventually(async () => (table().get(`${WEB} ${A}`) === 0 ? true : undefined), 'web A at weight 0');
    assert.equal(table().get(`${API} ${A}`), 3, 'the same host in another service is untouched');
    const line = await daemon.waitForLog((l) => l.event === 'admin_change' && l.real === A && l.to === 'drain', 'admin_change logged');
    assert.match(String(line.cause), /^operator socket uid 0 \(root, pid \d+\)$/);
  });

  test('disable --real takes the host out of every service: weight 0, removed once idle', async () => {
    // web A still has connections (persistent clients): it stays at weight 0 until they end.
    await counters(`tcp:${WEB}`, A, 2);
    const r = await lvsd('disable', '--real', A);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').sort(), [`api ${A}: ready -> maint`, `web ${A}: drain -> maint`]);
    await eventually(async () => (!table().has(`${API} ${A}`) ? true : undefined), 'api A removed (idle)');
    assert.equal(table().get(`${WEB} ${A}`), 0, 'web A held at weight 0 while it has connections');
    await counters(`tcp:${WEB}`, A, 0);
    await eventually(async () => (!table().has(`${WEB} ${A}`) ? true : undefined), 'web A removed once idle');
    assert.equal(table().get(`${WEB} ${B}`), 5);
  });

  test('status, lvsd status, metrics and lvsd admin show it', async () => {
    const doc = (await (await fetch(`http://${cfg.listen}/status`)).json()) as StatusDocument;
    const webA = doc.services.find((s) => s.name === 'web')!.reals.find((x) => x.real === A)!;
    assert.equal(webA.state, 'maint');
    assert.equal(webA.admin.state, 'maint');
    assert.match(webA.admin.because.join(' '), /maint by operator \(socket uid 0/);
    assert.deepEqual(doc.admin.entries.map((e) => `${e.source} ${e.state} ${e.target}`).sort(), [`operator drain web ${A}`, `operator maint host ${A}`]);
    const metrics = await (await fetch(`http://${cfg.listen}/metrics`)).text();
    assert.match(metrics, new RegExp(`lvsd_real_admin_state\\{service="web",real="${A}"\\} 2`));
    assert.match(metrics, new RegExp(`lvsd_real_admin_state\\{service="web",real="${B}"\\} 0`));
    assert.match(metrics, /lvsd_admin_entries\{source="operator",state="maint"\} 1/);
    const text = await runLvsd(['status', '-c', cfg.dir]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`${A.replace(/\./g, '\\.')}\\s+maint \\(up\\)`));
    const list = await lvsd('admin', '--json');
    assert.equal(list.status, 0, list.stderr);
    const listing = JSON.parse(list.stdout) as { reals: { service: string; real: string; state: string }[] };
    assert.deepEqual(listing.reals.map((x) => `${x.service} ${x.real} ${x.state}`).sort(), [`api ${A} maint`, `web ${A} maint`]);
  });

  test('admin state survives a reload', async () => {
    await writeFile(join(cfg.dir, 'conf.d', 'web.yaml'), service('web', webPort, [{ port: a.port, weight: 5 }, { port: b.port, weight: 7 }]));
    await eventually(async () => (table().get(`${WEB} ${B}`) === 7 ? true : undefined), 'reload applied');
    assert.equal(table().has(`${WEB} ${A}`), false);
    assert.equal(table().has(`${API} ${A}`), false);
  });

  test('admin state survives a restart (state_dir/admin.json, 0600) and holds from the first pass', async () => {
    const file = join(cfg.stateDir, 'admin.json');
    const record = JSON.parse(await readFile(file, 'utf8')) as { version: number; entries: { state: string }[] };
    assert.equal(record.version, 1);
    assert.deepEqual(record.entries.map((e) => e.state).sort(), ['drain', 'maint']);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal(await daemon.stop(), 0);
    const before = (await ipvs.runs()).length;
    await start();
    await daemon.waitForLog((l) => l.event === 'admin_restored', 'admin state restored');
    await daemon.waitForLog((l) => l.event === 'first_round', 'first pass');
    const runs = (await ipvs.runs()).slice(before);
    assert.ok(runs.length > 0, 'the restarted daemon read the table');
    // No run of this daemon ever added A back: every -R since the restart leaves A out.
    for (const run of runs) assert.doesNotMatch(run.stdin ?? '', new RegExp(`-a -t \\S+ -r ${A.replace(/\./g, '\\.')} `));
    assert.equal(table().has(`${WEB} ${A}`), false);
  });

  test('enable --real brings the host back in every service', async () => {
    const r = await lvsd('enable', '--real', A);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`web ${A}: maint -> ready`));
    await eventually(async () => (table().get(`${WEB} ${A}`) === 5 && table().get(`${API} ${A}`) === 3 ? true : undefined), 'A back everywhere');
  });

  test('maintenance dir: a SERVICE@IP:PORT file takes that real out, deleting it brings it back', async () => {
    const file = join(cfg.dir, 'maint', `web@${A}`);
    await writeFile(file, '');
    await eventually(async () => (!table().has(`${WEB} ${A}`) ? true : undefined), 'web A removed by the file');
    assert.equal(table().get(`${API} ${A}`), 3);
    await daemon.waitForLog((l) => l.event === 'admin_change' && l.real === A && l.to === 'maint' && l.cause === `file ${file} added`, 'change logged with the file name');
    // enable does not override a maintenance file: it says what still holds the real.
    const en = await lvsd('enable', 'web', A);
    assert.equal(en.status, 0);
    assert.match(en.stderr, new RegExp(`still maint: web ${A} \\(maint by maintenance \\(file ${file.replace(/\./g, '\\.')}\\)\\)`));
    await rm(file);
    await eventually(async () => (table().get(`${WEB} ${A}`) === 5 ? true : undefined), 'web A back after the file is gone');
  });

  test('maintenance dir: a file named after the host (ldirectord style) takes it out of every service', async () => {
    const file = join(cfg.dir, 'maint', '127.0.0.1');
    await writeFile(file, '');
    await eventually(async () => (!table().has(`${WEB} ${A}`) && !table().has(`${WEB} ${B}`) && !table().has(`${API} ${A}`) ? true : undefined), 'every real of the host removed');
    await rm(file);
    await eventually(async () => (table().get(`${WEB} ${A}`) === 5 && table().get(`${WEB} ${B}`) === 7 && table().get(`${API} ${A}`) === 3 ? true : undefined), 'all back', 20_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${ipvs.save()}\n${daemon.logs.slice(-30).map((l) => JSON.stringify(l)).join('\n')}`);
    });
  });

  // Regression (issue 18): the watcher followed the removed directory's inode, so a file in the
  // re-created one left the real in traffic, and a directory that stayed away kept its files'
  // entries until a restart.
  test('maintenance dir removed and re-created: rm -rf maint; mkdir maint; touch maint/IP:PORT takes the real out', async () => {
    const dir = join(cfg.dir, 'maint');
    await writeFile(join(dir, `web@${B}`), '');
    await eventually(async () => (!table().has(`${WEB} ${B}`) ? true : undefined), 'web B out by the first file');
    const gone = (): number => daemon.logs.filter((l) => l.event === 'maintenance_dir' && l.action === 'gone').length;
    const goneBefore = gone();
    await rm(dir, { recursive: true, force: true });
    // As an operator types it: the removal is seen before the directory comes back.
    await eventually(async () => (gone() > goneBefore ? true : undefined), 'the removal seen');
    await mkdir(dir);
    await writeFile(join(dir, A), '');
    await eventually(async () => (!table().has(`${WEB} ${A}`) && !table().has(`${API} ${A}`) ? true : undefined), 'A out by a file in the re-created directory');
    // The first file went with the old directory: B is back.
    await eventually(async () => (table().get(`${WEB} ${B}`) === 7 ? true : undefined), 'web B back (its file was removed with the directory)');
    // And the new directory is watched, not only scanned once.
    await rm(join(dir, A));
    await eventually(async () => (table().get(`${WEB} ${A}`) === 5 && table().get(`${API} ${A}`) === 3 ? true : undefined), 'A back after its file in the new directory is deleted');
  });

  test('maintenance dir that stays away: its files\' entries are dropped (logged once), and it is read again when it comes back', async () => {
    const dir = join(cfg.dir, 'maint');
    const gone = (): number => daemon.logs.filter((l) => l.event === 'maintenance_dir' && l.action === 'gone').length;
    const goneBefore = gone();
    await writeFile(join(dir, `api@${A}`), '');
    await eventually(async () => (!table().has(`${API} ${A}`) ? true : undefined), 'api A out by its file');
    await rm(dir, { recursive: true, force: true });
    await eventually(async () => (gone() > goneBefore ? true : undefined), 'the directory logged as gone');
    await eventually(async () => (table().get(`${API} ${A}`) === 3 ? true : undefined), 'api A back while the directory is away');
    const backBefore = daemon.logs.filter((l) => l.event === 'maintenance_dir' && l.action === 'back').length;
    await mkdir(dir);
    await writeFile(join(dir, `api@${A}`), '');
    await eventually(async () => (!table().has(`${API} ${A}`) ? true : undefined), 'api A out again by a file in the returned directory');
    assert.equal(daemon.logs.filter((l) => l.event === 'maintenance_dir' && l.action === 'back').length, backBefore + 1);
    await rm(join(dir, `api@${A}`));
    await eventually(async () => (table().get(`${API} ${A}`) === 3 ? true : undefined), 'api A back');
    // Once while it stayed away, not once per presence check.
    assert.equal(gone(), goneBefore + 1);
  });
});
