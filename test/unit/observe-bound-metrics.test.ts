// The per-check counter and histogram (bound-metrics.ts) expose exactly what prom-client's own
// Counter and Histogram expose for the same updates.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { BoundCounter, BoundHistogram } from '../../src/observe/bound-metrics.js';
import { parseExposition } from '../helpers/prometheus.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const A = { service: 'web', real: '10.0.0.1:80' };
const B = { service: 'web "x"\\', real: '[2001:db8::1]:80' };

function sorted(text: string): string[] {
  return parseExposition(text)
    .map((s) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())} ${s.value}`)
    .sort();
}

describe('bound metrics', () => {
  it('a histogram renders the same samples as prom-client for the same observations (bounds inclusive, +Inf, sum, count)', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const help = 'h';
    const h = new BoundHistogram({ name: 'x_seconds', help, labelNames: ['service', 'real'], buckets: BUCKETS, registers: [ours] });
    const p = new Histogram({ name: 'x_seconds', help, labelNames: ['service', 'real'], buckets: BUCKETS, registers: [theirs] });
    const values: [typeof A, number][] = [[A, 0.0004], [A, 0.001], [A, 0.05], [A, 7], [B, 0.1], [B, 0.1000001]];
    const children = new Map([[A, h.labels(A)], [B, h.labels(B)]]);
    for (const [labels, v] of values) {
      children.get(labels)!.observe(v);
      p.labels(labels).observe(v);
    }
    assert.deepEqual(sorted(await ours.metrics()), sorted(await theirs.metrics()));
    assert.match(await ours.metrics(), /^# TYPE x_seconds histogram$/m);
  });

  it('a counter renders the same samples as prom-client; remove drops a label set', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const c = new BoundCounter({ name: 'r_total', help: 'h', labelNames: ['service', 'real', 'code'], registers: [ours] });
    const p = new Counter({ name: 'r_total', help: 'h', labelNames: ['service', 'real', 'code'], registers: [theirs] });
    for (const code of ['ok', 'ok', 'refused']) {
      c.labels({ ...A, code }).inc();
      p.labels({ ...A, code }).inc();
    }
    c.labels({ ...B, code: 'timeout' }).inc(3);
    p.labels({ ...B, code: 'timeout' }).inc(3);
    assert.deepEqual(sorted(await ours.metrics()), sorted(await theirs.metrics()));
    c.remove({ ...A, code: 'ok' });
    p.remove({ ...A, code: 'ok' });
    assert.deepEqual(sorted(await ours.metrics()), sorted(await theirs.metrics()));
    assert.equal(parseExposition(await ours.metrics()).length, 2);
  });
});
