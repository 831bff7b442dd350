// Per-real families written as text: the exposition format prom-client writes, escapes included.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { labelValue, renderFamily, sampleValue } from '../../src/observe/metrics-text.js';

describe('metrics written as text', () => {
  it('writes HELP, TYPE and one line per sample, and the header alone without samples', async () => {
    const family = (n: number) => ({
      name: 'lvsd_x',
      help: 'A "quoted" help\\with a backslash',
      type: 'gauge' as const,
      lines(push: (l: string) => void) {
        for (let i = 0; i < n; i++) push(`lvsd_x{real="${labelValue(`10.0.0.${i}:80`)}"} ${sampleValue(i)}`);
      },
    });
    assert.equal(await renderFamily(family(2)), '# HELP lvsd_x A "quoted" help\\\\with a backslash\n# TYPE lvsd_x gauge\nlvsd_x{real="10.0.0.0:80"} 0\nlvsd_x{real="10.0.0.1:80"} 1\n');
    assert.equal(await renderFamily(family(0)), '# HELP lvsd_x A "quoted" help\\\\with a backslash\n# TYPE lvsd_x gauge\n');
  });

  it('escapes label values only when they hold a reserved character', () => {
    assert.equal(labelValue('[2001:db8::1]:80'), '[2001:db8::1]:80');
    assert.equal(labelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
    assert.deepEqual([sampleValue(NaN), sampleValue(Infinity), sampleValue(-Infinity), sampleValue(0.25)], ['NaN', '+Inf', '-Inf', '0.25']);
  });
});
