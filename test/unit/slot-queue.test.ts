// The scheduler's slot queue (scheduler/slot-queue.ts): first in, first out across its clean-ups of
// the consumed prefix (when it empties, and past 1,024 read items), against a plain array as model.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SlotQueue } from '../../src/scheduler/slot-queue.js';

describe('SlotQueue', () => {
  it('gives items back in the order pushed, whatever the mix of pushes, shifts and clears', () => {
    const op = fc.oneof(
      { weight: 6, arbitrary: fc.record({ push: fc.integer({ min: 1, max: 3000 }) }) },
      { weight: 6, arbitrary: fc.record({ shift: fc.integer({ min: 1, max: 3000 }) }) },
      { weight: 1, arbitrary: fc.constant({ clear: true as const }) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const queue = new SlotQueue<number>();
        const model: number[] = [];
        let next = 0;
        for (const o of ops) {
          if ('push' in o) {
            for (let i = 0; i < o.push; i++) {
              queue.push(next);
              model.push(next++);
            }
          } else if ('shift' in o) {
            for (let i = 0; i < o.shift; i++) assert.equal(queue.shift(), model.shift());
          } else {
            queue.clear();
            model.length = 0;
          }
        }
        // Whatever is left comes out in order, then the queue is empty.
        for (const want of model) assert.equal(queue.shift(), want);
        assert.equal(queue.shift(), undefined);
      }),
      { numRuns: 200 },
    );
  });
});
