// /healthz verdicts: failing reconciles and a stuck check loop, at and past their thresholds.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkStallThresholdMs, judgeHealth, reconcileFailureThresholdMs } from '../../src/observe/healthz.js';
import type { HealthzInputs } from '../../src/observe/healthz.js';

const T0 = 1_700_000_000_000;

function inputs(over: Partial<HealthzInputs> = {}): HealthzInputs {
  return {
    now: T0,
    resyncIntervalMs: 30_000,
    reconcile: { started: true, consecutiveFailures: 0, lastError: null },
    failingSince: null,
    probes: 3,
    slowestProbeMs: 3_000,
    lastCheckAt: T0 - 1_000,
    startedAt: T0 - 3_600_000,
    ...over,
  };
}

describe('healthz thresholds', () => {
  it('reconcile: 3 resync intervals, at least 2 minutes', () => {
    assert.equal(reconcileFailureThresholdMs(30_000), 120_000);
    assert.equal(reconcileFailureThresholdMs(60_000), 180_000);
    assert.equal(reconcileFailureThresholdMs(1_000), 120_000);
  });

  it('checks: 3 rounds of the slowest probe, at least 1 minute', () => {
    assert.equal(checkStallThresholdMs(3_000), 60_000);
    assert.equal(checkStallThresholdMs(40_000), 120_000);
  });
});

describe('judgeHealth', () => {
  it('is ok when the last pass succeeded and checks complete', () => {
    assert.deepEqual(judgeHealth(inputs()), { ok: true, problems: [] });
  });

  it('tolerates failing passes up to the threshold', () => {
    const failing = { started: true, consecutiveFailures: 4, lastError: 'ipvsadm -R: exit status 2' };
    assert.equal(judgeHealth(inputs({ reconcile: failing, failingSince: T0 - 120_000 })).ok, true);
    const v = judgeHealth(inputs({ reconcile: failing, failingSince: T0 - 120_001 }));
    assert.equal(v.ok, false);
    assert.equal(v.problems.length, 1);
    assert.match(v.problems[0]!, /IPVS sync has failed for 120s \(4 passes; limit 120s\): ipvsadm -R: exit status 2/);
  });

  it('ignores a reconciler that has not started (first check round still running)', () => {
    const v = judgeHealth(inputs({ reconcile: { started: false, consecutiveFailures: 0, lastError: null }, failingSince: T0 - 999_999 }));
    assert.equal(v.ok, true);
  });

  it('reports a stuck check loop, measured from start-up before any check completed', () => {
    assert.equal(judgeHealth(inputs({ lastCheckAt: T0 - 60_000 })).ok, true);
    const stuck = judgeHealth(inputs({ lastCheckAt: T0 - 60_001 }));
    assert.match(stuck.problems[0]!, /no health check has completed for 60s although 3 probes are planned/);
    const never = judgeHealth(inputs({ lastCheckAt: null, startedAt: T0 - 61_000 }));
    assert.equal(never.ok, false);
    assert.equal(judgeHealth(inputs({ lastCheckAt: null, startedAt: T0 - 5_000 })).ok, true);
  });

  it('needs no checks when no probe is planned', () => {
    assert.equal(judgeHealth(inputs({ probes: 0, lastCheckAt: null, startedAt: T0 - 9_999_999 })).ok, true);
  });

  it('a reconcile pass running past its deadline is unhealthy; within it, ok', () => {
    const running = (forMs: number) => inputs({ reconcile: { started: true, consecutiveFailures: 0, lastError: null, passRunningSince: T0 - forMs, passDeadlineMs: 60_000 } });
    assert.deepEqual(judgeHealth(running(60_000)), { ok: true, problems: [] });
    assert.deepEqual(judgeHealth(running(61_000)), { ok: false, problems: ['a reconcile pass has been running for 61s (deadline 60s)'] });
    assert.equal(judgeHealth(inputs({ reconcile: { started: true, consecutiveFailures: 0, lastError: null, passRunningSince: null, passDeadlineMs: 60_000 } })).ok, true);
  });

  it('lists every problem', () => {
    const v = judgeHealth(inputs({
      reconcile: { started: true, consecutiveFailures: 9, lastError: 'x' },
      failingSince: T0 - 600_000,
      lastCheckAt: T0 - 600_000,
    }));
    assert.equal(v.problems.length, 2);
  });
});
