// desiredTable and drainCandidates with admin state as an input (table-driven): drain keeps a real at
// weight 0, maint leaves it out like a removal, neither counts as usable for sorry servers.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { desiredTable } from '../../src/reconcile/desired.js';
import type { DrainSet, RealHealth } from '../../src/reconcile/desired.js';
import type { HealthState } from '../../src/model/health-state.js';
import { drainCandidates } from '../../src/reconcile/drain.js';
import type { AdminState } from '../../src/control/admin-model.js';
import type { AdminView } from '../../src/control/admin-store.js';
import { healthOf, plain, snapshot, table } from '../helpers/reconcile-fixtures.js';
import type { KernelServiceSpec, ServiceSpec } from '../helpers/reconcile-fixtures.js';

const WEB = 'tcp:192.0.2.10:80';
const DNS = 'udp:192.0.2.53:53';
const R1 = '10.0.0.1:80';
const R2 = '10.0.0.2:80';
const SORRY = '10.0.0.99:80';

const web = (extra: Partial<ServiceSpec> = {}): ServiceSpec => ({
  key: WEB,
  reals: [{ address: R1, weight: 10 }, { address: R2, weight: 20 }],
  sorry: [SORRY],
  ...extra,
});

const adminOf = (states: Readonly<Record<string, AdminState>>): AdminView => (s, r) => states[`${s} ${r}`] ?? 'ready';
const k = (real: string, service = WEB): string => `${service} ${real}`;

interface Case {
  readonly name: string;
  readonly config?: readonly ServiceSpec[];
  readonly health?: Readonly<Record<string, HealthState | RealHealth>>;
  readonly admin: Readonly<Record<string, AdminState>>;
  readonly actual?: readonly KernelServiceSpec[];
  readonly drains?: Readonly<Record<string, readonly string[]>>;
  readonly expect: readonly KernelServiceSpec[];
}

const cases: readonly Case[] = [
  {
    name: 'every real ready: the table is what health alone makes it',
    admin: {},
    expect: [{ key: WEB, reals: [[R1, 10], [R2, 20]] }],
  },
  {
    name: 'drain: an up real stays in the table at weight 0',
    admin: { [k(R1)]: 'drain' },
    actual: [{ key: WEB, reals: [[R1, 10], [R2, 20]] }],
    expect: [{ key: WEB, reals: [[R1, 0], [R2, 20]] }],
  },
  {
    name: 'drain: a real that is not in the kernel is added at weight 0 (it stays until enabled)',
    admin: { [k(R1)]: 'drain' },
    expect: [{ key: WEB, reals: [[R1, 0], [R2, 20]] }],
  },
  {
    name: 'drain of a down real: down wins, the real is removed (not quiescent)',
    health: { [k(R1)]: 'down' },
    admin: { [k(R1)]: 'drain' },
    actual: [{ key: WEB, reals: [[R1, 10], [R2, 20]] }],
    expect: [{ key: WEB, reals: [[R2, 20]] }],
  },
  {
    name: 'drain of a real without a first result: its kernel entry is kept at weight 0',
    health: { [k(R1)]: 'unknown' },
    admin: { [k(R1)]: 'drain' },
    actual: [{ key: WEB, reals: [[R1, 10], [R2, 20]] }],
    expect: [{ key: WEB, reals: [[R1, 0], [R2, 20]] }],
  },
  {
    name: 'drain wins over a dynamic weight',
    health: { [k(R1)]: { state: 'up', weight: 42 } },
    admin: { [k(R1)]: 'drain' },
    expect: [{ key: WEB, reals: [[R1, 0], [R2, 20]] }],
  },
  {
    name: 'maint: left out of desired like a real removed from the config',
    admin: { [k(R1)]: 'maint' },
    actual: [{ key: WEB, reals: [[R1, 10], [R2, 20]] }],
    expect: [{ key: WEB, reals: [[R2, 20]] }],
  },
  {
    name: 'maint while draining: the drain set holds it at weight 0 until idle or drain_timeout',
    admin: { [k(R1)]: 'maint' },
    actual: [{ key: WEB, reals: [[R1, 10], [R2, 20]] }],
    drains: { [WEB]: [R1] },
    expect: [{ key: WEB, reals: [[R1, 0], [R2, 20]] }],
  },
  {
    name: 'every real drained: sorry servers take new connections, drained reals stay at weight 0',
    admin: { [k(R1)]: 'drain', [k(R2)]: 'drain' },
    actual: [{ key: WEB, reals: [[R1, 10], [R2, 20]] }],
    expect: [{ key: WEB, reals: [[R1, 0], [R2, 0], [SORRY, 1]] }],
  },
  {
    name: 'every real in maint: sorry servers only',
    admin: { [k(R1)]: 'maint', [k(R2)]: 'maint' },
    expect: [{ key: WEB, reals: [[SORRY, 1]] }],
  },
  {
    name: 'one real ready and up keeps sorry out',
    admin: { [k(R1)]: 'maint' },
    expect: [{ key: WEB, reals: [[R2, 20]] }],
  },
  {
    name: 'a drained unknown real carrying traffic does not hold sorry back',
    health: { [k(R1)]: 'unknown', [k(R2)]: 'down' },
    admin: { [k(R1)]: 'drain' },
    actual: [{ key: WEB, reals: [[R1, 10]] }],
    expect: [{ key: WEB, reals: [[R1, 0], [SORRY, 1]] }],
  },
  {
    name: 'admin state is per service: the same real elsewhere is untouched',
    config: [web(), { key: 'tcp:192.0.2.11:80', reals: [{ address: R1, weight: 3 }] }],
    admin: { [k(R1)]: 'maint' },
    expect: [
      { key: WEB, reals: [[R2, 20]] },
      { key: 'tcp:192.0.2.11:80', reals: [[R1, 3]] },
    ],
  },
];

