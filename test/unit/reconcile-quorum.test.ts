// Quorum with hysteresis (keepalived semantics) and slow start, as inputs of the pure desired table (table-driven).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { desiredTable } from '../../src/reconcile/desired.js';
import type { DesiredInputs, RealHealth } from '../../src/reconcile/desired.js';
import type { HealthState } from '../../src/model/health-state.js';
import { NO_QUORUM_STATE, nextQuorumState, quorumUp } from '../../src/reconcile/quorum.js';
import type { QuorumState } from '../../src/reconcile/quorum.js';
import { nextSlowStartStep, rampedWeight, slowStartFraction } from '../../src/reconcile/weight.js';
import { healthOf, plain, snapshot, table } from '../helpers/reconcile-fixtures.js';
import type { KernelServiceSpec, ServiceSpec } from '../helpers/reconcile-fixtures.js';

const WEB = 'tcp:192.0.2.10:80';
const R1 = '10.0.0.1:80';
const R2 = '10.0.0.2:80';
const R3 = '10.0.0.3:80';
const SORRY = '10.0.0.99:80';
const h = (real: string): string => `${WEB} ${real}`;

const web = (extra: Partial<ServiceSpec> = {}): ServiceSpec => ({
  key: WEB,
  reals: [{ address: R1, weight: 10 }, { address: R2, weight: 20 }, { address: R3, weight: 30 }],
  sorry: [SORRY],
  ...extra,
});

describe('quorumUp (keepalived: gained at quorum + hysteresis, lost below quorum - hysteresis)', () => {
  const cases: readonly [string, { quorum: number; hysteresis: number }, number, boolean | undefined, boolean][] = [
    ['no history: the plain threshold, reached', { quorum: 30, hysteresis: 10 }, 30, undefined, true],
    ['no history: the plain threshold, missed', { quorum: 30, hysteresis: 10 }, 29, undefined, false],
    ['up holds down to quorum - hysteresis', { quorum: 30, hysteresis: 10 }, 20, true, true],
    ['up is lost below quorum - hysteresis', { quorum: 30, hysteresis: 10 }, 19, true, false],
    ['down holds up to quorum + hysteresis - 1', { quorum: 30, hysteresis: 10 }, 39, false, false],
    ['down is gained at quorum + hysteresis', { quorum: 30, hysteresis: 10 }, 40, false, true],
    ['default quorum 1: one healthy weight is enough', { quorum: 1, hysteresis: 0 }, 1, false, true],
    ['a healthy weight sum of 0 is lost, even with quorum 0', { quorum: 0, hysteresis: 0 }, 0, true, false],
    ['a healthy weight sum of 0 is lost, even when hysteresis would hold it', { quorum: 1, hysteresis: 5 }, 0, true, false],
    ['hysteresis larger than quorum: only a sum of 0 loses it', { quorum: 2, hysteresis: 5 }, 1, true, true],
  ];
  for (const [name, service, sum, previous, want] of cases) {
    it(name, () => assert.equal(quorumUp(service, sum, previous), want));
  }
});

