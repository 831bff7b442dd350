// The /status document for a known state: health, reasons, times, config vs kernel weights,
// sorry servers, draining reals, reload state.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DNS, T0, WEB, fail, world } from '../helpers/observe-fixtures.js';

describe('status document', () => {
  it('describes every service and real as the daemon sees it', async () => {
    const w = world();
    const doc = await w.observer.statusDocument();
    assert.equal(doc.generated_at, new Date(T0 + 2000).toISOString());
    assert.equal(doc.lvsd.dry_run, false);
    assert.equal(doc.lvsd.config_dir, '/etc/lvsd');
    assert.deepEqual(doc.services.map((s) => s.name), ['web', 'dns']);

    const web = doc.services[0]!;
    assert.equal(web.key, WEB);
    assert.equal(web.address, '192.0.2.10:80');
    assert.equal(web.protocol, 'tcp');
    assert.equal(web.defined_at, 'conf.d/web.yaml:1');
    assert.equal(web.healthy_reals, 1);
    assert.equal(web.total_reals, 2);
    assert.deepEqual(web.kernel, { present: true, scheduler: 'wlc', reals: 2, traffic: null });

    const [up, down] = web.reals;
    assert.equal(up!.health, 'up');
    assert.equal(up!.state, 'up');
    assert.equal(up!.reason, 'TCP connect 10.0.0.1:80: connected');
    assert.equal(up!.code, 'ok');
    assert.equal(up!.transition_reason, 'first check: TCP connect 10.0.0.1:80: connected');
    assert.equal(up!.last_check_at, new Date(T0).toISOString());
    assert.equal(up!.last_change_at, new Date(T0).toISOString());
    assert.deepEqual(up!.weight, { config: 10, dynamic: null, kernel: 10 });
    assert.equal(up!.in_kernel, true);
    assert.deepEqual(up!.connections, { active: 4, inactive: 11 });

    assert.equal(down!.health, 'down');
    assert.equal(down!.code, 'refused');
    assert.equal(down!.latency_ms, 0.4);
    assert.deepEqual(down!.weight, { config: 5, dynamic: null, kernel: null });
    assert.equal(down!.in_kernel, false);
    assert.equal(down!.connections, null);
    assert.equal(down!.last_change_at, new Date(T0 + 1000).toISOString());

    assert.deepEqual(web.sorry, [{ real: '10.0.0.99:80', in_use: false, weight: { config: 1, kernel: null } }]);
    assert.equal(web.sorry_active, false);
    // In the kernel but not in the config: a removed real held at weight 0.
    assert.deepEqual(web.draining, [{ real: '10.0.0.7:80', weight_kernel: 0, connections: { active: 0, inactive: 0 } }]);

    const dns = doc.services[1]!;
    assert.equal(dns.reals[0]!.health, 'unknown');
    assert.equal(dns.reals[0]!.reason, null);
    assert.equal(dns.reals[0]!.last_check_at, null);
    assert.equal(dns.sorry_active, false);
  });

  it('shows sorry servers in use and a real at config weight 0 as draining', async () => {
    const w = world();
    await w.runner.apply([
      '-a -t 192.0.2.10:80 -r 10.0.0.99:80 -m -w 1',
    ]);
    const next = { ...w.snapshot, services: w.snapshot.services.map((s) => (s.key === WEB ? { ...s, reals: s.reals.map((r) => (r.key === '10.0.0.1:80' ? { ...r, weight: 0 } : r)) } : s)) };
    w.reload(next);
    const web = (await w.observer.statusDocument()).services[0]!;
    assert.equal(web.sorry_active, true);
    assert.deepEqual(web.sorry[0], { real: '10.0.0.99:80', in_use: true, weight: { config: 1, kernel: 1 } });
    assert.equal(web.reals[0]!.state, 'draining');
    assert.equal(web.reals[0]!.health, 'up');
  });

  it('keeps the reason of the last transition beside the last check', async () => {
    const w = world();
    w.result(WEB, '10.0.0.1:80', fail('timeout', 'TCP connect 10.0.0.1:80: timed out after 1000 ms'));
    const real = (await w.observer.statusDocument()).services[0]!.reals[0]!;
    assert.equal(real.health, 'down'); // fall 1 in the fixtures
    assert.equal(real.reason, 'TCP connect 10.0.0.1:80: timed out after 1000 ms');
    assert.match(real.transition_reason!, /^1 consecutive failure \(fall 1\): TCP connect/);
  });

  it('reports reconcile, checks and reload state', async () => {
    const w = world();
    w.reconciler = { ...w.reconciler, consecutiveFailures: 1, lastError: 'boom' };
    w.publish({ reasons: ['health'], at: w.now - 30, ok: false, ops: [], lines: [], remaining: ['x'], errors: ['boom'], draining: 0 });
    w.observer.reloaded({ ok: false, at: new Date(w.now), reason: 'SIGHUP', changed: false, issues: [{ file: '/etc/lvsd/conf.d/web.yaml', line: 3, col: 5, message: 'bad' }] });
    const doc = await w.observer.statusDocument();
    assert.equal(doc.reconcile.consecutive_failures, 1);
    assert.equal(doc.reconcile.failing_since, new Date(w.now - 30).toISOString());
    assert.deepEqual(doc.reconcile.last_pass, { at: new Date(w.now - 30).toISOString(), ok: false, ops: 0, duration_ms: 30, reasons: ['health'], errors: ['boom'] });
    assert.equal(doc.reconcile.operations['add-real'], 3);
    assert.equal(doc.checks.probes, 3);
    assert.equal(doc.checks.last_completed_at, new Date(T0 + 1000).toISOString());
    assert.equal(doc.config.last_reload.ok, false);
    assert.equal(doc.config.last_reload.reason, 'SIGHUP');
    assert.equal(doc.config.last_reload.issues[0]!.line, 3);
    assert.equal(doc.config.last_success_at, new Date(T0).toISOString()); // start-up
    assert.equal(doc.kernel.error, null);
  });

  it('says when the kernel could not be read instead of guessing', async () => {
    const w = world();
    w.runner.read = async () => {
      throw new Error('ipvsadm -Sn: exit status 2');
    };
    const doc = await w.observer.statusDocument();
    assert.equal(doc.kernel.error, 'table: ipvsadm -Sn: exit status 2');
    assert.equal(doc.services[0]!.kernel, null);
    assert.equal(doc.services[0]!.sorry_active, null);
    assert.equal(doc.services[0]!.reals[0]!.weight.kernel, null);
  });

  it('drops reals and services that left the config', async () => {
    const w = world();
    w.reload({ ...w.snapshot, services: w.snapshot.services.filter((s) => s.key !== DNS) });
    const doc = await w.observer.statusDocument();
    assert.deepEqual(doc.services.map((s) => s.key), [WEB]);
  });
});
