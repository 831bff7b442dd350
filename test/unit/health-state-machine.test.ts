// Table-driven tests of the pure rise/fall state machine.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckResult } from '../../src/checks/types.js';
import { applyResult, initialHealth } from '../../src/health/state-machine.js';
import type { Health, Thresholds } from '../../src/health/state-machine.js';
import type { HealthState } from '../../src/model/health-state.js';

const ok = (weight?: number): CheckResult => ({ up: true, code: 'ok', reason: 'TCP connect 10.0.0.1:80: ok', latencyMs: 1, ...(weight === undefined ? {} : { weight }) });
const bad: CheckResult = { up: false, code: 'refused', reason: 'TCP connect 10.0.0.1:80: refused', latencyMs: 2 };

/** '+' = success, '-' = failure, 'wN' = success asking for dynamic weight N. */
function parse(seq: string): CheckResult[] {
  return seq.split(' ').filter(Boolean).map((t) => (t === '+' ? ok() : t === '-' ? bad : ok(Number(t.slice(1)))));
}

function run(seq: string, th: Thresholds) {
  let h: Health = initialHealth(0);
  const states: HealthState[] = [];
  const transitions: string[] = [];
  parse(seq).forEach((r, i) => {
    const step = applyResult(h, r, th, i + 1);
    h = step.health;
    states.push(h.state);
    if (step.transition) transitions.push(`${i + 1}:${step.transition.kind}:${step.transition.from}->${step.transition.to}`);
  });
  return { h, states: states.map((s) => s[0]).join(''), transitions };
}

describe('health state machine', () => {
  const cases: { name: string; seq: string; th: Thresholds; states: string; transitions: string[] }[] = [
    { name: 'first success goes up at once (no rise wait after restart)', seq: '+', th: { rise: 3, fall: 3 }, states: 'u', transitions: ['1:state:unknown->up'] },
    { name: 'first failure goes down at once', seq: '-', th: { rise: 3, fall: 3 }, states: 'd', transitions: ['1:state:unknown->down'] },
    { name: 'fall consecutive failures take it down', seq: '+ - - -', th: { rise: 2, fall: 3 }, states: 'uuud', transitions: ['1:state:unknown->up', '4:state:up->down'] },
    { name: 'a success resets the failure count', seq: '+ - - + - - -', th: { rise: 2, fall: 3 }, states: 'uuuuuud', transitions: ['1:state:unknown->up', '7:state:up->down'] },
    { name: 'rise consecutive successes bring it back', seq: '- + + ', th: { rise: 2, fall: 3 }, states: 'ddu', transitions: ['1:state:unknown->down', '3:state:down->up'] },
    { name: 'a failure resets the success count', seq: '- + - + +', th: { rise: 2, fall: 1 }, states: 'ddddu', transitions: ['1:state:unknown->down', '5:state:down->up'] },
    { name: 'rise 1 / fall 1 flap with every result', seq: '+ - + -', th: { rise: 1, fall: 1 }, states: 'udud', transitions: ['1:state:unknown->up', '2:state:up->down', '3:state:down->up', '4:state:up->down'] },
    { name: 'thresholds below 1 act as 1', seq: '+ -', th: { rise: 0, fall: 0 }, states: 'ud', transitions: ['1:state:unknown->up', '2:state:up->down'] },
    { name: 'dynamic weight change while up is a weight event', seq: '+ w5 w5 w7 +', th: { rise: 1, fall: 1 }, states: 'uuuuu', transitions: ['1:state:unknown->up', '2:weight:up->up', '4:weight:up->up'] },
    { name: 'weight learnt while down is carried by the up transition, no separate event', seq: '- w9 w9', th: { rise: 2, fall: 1 }, states: 'ddu', transitions: ['1:state:unknown->down', '3:state:down->up'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = run(c.seq, c.th);
      assert.equal(got.states, c.states);
      assert.deepEqual(got.transitions, c.transitions);
    });
  }

  it('keeps counters, last result, check time and change time', () => {
    const th = { rise: 2, fall: 2 };
    let h = initialHealth(100);
    assert.deepEqual(h, { state: 'unknown', successes: 0, failures: 0, checks: 0, lastResult: null, lastCheckAt: null, since: 100, weight: null });
    h = applyResult(h, ok(), th, 200).health;
    h = applyResult(h, ok(), th, 300).health;
    h = applyResult(h, bad, th, 400).health;
    assert.equal(h.state, 'up');
    assert.equal(h.since, 200, 'since = the last state change, not the last check');
    assert.equal(h.lastCheckAt, 400);
    assert.equal(h.lastResult, bad);
    assert.equal(h.successes, 0);
    assert.equal(h.failures, 1);
    assert.equal(h.checks, 3);
  });

  it('transition reasons say why, with the result text', () => {
    const th = { rise: 2, fall: 2 };
    const first = applyResult(initialHealth(0), bad, th, 1);
    assert.equal(first.transition?.reason, 'first check: TCP connect 10.0.0.1:80: refused');
    const up1 = applyResult(first.health, ok(), th, 2);
    const up2 = applyResult(up1.health, ok(), th, 3);
    assert.equal(up2.transition?.reason, '2 consecutive successes (rise 2): TCP connect 10.0.0.1:80: ok');
    assert.equal(up2.transition?.result.code, 'ok');
    const down1 = applyResult(up2.health, bad, { rise: 1, fall: 1 }, 4);
    assert.equal(down1.transition?.reason, '1 consecutive failure (fall 1): TCP connect 10.0.0.1:80: refused');
  });

  it('dynamic weight: exit 0 keeps the last weight, a failure keeps it for the way back', () => {
    const th = { rise: 1, fall: 1 };
    let h = applyResult(initialHealth(0), ok(40), th, 1).health;
    assert.equal(h.weight, 40);
    h = applyResult(h, ok(), th, 2).health;
    assert.equal(h.weight, 40);
    h = applyResult(h, bad, th, 3).health;
    assert.equal(h.weight, 40);
    const back = applyResult(h, ok(0), th, 4);
    assert.equal(back.health.weight, 0);
    assert.equal(back.transition?.kind, 'state');
    assert.equal(back.transition?.weight, 0);
  });

  it('does not mutate the previous state', () => {
    const h0 = initialHealth(0);
    const frozen = Object.freeze({ ...h0 });
    applyResult(frozen, ok(), { rise: 1, fall: 1 }, 1);
    assert.equal(frozen.state, 'unknown');
  });
});