describe('nextQuorumState: a sequence of health rounds through the hysteresis band', () => {
  it('flaps of one real inside the band do not flap quorum', () => {
    const snap = snapshot([web({ quorum: 40, hysteresis: 10 })]);
    // weight sums: 60 (all), 50 (R1 down), 30 (R1+R2 down), 40 (R2 back), 50 (R1 back)
    const rounds: readonly [Record<string, HealthState>, boolean][] = [
      [{}, true],
      [{ [h(R1)]: 'down' }, true],
      [{ [h(R1)]: 'down', [h(R2)]: 'down' }, true], // 30 >= 40 - 10: held
      [{ [h(R1)]: 'down', [h(R2)]: 'down', [h(R3)]: 'down' }, false],
      [{ [h(R1)]: 'down', [h(R2)]: 'down' }, false], // 30 < 50: still lost
      [{ [h(R1)]: 'down' }, true], // 50 >= 40 + 10: gained
    ];
    let state: QuorumState = NO_QUORUM_STATE;
    for (const [i, [health, want]] of rounds.entries()) {
      state = nextQuorumState(snap, { health: healthOf(health) }, state);
      assert.equal(state.get(WEB)?.up, want, `round ${i}`);
    }
  });

  it('counts dynamic weights, not sorry servers, and drops services gone from the config', () => {
    const snap = snapshot([web({ quorum: 25 })]);
    const state = nextQuorumState(snap, { health: healthOf({ [h(R1)]: { state: 'up', weight: 5 }, [h(R2)]: 'down', [h(R3)]: 'down' }) }, NO_QUORUM_STATE);
    assert.deepEqual(state.get(WEB), { up: false, weightSum: 5 });
    const gone = nextQuorumState(snapshot([]), { health: healthOf({}) }, state);
    assert.equal(gone.size, 0);
  });
});

interface Case {
  readonly name: string;
  readonly config: ServiceSpec;
  readonly health: Readonly<Record<string, HealthState | RealHealth>>;
  /** The caller's quorum state for WEB (undefined: no state, the plain threshold decides). */
  readonly quorum?: boolean;
  readonly actual?: readonly KernelServiceSpec[];
  readonly expect: KernelServiceSpec['reals'];
}

const desiredCases: readonly Case[] = [
  {
    name: 'quorum reached: reals with their weights, no sorry server',
    config: web({ quorum: 30 }),
    health: { [h(R1)]: 'down' },
    expect: [[R2, 20], [R3, 30]],
  },
  {
    name: 'quorum lost with reals still up: sorry goes in, healthy reals stay at weight 0',
    config: web({ quorum: 40 }),
    health: { [h(R2)]: 'down', [h(R3)]: 'down' },
    expect: [[R1, 0], [SORRY, 1]],
  },
  {
    name: 'quorum lost and no sorry server: the healthy reals keep serving (less capacity beats none)',
    config: web({ quorum: 40, sorry: [] }),
    health: { [h(R2)]: 'down', [h(R3)]: 'down' },
    expect: [[R1, 10]],
  },
  {
    name: 'regression: every real up at weight 0 is quorum lost, sorry servers go in (was: healthy with no capacity)',
    config: web({ reals: [{ address: R1, weight: 0 }, { address: R2, weight: 0 }] }),
    health: {},
    expect: [[R1, 0], [R2, 0], [SORRY, 1]],
  },
  {
    name: 'regression: dynamic weight 0 on every real is quorum lost',
    config: web({ reals: [R1] }),
    health: { [h(R1)]: { state: 'up', weight: 0 } },
    expect: [[R1, 0], [SORRY, 1]],
  },
  {
    name: 'the caller\'s state (hysteresis held it up) wins over the plain threshold',
    config: web({ quorum: 40, hysteresis: 20 }),
    health: { [h(R3)]: 'down' },
    quorum: true,
    expect: [[R1, 10], [R2, 20]],
  },
  {
    name: 'the caller\'s state (not yet regained) keeps the sorry server in',
    config: web({ quorum: 40, hysteresis: 20 }),
    health: { [h(R1)]: 'down' },
    quorum: false,
    expect: [[R2, 0], [R3, 0], [SORRY, 1]],
  },
  {
    name: 'quorum lost but an unchecked real still carries traffic: no sorry yet',
    config: web({ quorum: 40 }),
    health: { [h(R1)]: 'up', [h(R2)]: 'unknown', [h(R3)]: 'down' },
    actual: [{ key: WEB, reals: [[R2, 20]] }],
    expect: [[R1, 10], [R2, 20]],
  },
];

