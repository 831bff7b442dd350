// A real Prometheus server on loopback scrapes a running `lvsd run --dry-run`; its query API must
// see the target up and lvsd's series with the values of a known state (one real up, one down).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { configDir, freePort, startDaemon, tcpListener } from '../helpers/daemon-process.js';
import type { ConfigDir, DaemonProcess } from '../helpers/daemon-process.js';
import { startPrometheus } from '../helpers/prometheus.js';
import type { PrometheusServer } from '../helpers/prometheus.js';

describe('Prometheus scraping lvsd', () => {
  let cfg: ConfigDir;
  let daemon: DaemonProcess;
  let up: Awaited<ReturnType<typeof tcpListener>>;
  let downPort: number;
  let prom: PrometheusServer;

  before(async () => {
    up = await tcpListener();
    downPort = await freePort();
    const vip = await freePort();
    cfg = await configDir({
      'web.yaml': `name: web\naddress: 127.0.0.1:${vip}\nprotocol: tcp\nscheduler: wrr\nforwarding: masq
check: { type: tcp, interval: 500ms, timeout: 300ms, rise: 1, fall: 1 }
reals:\n  - address: 127.0.0.1:${up.port}\n    weight: 7\n  - address: 127.0.0.1:${downPort}\n    weight: 3\n`,
    });
    daemon = startDaemon(cfg.dir, ['--dry-run']);
    await daemon.waitForLog((l) => l.event === 'reconcile_applied', 'first reconcile pass applied');
    prom = await startPrometheus(cfg.listen);
  });

  after(async () => {
    await prom?.stop();
    await daemon?.stop();
    await up?.close();
    await cfg?.remove();
  });

  it('sees the target up', async () => {
    await prom.waitFor('up{job="lvsd"}', (r) => r.length === 1 && r[0]!.value[1] === '1');
    const [target] = await prom.query('up{job="lvsd"}');
    assert.equal(target!.metric.instance, cfg.listen);
  });

  it('stores lvsd series with the right values', async () => {
    const upReal = `127.0.0.1:${up.port}`;
    const downReal = `127.0.0.1:${downPort}`;
    await prom.waitFor(`lvsd_real_up{real="${upReal}"}`, (r) => r.length === 1 && r[0]!.value[1] === '1');
    const down = await prom.query(`lvsd_real_up{real="${downReal}"}`);
    assert.equal(down.length, 1);
    assert.equal(down[0]!.value[1], '0');
    assert.equal(down[0]!.metric.service, 'web');
    const weights = await prom.query('lvsd_real_weight{service="web",source="kernel"}');
    assert.deepEqual(weights.map((s) => [s.metric.real, s.value[1]]), [[upReal, '7']]);
    const healthy = await prom.query('lvsd_service_healthy_reals{service="web"}');
    assert.equal(healthy[0]!.value[1], '1');
    // Counters behave as counters for PromQL.
    await prom.waitFor(`increase(lvsd_check_results_total{real="${downReal}",code="refused"}[1m])`, (r) => r.length === 1 && Number(r[0]!.value[1]) > 0);
  });
});
