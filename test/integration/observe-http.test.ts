// The observability listener over real HTTP on 127.0.0.1: routes, headers, /healthz verdicts,
// promtool on a scrape, and a taken port as LVSD_LISTEN_FAILED.

import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { LvsdError } from '../../src/errors.js';
import type { ListenAddress } from '../../src/config/model.js';
import { world } from '../helpers/observe-fixtures.js';
import type { World } from '../helpers/observe-fixtures.js';
import { promtoolCheckMetrics, value } from '../helpers/prometheus.js';

describe('observability HTTP listener', () => {
  let w: World;
  let at: ListenAddress;
  let base: string;

  before(async () => {
    w = world({ defaultMetrics: true });
    at = await w.observer.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${at.port}`;
  });
  after(() => w.observer.close());

  it('binds the configured loopback address only', () => {
    assert.equal(at.host, '127.0.0.1');
    assert.ok(at.port > 0);
  });

  it('serves /metrics in the text format, accepted by promtool', async () => {
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.equal(value(text, 'lvsd_real_up', { service: 'web', real: '10.0.0.1:80' }), 1);
    assert.match(text, /^process_cpu_seconds_total /m);
    const lint = await promtoolCheckMetrics(text);
    assert.equal(lint.status, 0, lint.output);
  });

  it('serves one metric family at /metrics/NAME (what a script polls at 10,000 reals) and 404 for an unknown name', async () => {
    const res = await fetch(`${base}/metrics/lvsd_check_start_delay_seconds`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.equal(value(text, 'lvsd_check_start_delay_seconds_count'), 9);
    assert.doesNotMatch(text, /lvsd_real_up/);
    const lint = await promtoolCheckMetrics(text);
    assert.equal(lint.status, 0, lint.output);
    assert.equal((await fetch(`${base}/metrics/lvsd_no_such_metric`)).status, 404);
    assert.equal((await fetch(`${base}/metrics/lvsd_scheduler_probes/x`)).status, 404);
  });

  it('answers 404 for /metrics/__proto__, /metrics/constructor and /metrics/toString, with no error line (regression: 500 "metrics.get is not a function" and an error line each)', async () => {
    const errorsBefore = w.logs.filter((l) => l.level === 'error').length;
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      const res = await fetch(`${base}/metrics/${name}`);
      assert.equal(res.status, 404, name);
      await res.text();
    }
    assert.equal(w.logs.filter((l) => l.level === 'error').length, errorsBefore);
  });

  it('serves /status as JSON and / as a self-contained page', async () => {
    const status = await fetch(`${base}/status`);
    assert.equal(status.status, 200);
    assert.match(status.headers.get('content-type')!, /^application\/json/);
    const doc = (await status.json()) as { services: { name: string }[] };
    assert.deepEqual(doc.services.map((s) => s.name), ['web', 'dns']);

    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type')!, /^text\/html; charset=utf-8/);
    assert.match(page.headers.get('content-security-policy')!, /default-src 'none'/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(page.headers.get('cache-control'), 'no-store');
    assert.match(await page.text(), /data-real="10\.0\.0\.1:80"/);
  });

  it('answers /healthz 200 while healthy and 503 with the reasons when not', async () => {
    let res = await fetch(`${base}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ok\n');

    const saved = w.now;
    w.now += 10 * 60_000; // ten minutes without a completed check
    w.reconciler = { ...w.reconciler, consecutiveFailures: 12, lastError: 'ipvsadm -R: exit status 2' };
    w.publish({ reasons: ['resync'], at: saved, ok: false, ops: [], lines: [], remaining: [], errors: ['x'], draining: 0 });
    res = await fetch(`${base}/healthz`);
    assert.equal(res.status, 503);
    const body = await res.text();
    assert.match(body, /^unhealthy\n/);
    assert.match(body, /IPVS sync has failed for 600s/);
    assert.match(body, /no health check has completed for/);
  });

  it('refuses other methods and paths', async () => {
    const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    const head = await fetch(`${base}/metrics`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    assert.ok(Number(head.headers.get('content-length')) > 0);
  });
});

describe('listen failures', () => {
  it('is LVSD_LISTEN_FAILED naming the address when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    const w = world();
    try {
      await assert.rejects(w.observer.listen({ host: '127.0.0.1', port }), (err: unknown) => {
        assert.ok(err instanceof LvsdError);
        assert.equal(err.code, 'LVSD_LISTEN_FAILED');
        assert.equal(err.message, `cannot listen on 127.0.0.1:${port} (metrics, status API and page): address already in use`);
        return true;
      });
    } finally {
      await w.observer.close();
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('is LVSD_LISTEN_FAILED for an address this host does not have', async () => {
    const w = world();
    // TEST-NET-1 is never configured locally; bind() fails without sending anything.
    await assert.rejects(w.observer.listen({ host: '192.0.2.1', port: 0 }), (err: unknown) =>
      err instanceof LvsdError && err.code === 'LVSD_LISTEN_FAILED' && /192\.0\.2\.1:0 .*no such local address/.test(err.message));
  });
});