describe('desiredTable with quorum', () => {
  for (const c of desiredCases) {
    it(c.name, () => {
      const inputs: DesiredInputs = {
        health: healthOf(c.health),
        ...(c.quorum === undefined ? {} : { quorum: (k: string) => (k === WEB ? c.quorum : undefined) }),
      };
      const got = desiredTable(snapshot([c.config]), inputs, undefined, table(c.actual ?? []));
      assert.deepEqual(plain(got), plain(table([{ key: WEB, reals: c.expect ?? [] }])));
    });
  }
});

describe('slow start', () => {
  it('ramps from about 10 % in four equal steps to the full weight at the end of the window', () => {
    const window = 30_000;
    const got = [0, 7_499, 7_500, 15_000, 22_500, 29_999, 30_000, 90_000].map((t) => slowStartFraction(t, window));
    assert.deepEqual(got, [0.1, 0.1, 0.325, 0.55, 0.775, 0.775, 1, 1]);
    assert.equal(slowStartFraction(0, 0), 1);
  });

  it('names when the next step is due, and none after the window', () => {
    assert.equal(nextSlowStartStep(1_000, 30_000, 1_000), 8_500);
    assert.equal(nextSlowStartStep(1_000, 30_000, 8_500), 16_000);
    assert.equal(nextSlowStartStep(1_000, 30_000, 30_999), 31_000);
    assert.equal(nextSlowStartStep(1_000, 30_000, 31_000), null);
    assert.equal(nextSlowStartStep(1_000, 0, 1_000), null);
  });

  it('never ramps a positive weight to 0 (that would be a drain) and leaves 0 alone', () => {
    assert.equal(rampedWeight(3, 0.1), 1);
    assert.equal(rampedWeight(100, 0.325), 33);
    assert.equal(rampedWeight(0, 0.1), 0);
    assert.equal(rampedWeight(7, 1), 7);
  });

  const ramp = (now: number, since: Record<string, number>, slowStartMs = 30_000) =>
    desiredTable(
      snapshot([web({ reals: [{ address: R1, weight: 100, slowStartMs }, { address: R2, weight: 20, slowStartMs }] })]),
      { health: healthOf({}), slowStart: (_s, r) => since[r], now },
      undefined,
      table([]),
    );

  const cases: readonly [string, number, Record<string, number>, number, KernelServiceSpec['reals']][] = [
    ['a real in its first step gets about 10 %', 1_000, { [R1]: 1_000 }, 30_000, [[R1, 10], [R2, 20]]],
    ['half-way through the window', 16_000, { [R1]: 1_000 }, 30_000, [[R1, 55], [R2, 20]]],
    ['the ramp is over: full weight', 31_000, { [R1]: 1_000 }, 30_000, [[R1, 100], [R2, 20]]],
    ['two reals ramp independently', 8_500, { [R1]: 1_000, [R2]: 8_500 }, 30_000, [[R1, 33], [R2, 2]]],
    ['slow_start 0: no ramp even with a start time', 1_000, { [R1]: 1_000 }, 0, [[R1, 100], [R2, 20]]],
  ];
  for (const [name, now, since, window, expect] of cases) {
    it(name, () => assert.deepEqual(plain(ramp(now, since, window)), plain(table([{ key: WEB, reals: expect }]))));
  }

  it('a ramping real counts with its full weight for quorum (a ramp cannot lose quorum)', () => {
    const got = desiredTable(
      snapshot([web({ quorum: 100, reals: [{ address: R1, weight: 100, slowStartMs: 30_000 }] })]),
      { health: healthOf({}), slowStart: () => 0, now: 0 },
      undefined,
      table([]),
    );
    assert.deepEqual(plain(got), plain(table([{ key: WEB, reals: [[R1, 10]] }])));
  });

  it('without a clock no ramp applies (plan and tests that give none)', () => {
    const got = desiredTable(
      snapshot([web({ reals: [{ address: R1, weight: 100, slowStartMs: 30_000 }] })]),
      { health: healthOf({}), slowStart: () => 0 },
      undefined,
      table([]),
    );
    assert.deepEqual(plain(got), plain(table([{ key: WEB, reals: [[R1, 100]] }])));
  });
});
