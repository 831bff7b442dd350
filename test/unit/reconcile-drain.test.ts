// Drains: which reals drain (removed from config, removed services, not UDP) and when a drain ends.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RealCounters, TableCounters } from '../../src/ipvs/model.js';
import { EMPTY_DRAIN_STATE, drainCandidates, drainCount, updateDrains } from '../../src/reconcile/drain.js';
import type { DrainState } from '../../src/reconcile/drain.js';
import { snapshot, table } from '../helpers/reconcile-fixtures.js';
import type { KernelServiceSpec, ServiceSpec } from '../helpers/reconcile-fixtures.js';
import { pairId } from '../../src/model/keys.js';

const WEB = 'tcp:192.0.2.10:80';
const DNS = 'udp:192.0.2.53:53';
const R1 = '10.0.0.1:80';
const R2 = '10.0.0.2:80';
const SORRY = '10.0.0.99:80';

const asObject = (m: ReadonlyMap<string, ReadonlySet<string>>): Record<string, string[]> =>
  Object.fromEntries([...m].map(([k, v]) => [k, [...v].sort()]));

describe('drainCandidates', () => {
  const cases: readonly {
    name: string;
    config: readonly ServiceSpec[];
    actual: readonly KernelServiceSpec[];
    owned: readonly string[];
    expect: Record<string, string[]>;
  }[] = [
    {
      name: 'a real removed from the config of a managed service drains',
      config: [{ key: WEB, reals: [R1], sorry: [SORRY] }],
      actual: [{ key: WEB, reals: [[R1, 1], [R2, 1]] }],
      owned: [WEB],
      expect: { [WEB]: [R2] },
    },
    {
      name: 'configured reals and sorry servers, in the kernel or not, never drain',
      config: [{ key: WEB, reals: [R1, R2], sorry: [SORRY] }],
      actual: [{ key: WEB, reals: [[R1, 0], [SORRY, 1]] }],
      owned: [WEB],
      expect: {},
    },
    {
      name: 'every real of a removed owned service drains',
      config: [],
      actual: [{ key: WEB, reals: [[R1, 1], [R2, 0]] }],
      owned: [WEB],
      expect: { [WEB]: [R1, R2] },
    },
    {
      name: 'foreign services never drain',
      config: [],
      actual: [{ key: WEB, reals: [[R1, 1]] }],
      owned: [],
      expect: {},
    },
    {
      name: 'UDP reals do not drain (deleted at once)',
      config: [{ key: DNS, reals: ['10.0.0.53:53'] }],
      actual: [
        { key: DNS, reals: [['10.0.0.53:53', 1], ['10.0.0.54:53', 1]] },
        { key: 'udp:192.0.2.54:53', reals: [['10.0.0.54:53', 1]] },
      ],
      owned: [DNS, 'udp:192.0.2.54:53'],
      expect: {},
    },
    {
      name: 'fwmark and IPv6 services drain like TCP',
      config: [{ key: 'fwmark:3:v4', reals: ['10.0.0.1'] }],
      actual: [
        { key: 'fwmark:3:v4', reals: [['10.0.0.1', 1], ['10.0.0.2', 1]] },
        { key: 'tcp:[2001:db8::1]:80', reals: [['[2001:db8::5]:80', 1]] },
      ],
      owned: ['fwmark:3:v4', 'tcp:[2001:db8::1]:80'],
      expect: { 'fwmark:3:v4': ['10.0.0.2'], 'tcp:[2001:db8::1]:80': ['[2001:db8::5]:80'] },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = drainCandidates(snapshot(c.config), table(c.actual), new Set(c.owned));
      assert.deepEqual(asObject(got), c.expect);
    });
  }
});

describe('updateDrains', () => {
  const counters = (entries: Record<string, readonly [number, number]>): TableCounters => {
    const out = new Map<string, Map<string, RealCounters>>();
    for (const [id, [active, inactive]] of Object.entries(entries)) {
      const [svc, real] = id.split(' ') as [string, string];
      if (!out.has(svc)) out.set(svc, new Map());
      out.get(svc)!.set(real, { activeConns: active, inactiveConns: inactive, persistentConns: 0 });
    }
    return out;
  };
  const started = (entries: Record<string, number>): DrainState => ({
    since: new Map(Object.entries(entries).map(([k, v]) => [pairId(...(k.split(' ') as [string, string])), v])),
  });
  const cands = new Map([[WEB, new Set([R1])]]);

  const cases: readonly {
    name: string;
    prev: DrainState;
    counters: TableCounters | null;
    now: number;
    draining: Record<string, string[]>;
    finished: readonly string[];
    since: number;
  }[] = [
    {
      name: 'a new drain starts now and holds while connections remain',
      prev: EMPTY_DRAIN_STATE,
      counters: counters({ [`${WEB} ${R1}`]: [3, 0] }),
      now: 1000,
      draining: { [WEB]: [R1] },
      finished: [],
      since: 1000,
    },
    {
      name: 'inactive connections count too',
      prev: started({ [`${WEB} ${R1}`]: 0 }),
      counters: counters({ [`${WEB} ${R1}`]: [0, 2] }),
      now: 5000,
      draining: { [WEB]: [R1] },
      finished: [],
      since: 0,
    },
    {
      name: 'ends when ActiveConn + InActConn reach 0',
      prev: started({ [`${WEB} ${R1}`]: 0 }),
      counters: counters({ [`${WEB} ${R1}`]: [0, 0] }),
      now: 5000,
      draining: {},
      finished: ['idle'],
      since: 0,
    },
    {
      name: 'ends after the drain timeout whatever the counters say',
      prev: started({ [`${WEB} ${R1}`]: 0 }),
      counters: counters({ [`${WEB} ${R1}`]: [9, 9] }),
      now: 60_000,
      draining: {},
      finished: ['timeout'],
      since: 0,
    },
    {
      name: 'without counters only the timeout ends it',
      prev: started({ [`${WEB} ${R1}`]: 0 }),
      counters: null,
      now: 59_999,
      draining: { [WEB]: [R1] },
      finished: [],
      since: 0,
    },
    {
      name: 'a real missing from the counters is not assumed idle',
      prev: EMPTY_DRAIN_STATE,
      counters: counters({}),
      now: 10,
      draining: { [WEB]: [R1] },
      finished: [],
      since: 10,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const u = updateDrains(c.prev, cands, c.counters, c.now, 60_000);
      assert.deepEqual(asObject(u.draining), c.draining);
      assert.deepEqual(
        u.finished.map((f) => f.why),
        c.finished,
      );
      assert.equal(u.state.since.get(pairId(WEB, R1)), c.since, 'start time kept, even once finished');
    });
  }

  it('forgets pairs that are no longer candidates (gone from the kernel or back in the config)', () => {
    const prev = started({ [`${WEB} ${R2}`]: 0, [`${WEB} ${R1}`]: 5 });
    const u = updateDrains(prev, cands, null, 10, 60_000);
    assert.deepEqual([...u.state.since.keys()], [`${WEB}\n${R1}`]);
    assert.equal(drainCount(u.draining), 1);
  });

  it('a zero timeout ends every drain at once', () => {
    const u = updateDrains(EMPTY_DRAIN_STATE, cands, null, 0, 0);
    assert.equal(drainCount(u.draining), 0);
    assert.deepEqual(u.finished, [{ serviceKey: WEB, realKey: R1, why: 'timeout' }]);
  });
});
