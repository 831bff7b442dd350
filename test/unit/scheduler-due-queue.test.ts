// The due-time queue against a sorted reference: bucket order, FIFO within a millisecond.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DueQueue } from '../../src/scheduler/due-queue.js';

interface Item {
  due: number;
  id: number;
}

/** Deterministic PRNG so a failure is reproducible. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function drain(q: DueQueue<Item>, now: number): number[] {
  const out: number[] = [];
  for (let b = q.takeDue(now); b; b = q.takeDue(now)) out.push(...b.map((x) => x.id));
  return out;
}

describe('DueQueue', () => {
  it('hands out buckets in time order, items of one millisecond first-in first-out', () => {
    const q = new DueQueue<Item>();
    [5.5, 1.2, 3, 1.9, 5.1, 0].forEach((due, id) => q.push({ due, id }));
    assert.equal(q.size, 6);
    assert.equal(q.peekTime(), 0);
    assert.deepEqual(drain(q, 2), [5, 1, 3], '1.2 and 1.9 share bucket 1, in push order');
    assert.equal(q.peekTime(), 3);
    assert.deepEqual(drain(q, 4.99), [2]);
    assert.deepEqual(drain(q, 5), [0, 4]);
    assert.equal(q.size, 0);
    assert.equal(q.takeDue(1e9), undefined);
    assert.equal(q.peekTime(), undefined);
  });

  for (const seed of [1, 2, 3, 42]) {
    it(`interleaved pushes and takes match a sorted reference (seed ${seed})`, () => {
      const rnd = lcg(seed);
      const q = new DueQueue<Item>();
      let live: Item[] = [];
      let now = 0;
      for (let i = 0; i < 3000; i++) {
        if (rnd() < 0.6) {
          const it = { due: now + rnd() * 200, id: i };
          q.push(it);
          live.push(it);
        } else {
          now += rnd() * 20;
          const expected = live
            .filter((x) => Math.floor(x.due) <= now)
            .sort((a, b) => Math.floor(a.due) - Math.floor(b.due) || a.id - b.id)
            .map((x) => x.id);
          assert.deepEqual(drain(q, now), expected);
          live = live.filter((x) => Math.floor(x.due) > now);
        }
        assert.equal(q.size, live.length);
      }
      q.clear();
      assert.equal(q.size, 0);
      assert.equal(q.peekTime(), undefined);
    });
  }
});
