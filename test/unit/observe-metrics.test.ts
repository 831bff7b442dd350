// Metrics for a known state: names, labels and values; label sets of removed reals and services go.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TableStats } from '../../src/ipvs/model.js';
import { DNS, T0, WEB, fail, ok, traffic, world } from '../helpers/observe-fixtures.js';
import { samples, value } from '../helpers/prometheus.js';
import type { ServiceKey } from '../../src/model/keys.js';

const R1 = { service: 'web', real: '10.0.0.1:80' };
const R2 = { service: 'web', real: '10.0.0.2:80' };
const R3 = { service: 'dns', real: '10.0.0.3:53' };

describe('metrics', () => {
  it('exports health, weights, checks and transitions per (service, real)', async () => {
    const w = world();
    const text = await w.observer.metrics.text();
    assert.equal(value(text, 'lvsd_real_up', R1), 1);
    assert.equal(value(text, 'lvsd_real_up', R2), 0);
    assert.equal(value(text, 'lvsd_real_up', R3), 0); // unknown
    assert.equal(value(text, 'lvsd_real_weight', { ...R1, source: 'config' }), 10);
    assert.equal(value(text, 'lvsd_real_weight', { ...R1, source: 'kernel' }), 10);
    assert.equal(value(text, 'lvsd_real_weight', { ...R2, source: 'config' }), 5);
    assert.equal(samples(text, 'lvsd_real_weight', { ...R2, source: 'kernel' }).length, 0); // not in the kernel
    assert.equal(value(text, 'lvsd_check_results_total', { ...R1, code: 'ok' }), 1);
    assert.equal(value(text, 'lvsd_check_results_total', { ...R2, code: 'refused' }), 1);
    // One histogram per service (both web reals in it), none per real.
    assert.equal(value(text, 'lvsd_check_duration_seconds_count', { service: 'web' }), 2);
    assert.ok(Math.abs(value(text, 'lvsd_check_duration_seconds_sum', { service: 'web' }) - 0.0024) < 1e-9);
    assert.equal(value(text, 'lvsd_check_duration_seconds_bucket', { service: 'web', le: '0.001' }), 1); // 0.4 ms
    assert.equal(samples(text, 'lvsd_check_duration_seconds_count', R1).length, 0);
    assert.equal(value(text, 'lvsd_real_transitions_total', { ...R1, to: 'up' }), 1);
    assert.equal(value(text, 'lvsd_real_transitions_total', { ...R1, to: 'down' }), 0);
    assert.equal(value(text, 'lvsd_real_transitions_total', { ...R2, to: 'down' }), 1);
    assert.equal(value(text, 'lvsd_real_transitions_total', { ...R3, to: 'up' }), 0);
  });

  it('exports per-service health and sorry state; foreign kernel services are not exported', async () => {
    const w = world();
    let text = await w.observer.metrics.text();
    assert.equal(value(text, 'lvsd_service_reals', { service: 'web' }), 2);
    assert.equal(value(text, 'lvsd_service_healthy_reals', { service: 'web' }), 1);
    assert.equal(value(text, 'lvsd_service_healthy_reals', { service: 'dns' }), 0);
    assert.equal(value(text, 'lvsd_service_sorry_active', { service: 'web' }), 0);
    assert.equal(samples(text, 'lvsd_service_sorry_active', { service: 'dns' }).length, 0); // no sorry servers
    assert.equal(value(text, 'lvsd_ipvs_service_present', { service: 'dns' }), 1);
    assert.equal(value(text, 'lvsd_ipvs_real_active_connections', R1), 4);
    assert.equal(value(text, 'lvsd_ipvs_real_inactive_connections', R1), 11);
    assert.ok(!text.includes('198.51.100.1') && !text.includes('10.9.9.9'));

    await w.runner.apply(['-a -t 192.0.2.10:80 -r 10.0.0.99:80 -m -w 1']);
    w.observer.kernel.invalidate();
    text = await w.observer.metrics.text();
    assert.equal(value(text, 'lvsd_service_sorry_active', { service: 'web' }), 1);
  });

  it('exports the reconciler, scheduler and reload state', async () => {
    const w = world();
    w.publish({ reasons: ['start'], at: w.now - 250, ok: true, ops: [], lines: [], remaining: [], errors: [], draining: 0 });
    let text = await w.observer.metrics.text();
    assert.equal(value(text, 'lvsd_reconcile_duration_seconds_count'), 1);
    assert.equal(value(text, 'lvsd_reconcile_duration_seconds_sum'), 0.25);
    assert.equal(value(text, 'lvsd_reconcile_passes_total'), 3);
    assert.equal(value(text, 'lvsd_reconcile_failures_total'), 1);
    assert.equal(value(text, 'lvsd_reconcile_operations_total', { kind: 'add-real' }), 3);
    assert.equal(value(text, 'lvsd_reconcile_operations_total', { kind: 'delete-service' }), 0);
    assert.equal(value(text, 'lvsd_reconcile_last_success_timestamp_seconds'), (T0 - 2000) / 1000);
    assert.equal(value(text, 'lvsd_scheduler_probes'), 3);
    assert.equal(value(text, 'lvsd_scheduler_checks_total'), 9);
    assert.equal(value(text, 'lvsd_check_start_delay_seconds_bucket', { le: '0.001' }), 6);
    assert.equal(value(text, 'lvsd_check_start_delay_seconds_bucket', { le: '0.01' }), 8);
    assert.equal(value(text, 'lvsd_check_start_delay_seconds_bucket', { le: '0.1' }), 8);
    assert.equal(value(text, 'lvsd_check_start_delay_seconds_bucket', { le: '0.2' }), 9);
    assert.equal(value(text, 'lvsd_check_start_delay_seconds_bucket', { le: '+Inf' }), 9);
    assert.equal(value(text, 'lvsd_check_start_delay_seconds_count'), 9);
    assert.equal(value(text, 'lvsd_check_start_delay_seconds_sum'), 0.14);
    assert.equal(value(text, 'lvsd_config_last_reload_successful'), 1);
    assert.equal(value(text, 'lvsd_config_last_reload_success_timestamp_seconds'), T0 / 1000);
    assert.equal(value(text, 'lvsd_config_reloads_total', { result: 'failure' }), 0);
    assert.equal(samples(text, 'lvsd_build_info').length, 1);

    w.observer.reloaded({ ok: false, at: new Date(w.now), reason: 'SIGHUP', changed: false, issues: [] });
    text = await w.observer.metrics.text();
    assert.equal(value(text, 'lvsd_config_last_reload_successful'), 0);
    assert.equal(value(text, 'lvsd_config_last_reload_success_timestamp_seconds'), T0 / 1000);
    assert.equal(value(text, 'lvsd_config_reloads_total', { result: 'failure' }), 1);
  });

  it('exports kernel traffic counters when the runner can read them', async () => {
    const stats: TableStats = new Map([
      [WEB, { total: traffic(30), reals: new Map([['10.0.0.1:80', traffic(20)], ['10.0.0.7:80', traffic(10)]]) }],
      ['tcp:198.51.100.1:443', { total: traffic(99), reals: new Map() }],
    ]);
    const w = world({ readStats: async () => stats });
    const text = await w.observer.metrics.text();
    assert.equal(value(text, 'lvsd_ipvs_service_connections_total', { service: 'web' }), 30);
    assert.equal(value(text, 'lvsd_ipvs_service_packets_total', { service: 'web', direction: 'in' }), 300);
    assert.equal(value(text, 'lvsd_ipvs_service_bytes_total', { service: 'web', direction: 'out' }), 60_000);
    assert.equal(value(text, 'lvsd_ipvs_real_connections_total', R1), 20);
    assert.equal(value(text, 'lvsd_ipvs_real_bytes_total', { service: 'web', real: '10.0.0.7:80', direction: 'in' }), 10_000);
    assert.equal(samples(text, 'lvsd_ipvs_service_connections_total').length, 1); // configured services only
    assert.equal(value(text, 'lvsd_ipvs_read_successful'), 1);
  });

  it('removes the series of reals and services that left the config', async () => {
    const w = world();
    w.result(DNS, '10.0.0.3:53', fail('timeout', 'DNS: timed out'));
    const next = {
      ...w.snapshot,
      services: w.snapshot.services.filter((s) => s.key === WEB).map((s) => ({ ...s, reals: s.reals.filter((r) => r.key === '10.0.0.1:80') })),
    };
    w.reload(next);
    w.result(WEB, '10.0.0.1:80', ok('TCP connect 10.0.0.1:80: connected'));
    const text = await w.observer.metrics.text();
    assert.ok(!text.includes('10.0.0.2:80'), 'removed real still exported');
    assert.ok(!/service="dns"/.test(text), 'removed service still exported');
    assert.equal(value(text, 'lvsd_check_results_total', { ...R1, code: 'ok' }), 2);
    assert.equal(value(text, 'lvsd_service_reals', { service: 'web' }), 1);
  });

  it('counts a result of a probe shared by two services once per service', async () => {
    const w = world();
    const web2 = { ...w.snapshot.services[0]!, name: 'web-tls', key: 'tcp:192.0.2.10:443' as ServiceKey, sorry: [] };
    w.reload({ ...w.snapshot, services: [...w.snapshot.services, web2] });
    w.result(WEB, '10.0.0.1:80', ok('TCP connect 10.0.0.1:80: connected'));
    const text = await w.observer.metrics.text();
    assert.equal(value(text, 'lvsd_check_results_total', { ...R1, code: 'ok' }), 2);
    assert.equal(value(text, 'lvsd_check_results_total', { service: 'web-tls', real: '10.0.0.1:80', code: 'ok' }), 1);
  });
});
