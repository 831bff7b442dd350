// HealthBoard: the health the reconciler reads, fed by the tracker's event batches and resynced
// after a new probe plan, must say what the tracker says for every pair (the tracker is the truth).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CheckResult } from '../../src/checks/types.js';
import { HealthTracker } from '../../src/health/tracker.js';
import { buildProbePlan } from '../../src/scheduler/probe-key.js';
import { HealthBoard } from '../../src/reconcile/health-board.js';
import { snapshot } from '../helpers/reconcile-fixtures.js';

const WEB = 'tcp:192.0.2.10:80';
const R1 = '10.0.0.1:80';
const R2 = '10.0.0.2:80';
const ok: CheckResult = { up: true, code: 'ok', reason: 'ok', latencyMs: 1 } as CheckResult;
const refused: CheckResult = { up: false, code: 'refused', reason: 'refused', latencyMs: 1 } as CheckResult;

describe('HealthBoard', () => {
  it('follows the events of a sequence of results: unknown, first result, fall, rise', () => {
    const snap = snapshot([{ key: WEB, reals: [R1, R2] }]);
    const plan = buildProbePlan(snap);
    const tracker = new HealthTracker();
    const board = new HealthBoard();
    tracker.update(plan, 0);
    board.resync(tracker.entries());
    assert.deepEqual(board.view(WEB, R1), { state: 'unknown' });
    const [p1, p2] = [...plan.keys()];
    const rounds: [string, CheckResult, string, string][] = [
      [p1!, ok, 'up', 'unknown'],
      [p2!, refused, 'up', 'down'],
      [p1!, refused, 'down', 'down'], // fall 1 in the fixture's checks
      [p1!, ok, 'up', 'down'],
    ];
    for (const [i, [probe, result, want1, want2]] of rounds.entries()) {
      board.apply(tracker.record(probe, result, i + 1));
      assert.equal(board.view(WEB, R1).state, want1, `round ${i + 1}: ${R1}`);
      assert.equal(board.view(WEB, R2).state, want2, `round ${i + 1}: ${R2}`);
      for (const real of [R1, R2]) assert.equal(board.view(WEB, real).state, tracker.get(WEB, real)?.health.state, `round ${i + 1}: board = tracker for ${real}`);
    }
  });

  it('a reload that drops a real forgets it; one that keeps it keeps its health', () => {
    const tracker = new HealthTracker();
    const board = new HealthBoard();
    const first = snapshot([{ key: WEB, reals: [R1, R2] }]);
    tracker.update(first, 0);
    for (const pk of buildProbePlan(first).keys()) board.apply(tracker.record(pk, ok, 1));
    assert.equal(board.view(WEB, R2).state, 'up');
    tracker.update(snapshot([{ key: WEB, reals: [R1] }]), 2);
    board.resync(tracker.entries());
    assert.equal(board.view(WEB, R1).state, 'up');
    assert.equal(board.view(WEB, R2).state, 'unknown');
  });
});
