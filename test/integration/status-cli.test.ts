// `lvsd status [--json]` against a running daemon driving the fake ipvsadm (a table in a file):
// health, reasons, config vs kernel weights, connection counters, sorry servers; and the errors.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { StatusDocument } from '../../src/observe/status-document.js';
import { configDir, eventually, fakeIpvsadm, freePort, runLvsd, startDaemon, tcpListener } from '../helpers/daemon-process.js';
import type { ConfigDir, DaemonProcess } from '../helpers/daemon-process.js';
import { value } from '../helpers/prometheus.js';

const exec = promisify(execFile);

describe('lvsd status against a running daemon (fake ipvsadm)', () => {
  let cfg: ConfigDir;
  let daemon: DaemonProcess;
  let up: Awaited<ReturnType<typeof tcpListener>>;
  let downPort: number;
  let vip: number;
  let env: NodeJS.ProcessEnv;
  const service = (): string => `tcp:127.0.0.1:${vip}`;

  before(async () => {
    up = await tcpListener();
    downPort = await freePort();
    vip = await freePort();
    cfg = await configDir(
      {
        'web.yaml': `name: web\naddress: 127.0.0.1:${vip}\nprotocol: tcp\nscheduler: wlc\nforwarding: masq
check: { type: tcp, interval: 300ms, timeout: 200ms, rise: 1, fall: 1 }
reals:\n  - address: 127.0.0.1:${up.port}\n    weight: 10\n  - address: 127.0.0.1:${downPort}\n    weight: 5
sorry:\n  - address: 127.0.0.1:${vip + 1}\n`,
      },
      `ipvsadm: ${fakeIpvsadm}\n`,
    );
    env = { LVSD_FAKE_IPVS_STATE: join(cfg.dir, 'ipvs.json'), LVSD_FAKE_IPVS_LOG: join(cfg.dir, 'ipvsadm.log') };
    daemon = startDaemon(cfg.dir, [], env);
    await daemon.waitForLog((l) => l.event === 'reconcile_applied', 'first reconcile pass applied');
    // Connections the kernel would count for the healthy real.
    await exec(fakeIpvsadm, ['--fake-counters', service(), `127.0.0.1:${up.port}`, '7', '3'], { env: { ...process.env, ...env } });
  });

  after(async () => {
    await daemon?.stop();
    await up?.close();
    await cfg?.remove();
  });

  /** `lvsd status --json` until the daemon's (cached, <= 5 s old) kernel read shows the counters. */
  async function statusWithCounters(): Promise<StatusDocument> {
    return eventually(async () => {
      const r = await runLvsd(['status', '--json', '-c', cfg.dir]);
      assert.equal(r.status, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as StatusDocument;
      return doc.services[0]?.reals[0]?.connections?.active === 7 ? doc : undefined;
    }, 'status with the kernel counters');
  }

  it('prints the JSON document with health, reasons and kernel state', async () => {
    const doc = await statusWithCounters();
    assert.equal(doc.lvsd.dry_run, false);
    assert.equal(doc.config.last_reload.ok, true);
    const web = doc.services[0]!;
    assert.equal(web.name, 'web');
    assert.equal(web.key, service());
    assert.deepEqual(web.kernel && { present: web.kernel.present, scheduler: web.kernel.scheduler, reals: web.kernel.reals }, { present: true, scheduler: 'wlc', reals: 1 });
    const [upReal, downReal] = web.reals;
    assert.equal(upReal!.health, 'up');
    assert.deepEqual(upReal!.weight, { config: 10, dynamic: null, kernel: 10 });
    assert.deepEqual(upReal!.connections, { active: 7, inactive: 3 });
    assert.equal(downReal!.health, 'down');
    assert.equal(downReal!.code, 'refused');
    assert.match(downReal!.reason!, /^TCP connect 127\.0\.0\.1:\d+: .*refused/);
    assert.deepEqual(downReal!.weight, { config: 5, dynamic: null, kernel: null });
    assert.ok(Date.parse(downReal!.last_check_at!) >= Date.parse(downReal!.last_change_at!));
    assert.deepEqual(web.sorry, [{ real: `127.0.0.1:${vip + 1}`, in_use: false, weight: { config: 1, kernel: null } }]);
    assert.equal(web.sorry_active, false);
    assert.ok(doc.reconcile.passes >= 1);
    assert.equal(doc.reconcile.consecutive_failures, 0);
  });

  it('prints a readable table', async () => {
    await statusWithCounters();
    const r = await runLvsd(['status', '-c', cfg.dir]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, /^lvsd \S+ on .+ \(pid \d+\), up .+, healthy$/);
    assert.match(r.stdout, /^config {3}loaded \(initial\)/m);
    // "just now" or "Ns ago", depending on when the last pass ran (regression: flaked on "just now").
    assert.match(r.stdout, /^kernel {3}in sync, last success (just now|.+ ago); \d+ passes, 0 failed, 0 draining$/m);
    assert.match(r.stdout, new RegExp(`^web  tcp 127\\.0\\.0\\.1:${vip}  wlc  1/2 healthy  kernel: present \\(1 reals\\)$`, 'm'));
    assert.match(r.stdout, /^ {2}REAL +STATE +WEIGHT cfg\/kern +CONNS act\/inact +LAST CHECK +SINCE +REASON$/m);
    assert.match(r.stdout, new RegExp(`^  127\\.0\\.0\\.1:${up.port} +up +10/10 +7/3 +\\S.* +TCP connect 127\\.0\\.0\\.1:${up.port}: connected$`, 'm'));
    assert.match(r.stdout, new RegExp(`^  127\\.0\\.0\\.1:${downPort} +down +5/- +- +.*refused`, 'm'));
    assert.match(r.stdout, new RegExp(`^  127\\.0\\.0\\.1:${vip + 1} +sorry-standby +1/-`, 'm'));
  });

  it('exports the fake kernel\'s counters as metrics', async () => {
    const text = await eventually(async () => {
      const t = await (await fetch(`http://${cfg.listen}/metrics`)).text();
      return t.includes('lvsd_ipvs_real_active_connections') ? t : undefined;
    }, 'kernel metrics');
    assert.equal(value(text, 'lvsd_ipvs_real_active_connections', { service: 'web', real: `127.0.0.1:${up.port}` }), 7);
    assert.equal(value(text, 'lvsd_ipvs_real_inactive_connections', { service: 'web', real: `127.0.0.1:${up.port}` }), 3);
  });

  it('still reaches the daemon when the files on disk are broken', async () => {
    const other = await configDir({ 'web.yaml': 'name: [broken\n' });
    try {
      await writeFile(join(other.dir, 'lvsd.yaml'), `listen: ${cfg.listen}\nbogus_key: 1\n`);
      const r = await runLvsd(['status', '--json', '-c', other.dir]);
      assert.equal(r.status, 0, r.stderr);
      // Only listen is read (leniently); validating the rest would load the config machinery,
      // which costs `lvsd status` several times a bare node's start (issue 20). check-config validates.
      assert.equal(r.stderr, '');
      assert.equal((JSON.parse(r.stdout) as StatusDocument).services[0]!.name, 'web');
    } finally {
      await other.remove();
    }
  });

  it('takes --listen instead of the config', async () => {
    const r = await runLvsd(['status', '--json', '--listen', cfg.listen, '-c', '/nonexistent']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as StatusDocument).services.length, 1);
  });

  it('regression: fails with LVSD_DAEMON_UNREACHABLE and the likely reasons when no daemon listens (not just "fetch failed")', async () => {
    const port = await freePort();
    const r = await runLvsd(['status', '--listen', `127.0.0.1:${port}`]);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`^lvsd status: cannot reach the daemon at http://127\\.0\\.0\\.1:${port}/status \\(from --listen\\): connection refused, nothing listens there\\.\\n[\\s\\S]*lvsd is not running[\\s\\S]*\`listen\` was changed[\\s\\S]* \\[LVSD_DAEMON_UNREACHABLE\\]\\n$`));
    assert.doesNotMatch(r.stderr, /fetch failed/);
  });

  it('is a usage error for a bad --listen', async () => {
    const r = await runLvsd(['status', '--listen', 'localhost:9716']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--listen: "localhost" is not an IP address/);
  });
});
