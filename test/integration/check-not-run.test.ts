// Local resource errors are not realserver failures: the daemon under a real fd limit, its fds
// eaten by idle connections to the status port, must leave a healthy real up (issue 10).

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { configDir, eventually, freePort, startDaemon, tcpListener } from '../helpers/daemon-process.js';
import type { ConfigDir, DaemonProcess } from '../helpers/daemon-process.js';
import { value } from '../helpers/prometheus.js';

const FD_LIMIT = 80;

function service(vip: number, real: number): string {
  return [
    'name: web',
    `address: 127.0.0.1:${vip}`,
    'protocol: tcp',
    'forwarding: masq',
    'check: { type: tcp, interval: 200ms, timeout: 150ms, rise: 1, fall: 1 }',
    'reals:',
    `  - address: 127.0.0.1:${real}`,
    'sorry:',
    '  - address: 127.0.0.1:9',
    '',
  ].join('\n');
}

function openIdle(host: string, port: number): Promise<Socket | null> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => resolve(s));
    s.once('error', () => resolve(null));
    s.on('close', () => {});
  });
}

describe('regression: a local fd shortage (EMFILE) no longer takes a healthy real down', () => {
  let cfg: ConfigDir;
  let daemon: DaemonProcess;
  let real: Awaited<ReturnType<typeof tcpListener>>;
  const idle: Socket[] = [];

  before(async () => {
    real = await tcpListener();
    cfg = await configDir({ 'web.yaml': service(await freePort(), real.port) });
    daemon = startDaemon(cfg.dir, ['--dry-run']);
    await daemon.waitForLog((l) => l.event === 'reconcile_applied', 'first reconcile pass');
  });

  after(async () => {
    for (const s of idle) s.destroy();
    await daemon?.stop();
    await real?.close();
    await cfg?.remove();
  });

  it('keeps the real up, logs check_not_run with EMFILE and counts it, under prlimit --nofile', async () => {
    const pid = daemon.child.pid!;
    const { spawnSync } = await import('node:child_process');
    // The kernel's own RLIMIT_NOFILE on the running daemon, as LimitNOFILE= sets it under systemd.
    const set = spawnSync('prlimit', [`--pid=${pid}`, `--nofile=${FD_LIMIT}:${FD_LIMIT}`]);
    assert.equal(set.status, 0, set.stderr.toString());
    const up = daemon.logs.find((l) => l.event === 'health_transition' && l.to === 'up');
    assert.ok(up, 'the real came up before the fds ran out');

    const [host, port] = cfg.listen.split(':') as [string, string];
    // Eat the daemon's fds: idle connections to its status port, well past the limit.
    for (let i = 0; i < FD_LIMIT + 40; i++) {
      const s = await openIdle(host, Number(port));
      if (s) idle.push(s);
    }
    // The first of: the warning (fixed) or the real taken down (the break this pins).
    const warned = await daemon.waitForLog(
      (l) => l.event === 'check_not_run' || (l.event === 'health_transition' && l.to === 'down'),
      'a check_not_run warning (or a down transition)',
    );
    assert.equal(warned.event, 'check_not_run', `the real was taken down: ${JSON.stringify(warned)}`);
    assert.equal(warned.code, 'EMFILE');
    assert.equal(warned.level, 'warn');
    assert.match(String(warned.reason), /could not run the check \(EMFILE/);

    for (const s of idle.splice(0)) s.destroy();
    const text = await eventually(async () => {
      const res = await fetch(`http://${cfg.listen}/metrics`);
      return res.ok ? res.text() : undefined;
    }, 'metrics after the fds came back');
    assert.ok(value(text, 'lvsd_checks_not_run_total', { code: 'EMFILE' }) >= 1);
    assert.equal(value(text, 'lvsd_real_up', { service: 'web', real: `127.0.0.1:${real.port}` }), 1);
    const down = daemon.logs.filter((l) => l.event === 'health_transition' && l.to === 'down');
    assert.deepEqual(down, [], 'no down transition while checks could not run');
  });
});

describe('checkers classify local resource errors as not_run (a real probe process under prlimit)', () => {
  it('TCP, HTTP and MISC under an exhausted fd table return not_run with the errno', async () => {
    const real = await tcpListener();
    const { spawn } = await import('node:child_process');
    const checksUrl = new URL('../../src/checks/index.js', import.meta.url).href;
    const script = `
      import { openSync } from 'node:fs';
      const { runCheck } = await import(${JSON.stringify(checksUrl)});
      const held = [];
      try { for (;;) held.push(openSync('/dev/null', 'r')); } catch (e) { if (e.code !== 'EMFILE') throw e; }
      const ctx = { serviceName: 's', vip: null, fwmark: null, protocol: 'tcp' };
      const address = { host: '127.0.0.1', port: ${real.port}, family: 4 };
      const base = { interval: 1000, intervalMs: 1000, timeoutMs: 1000, rise: 1, fall: 1, port: ${real.port} };
      const out = [];
      const tcp = { ...base, type: 'tcp', send: null, expect: null };
      out.push(await runCheck({ address, spec: tcp, context: ctx }, new AbortController().signal));
      const http = { ...base, type: 'http', method: 'GET', path: '/', host: null, expectStatus: [[200, 399]], expectBody: null, tlsVerify: false, headers: {} };
      out.push(await runCheck({ address, spec: http, context: ctx }, new AbortController().signal));
      const misc = { ...base, type: 'misc', command: ['/bin/true'], dynamicWeight: false };
      out.push(await runCheck({ address, spec: misc, context: ctx }, new AbortController().signal));
      process.stdout.write(JSON.stringify(out));
    `;
    const child = spawn('prlimit', ['--nofile=64:64', process.execPath, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    await real.close();
    assert.equal(status, 0, err);
    const results = JSON.parse(out) as { up: boolean; code: string; notRun?: string; reason: string }[];
    for (const r of results) {
      assert.equal(r.code, 'not_run', r.reason);
      assert.equal(r.notRun, 'EMFILE', r.reason);
      assert.equal(r.up, false);
    }
    assert.equal(results.length, 3);
  });
});