describe('desiredTable with admin state', () => {
  for (const c of cases) {
    it(c.name, () => {
      const drains: DrainSet = new Map(Object.entries(c.drains ?? {}).map(([key, v]) => [key, new Set(v)]));
      const inputs = { health: healthOf(c.health ?? {}), admin: adminOf(c.admin) };
      const got = desiredTable(snapshot(c.config ?? [web()]), inputs, drains, table(c.actual ?? []));
      assert.deepEqual(plain(got), plain(table(c.expect)));
    });
  }
});

describe('drainCandidates with admin state', () => {
  it('a real in maint is a candidate like a real removed from the config; drain and ready are not', () => {
    const snap = snapshot([web()]);
    const actual = table([{ key: WEB, reals: [[R1, 10], [R2, 20]] }]);
    const got = drainCandidates(snap, actual, new Set([WEB]), adminOf({ [k(R1)]: 'maint', [k(R2)]: 'drain' }));
    assert.deepEqual([...got].map(([s, set]) => [s, [...set]]), [[WEB, [R1]]]);
    assert.equal(drainCandidates(snap, actual, new Set([WEB]), adminOf({})).size, 0);
  });

  it('UDP services are not drained: a real in maint leaves at once', () => {
    const snap = snapshot([{ key: DNS, reals: ['10.0.0.1:53'] }]);
    const actual = table([{ key: DNS, reals: [['10.0.0.1:53', 1]] }]);
    assert.equal(drainCandidates(snap, actual, new Set([DNS]), adminOf({ [k('10.0.0.1:53', DNS)]: 'maint' })).size, 0);
    const got = desiredTable(snap, { health: healthOf({}), admin: adminOf({ [k('10.0.0.1:53', DNS)]: 'maint' }) }, new Map(), actual);
    assert.deepEqual(plain(got), plain(table([{ key: DNS, reals: [] }])));
  });
});
