// `lvsd run --dry-run` as a child process: /metrics through promtool, /healthz, the transition,
// reconcile and reload log lines, series of removed reals, and a taken listen port at start.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StatusDocument } from '../../src/observe/status-document.js';
import { configDir, eventually, freePort, startDaemon, tcpListener } from '../helpers/daemon-process.js';
import type { ConfigDir, DaemonProcess } from '../helpers/daemon-process.js';
import { promtoolCheckMetrics, samples, value } from '../helpers/prometheus.js';

const CHECK = 'check: { type: tcp, interval: 300ms, timeout: 200ms, rise: 1, fall: 1 }';

function webService(vip: number, reals: readonly number[]): string {
  return `name: web\naddress: 127.0.0.1:${vip}\nprotocol: tcp\nscheduler: wrr\nforwarding: masq\n${CHECK}\nreals:\n${reals.map((p, i) => `  - address: 127.0.0.1:${p}\n    weight: ${10 - i}\n`).join('')}`;
}

describe('lvsd run: metrics, healthz and logs', () => {
  let cfg: ConfigDir;
  let daemon: DaemonProcess;
  let up: Awaited<ReturnType<typeof tcpListener>>;
  let downPort: number;
  let vip: number;
  let base: string;
  const upReal = (): string => `127.0.0.1:${up.port}`;
  const downReal = (): string => `127.0.0.1:${downPort}`;
  const metrics = async (): Promise<string> => (await fetch(`${base}/metrics`)).text();

  before(async () => {
    up = await tcpListener();
    downPort = await freePort();
    vip = await freePort();
    cfg = await configDir({ 'web.yaml': webService(vip, [up.port, downPort]) });
    base = `http://${cfg.listen}`;
    daemon = startDaemon(cfg.dir, ['--dry-run']);
    await daemon.waitForLog((l) => l.event === 'reconcile_applied', 'first reconcile pass applied');
  });

  after(async () => {
    await daemon?.stop();
    await up?.close();
    await cfg?.remove();
  });

  it('serves metrics that promtool accepts, with the known state', async () => {
    const text = await metrics();
    const lint = await promtoolCheckMetrics(text);
    assert.equal(lint.status, 0, lint.output);
    assert.equal(value(text, 'lvsd_real_up', { service: 'web', real: upReal() }), 1);
    assert.equal(value(text, 'lvsd_real_up', { service: 'web', real: downReal() }), 0);
    assert.equal(value(text, 'lvsd_real_weight', { service: 'web', real: upReal(), source: 'kernel' }), 10);
    assert.equal(value(text, 'lvsd_service_healthy_reals', { service: 'web' }), 1);
    assert.equal(value(text, 'lvsd_ipvs_service_present', { service: 'web' }), 1);
    assert.ok(value(text, 'lvsd_check_results_total', { service: 'web', real: downReal(), code: 'refused' }) >= 1);
    assert.ok(value(text, 'lvsd_reconcile_operations_total', { kind: 'add-real' }) >= 1);
    assert.ok(value(text, 'lvsd_reconcile_last_success_timestamp_seconds') > 0);
    assert.equal(value(text, 'lvsd_config_last_reload_successful'), 1);
    assert.ok(samples(text, 'process_resident_memory_bytes').length === 1);
  });

  it('answers /healthz with 200', async () => {
    const res = await fetch(`${base}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ok\n');
  });

  it('logs one structured line per transition and per applied reconcile pass', () => {
    const down = daemon.logs.find((l) => l.event === 'health_transition' && l.real === downReal());
    assert.ok(down, 'no transition line for the down real');
    assert.equal(down.service, 'web');
    assert.equal(down.from, 'unknown');
    assert.equal(down.to, 'down');
    assert.equal(down.code, 'refused');
    assert.match(String(down.reason), /^first check: TCP connect 127\.0\.0\.1:\d+: .*refused/);
    assert.equal(typeof down.latency_ms, 'number');

    const applied = daemon.logs.find((l) => l.event === 'reconcile_applied')!;
    assert.deepEqual(applied.kinds, { 'add-service': 1, 'add-real': 1 });
    assert.equal(applied.ops, 2);
    assert.equal(typeof applied.duration_ms, 'number');
  });

  it('drops the series of a real removed by a reload and logs the reload with its files', async () => {
    await writeFile(join(cfg.dir, 'conf.d', 'web.yaml'), webService(vip, [up.port]));
    const line = await daemon.waitForLog((l) => l.msg === 'configuration reloaded', 'reload log line');
    // The files that changed, and how many there are (not every name: 10,000 files make one line).
    assert.deepEqual(line.changed, [join(cfg.dir, 'conf.d', 'web.yaml')]);
    assert.equal(line.files, 2);
    const text = await eventually(async () => {
      const t = await metrics();
      return value(t, 'lvsd_config_reloads_total', { result: 'success' }) === 1 && !t.includes(downReal()) ? t : undefined;
    }, 'reloaded metrics without the removed real');
    assert.equal(value(text, 'lvsd_service_reals', { service: 'web' }), 1);
    assert.equal(value(text, 'lvsd_real_up', { service: 'web', real: upReal() }), 1);
  });

  it('shows a rejected reload in metrics and status, keeping the last success time', async () => {
    const before = value(await metrics(), 'lvsd_config_last_reload_success_timestamp_seconds');
    await writeFile(join(cfg.dir, 'conf.d', 'web.yaml'), `${webService(vip, [up.port])}scheduler: [oops\n`);
    const rejected = await daemon.waitForLog((l) => l.code === 'LVSD_CONFIG_INVALID' && typeof l.issues === 'number', 'rejection log line');
    assert.deepEqual(rejected.files, [join(cfg.dir, 'conf.d', 'web.yaml')]);
    const text = await eventually(async () => {
      const t = await metrics();
      return value(t, 'lvsd_config_last_reload_successful') === 0 ? t : undefined;
    }, 'lvsd_config_last_reload_successful 0');
    assert.equal(value(text, 'lvsd_config_reloads_total', { result: 'failure' }), 1);
    assert.equal(value(text, 'lvsd_config_last_reload_success_timestamp_seconds'), before);
    const doc = (await (await fetch(`${base}/status`)).json()) as StatusDocument;
    assert.equal(doc.config.last_reload.ok, false);
    assert.equal(doc.config.last_reload.issues[0]!.file, join(cfg.dir, 'conf.d', 'web.yaml'));
    // The running config stays: the service is still there and healthy.
    assert.equal(doc.services[0]!.healthy_reals, 1);
  });

  it('refuses to start a second daemon on the same listen address (LVSD_LISTEN_FAILED)', async () => {
    const other = await configDir({}, '');
    try {
      // Same listen address as the running daemon, nothing else shared.
      await writeFile(join(other.dir, 'lvsd.yaml'), `listen: ${cfg.listen}\nstate_dir: ${other.stateDir}\ncontrol_socket: ${join(other.dir, 'control.sock')}\n`);
      const second = startDaemon(other.dir, ['--dry-run']);
      const code = await second.exited;
      assert.equal(code, 1);
      assert.match(second.stderr(), new RegExp(`cannot listen on ${cfg.listen.replace(/\./g, '\\.')} .*address already in use \\[LVSD_LISTEN_FAILED\\]`));
    } finally {
      await other.remove();
    }
  });
});
