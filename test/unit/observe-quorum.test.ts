// Quorum, sorry servers and slow start as /status, the page, `lvsd status` and metrics show them.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceRuntime } from '../../src/reconcile/reconciler.js';
import type { Ramp } from '../../src/reconcile/slow-start.js';
import { renderStatusPage } from '../../src/observe/status-page.js';
import { renderStatusText } from '../../src/observe/status-text.js';
import { DNS, T0, WEB, ZERO_RECONCILER, world } from '../helpers/observe-fixtures.js';
import { pairId } from '../../src/model/keys.js';
import type { PairId } from '../../src/model/keys.js';

/** A world whose last pass decided these quorums and ramps (as the reconciler publishes them). */
function withState(services: Record<string, ServiceRuntime>, ramps: Record<string, Ramp> = {}) {
  const w = world();
  w.reconciler = ZERO_RECONCILER;
  w.decision = { services: new Map(Object.entries(services)), slowStarts: new Map(Object.entries(ramps) as [PairId, Ramp][]) };
  w.publish(null);
  return w;
}

const up = (weightSum: number): ServiceRuntime => ({ quorum: { up: true, weightSum }, sorry: false });
const lost = (weightSum: number): ServiceRuntime => ({ quorum: { up: false, weightSum }, sorry: true });

describe('quorum in status and metrics', () => {
  it('every service with quorum and no sorry server in use: the top verdict is healthy', async () => {
    const w = withState({ [WEB]: up(10), [DNS]: up(1) });
    const doc = await w.observer.statusDocument();
    assert.deepEqual(doc.overall, { state: 'healthy', reasons: [] });
    assert.deepEqual(doc.services[0]!.quorum, { up: true, weight_sum: 10, quorum: 1, hysteresis: 0 });
    assert.match(renderStatusPage(doc), /<span class="pill ok" data-state="healthy" id="healthz">healthy</);
  });

  it('regression: a service that lost quorum no longer leaves the top badge green', async () => {
    const w = withState({ [WEB]: up(10), [DNS]: { quorum: { up: false, weightSum: 0 }, sorry: false } });
    const doc = await w.observer.statusDocument();
    assert.equal(doc.overall.state, 'degraded');
    assert.deepEqual(doc.overall.reasons, ['dns has lost quorum (healthy weight 0, quorum 1)']);
    assert.equal(doc.healthz.ok, true, '/healthz judges the daemon, not the services');
    const page = renderStatusPage(doc);
    assert.match(page, /<span class="pill warn" data-state="degraded" id="healthz">degraded</);
    assert.match(page, /data-quorum="lost">quorum lost \(weight 0 of 1\)/);
    const text = renderStatusText(doc);
    assert.match(text.split('\n')[0]!, /, DEGRADED$/);
    assert.match(text, /^problem  dns has lost quorum/m);
    assert.match(text, /^dns .*QUORUM LOST \(weight 0 < 1\)/m);
  });

  it('regression: a service on its sorry servers no longer leaves the top badge green', async () => {
    const w = withState({ [WEB]: lost(0), [DNS]: up(1) });
    w.runner.memory.exec(['-a', '-t', '192.0.2.10:80', '-r', '10.0.0.99:80', '-m', '-w', '1']);
    w.observer.kernel.invalidate();
    const doc = await w.observer.statusDocument();
    assert.equal(doc.overall.state, 'degraded');
    assert.ok(doc.overall.reasons.includes('web is on its sorry servers'), doc.overall.reasons.join('; '));
  });

  it('a rejected reload is degraded too', async () => {
    const w = withState({ [WEB]: up(10), [DNS]: up(1) });
    w.observer.reloaded({ ok: false, changed: false, reason: 'SIGHUP', at: new Date(T0), issues: [{ file: 'conf.d/x.yaml', line: 1, col: 1, message: 'bad' }] } as never);
    const doc = await w.observer.statusDocument();
    assert.equal(doc.overall.state, 'degraded');
    assert.match(doc.overall.reasons[0]!, /last configuration reload was rejected/);
  });

  it('regression (issue 18): a failing kernel no longer heads `lvsd status` as healthy', async () => {
    const w = world();
    w.reconciler = { ...ZERO_RECONCILER, consecutiveFailures: 5, failures: 6, lastError: 'ipvsadm -R: Memory allocation problem' };
    w.decision = { services: new Map(Object.entries({ [WEB]: up(10), [DNS]: up(1) })), slowStarts: new Map() };
    w.publish(null);
    const doc = await w.observer.statusDocument();
    assert.equal(doc.overall.state, 'degraded');
    assert.deepEqual(doc.overall.reasons, ['the kernel table is not in sync: 5 reconcile pass(es) failed in a row (ipvsadm -R: Memory allocation problem)']);
    const text = renderStatusText(doc).split('\n');
    assert.match(text[0]!, /, DEGRADED$/);
    assert.match(text.find((l) => l.startsWith('kernel'))!, /FAILING \(5 passes\)/);
  });

  it('shows a real in slow start', async () => {
    const w = withState({ [WEB]: up(10), [DNS]: up(1) }, { [pairId(WEB, '10.0.0.1:80')]: { since: T0, windowMs: 30_000 } });
    const doc = await w.observer.statusDocument();
    assert.deepEqual(doc.services[0]!.reals[0]!.slow_start, { since: new Date(T0).toISOString(), window_ms: 30_000 });
    assert.equal(doc.services[0]!.reals[1]!.slow_start, null);
    assert.match(renderStatusText(doc), /^ +10\.0\.0\.1:80 +up \(slow start\)/m);
  });

  it('exports lvsd_service_quorum, lvsd_service_healthy_weight and lvsd_real_slow_start', async () => {
    const w = withState({ [WEB]: up(10), [DNS]: { quorum: { up: false, weightSum: 0 }, sorry: false } }, { [pairId(WEB, '10.0.0.1:80')]: { since: T0, windowMs: 30_000 } });
    const text = await w.observer.metrics.text();
    assert.match(text, /^lvsd_service_quorum\{service="web"\} 1$/m);
    assert.match(text, /^lvsd_service_quorum\{service="dns"\} 0$/m);
    assert.match(text, /^lvsd_service_healthy_weight\{service="web"\} 10$/m);
    assert.match(text, /^lvsd_real_slow_start\{service="web",real="10\.0\.0\.1:80"\} 1$/m);
    assert.doesNotMatch(text, /^lvsd_real_slow_start\{service="web",real="10\.0\.0\.2:80"\}/m);
  });

  it('before the first pass quorum is unknown: no gauge, null in /status, not degraded', async () => {
    const w = withState({});
    const doc = await w.observer.statusDocument();
    assert.equal(doc.services[0]!.quorum.up, null);
    assert.equal(doc.overall.state, 'healthy');
    assert.doesNotMatch(await w.observer.metrics.text(), /^lvsd_service_quorum\{/m);
  });
});
