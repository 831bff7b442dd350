// desiredTable: health, quiescent, dynamic weight, unknown-first-result, sorry servers, drains (table-driven).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { desiredTable } from '../../src/reconcile/desired.js';
import type { DrainSet, RealHealth } from '../../src/reconcile/desired.js';
import type { HealthState } from '../../src/model/health-state.js';
import { healthOf, plain, snapshot, table } from '../helpers/reconcile-fixtures.js';
import type { KernelServiceSpec, ServiceSpec } from '../helpers/reconcile-fixtures.js';

const WEB = 'tcp:192.0.2.10:80';
const R1 = '10.0.0.1:80';
const R2 = '10.0.0.2:80';
const SORRY1 = '10.0.0.98:80';
const SORRY2 = '10.0.0.99:80';

const web = (extra: Partial<ServiceSpec> = {}): ServiceSpec => ({
  key: WEB,
  reals: [{ address: R1, weight: 10 }, { address: R2, weight: 20, forwarding: 'gate' }],
  sorry: [SORRY1, { address: SORRY2, weight: 5 }],
  ...extra,
});

interface Case {
  readonly name: string;
  readonly config: readonly ServiceSpec[];
  readonly health: Readonly<Record<string, HealthState | RealHealth>>;
  readonly actual?: readonly KernelServiceSpec[];
  readonly drains?: Readonly<Record<string, readonly string[]>>;
  readonly expect: readonly KernelServiceSpec[];
}

const h = (real: string, service = WEB): string => `${service} ${real}`;

const cases: readonly Case[] = [
  {
    name: 'all up: every real with its configured weight and forwarding',
    config: [web()],
    health: { [h(R1)]: 'up', [h(R2)]: 'up' },
    expect: [{ key: WEB, reals: [[R1, 10], [R2, 20, 'gate']] }],
  },
  {
    name: 'a down real is removed',
    config: [web()],
    health: { [h(R1)]: 'up', [h(R2)]: 'down' },
    actual: [{ key: WEB, reals: [[R1, 10], [R2, 20, 'gate']] }],
    expect: [{ key: WEB, reals: [[R1, 10]] }],
  },
  {
    name: 'quiescent keeps a down real at weight 0',
    config: [web({ quiescent: true })],
    health: { [h(R1)]: 'up', [h(R2)]: 'down' },
    expect: [{ key: WEB, reals: [[R1, 10], [R2, 0, 'gate']] }],
  },
  {
    name: 'dynamic weight overrides the configured weight',
    config: [web()],
    health: { [h(R1)]: { state: 'up', weight: 42 }, [h(R2)]: { state: 'up', weight: 0 } },
    expect: [{ key: WEB, reals: [[R1, 42], [R2, 0, 'gate']] }],
  },
  {
    name: 'configured weight 0 (admin drain) wins over a dynamic weight',
    config: [web({ reals: [{ address: R1, weight: 0 }], sorry: [] })],
    health: { [h(R1)]: { state: 'up', weight: 42 } },
    expect: [{ key: WEB, reals: [[R1, 0]] }],
  },
  {
    name: 'an up real keeps the kernel thresholds it has',
    config: [web()],
    health: { [h(R1)]: 'up', [h(R2)]: 'up' },
    actual: [{ key: WEB, reals: [[R1, 3, 'masq', 100, 50]] }],
    expect: [{ key: WEB, reals: [[R1, 10, 'masq', 100, 50], [R2, 20, 'gate']] }],
  },
  {
    name: 'unknown real not in the kernel stays absent (no traffic to an unchecked real)',
    config: [web()],
    health: { [h(R1)]: 'up', [h(R2)]: 'unknown' },
    expect: [{ key: WEB, reals: [[R1, 10]] }],
  },
  {
    name: 'unknown real in the kernel keeps its entry as-is (weight, forwarding, thresholds)',
    config: [web()],
    health: { [h(R1)]: 'up', [h(R2)]: 'unknown' },
    actual: [{ key: WEB, reals: [[R1, 10], [R2, 7, 'ipip', 9, 3]] }],
    expect: [{ key: WEB, reals: [[R1, 10], [R2, 7, 'ipip', 9, 3]] }],
  },
  {
    name: 'sorry servers (all of them) replace the reals when every real is down',
    config: [web()],
    health: { [h(R1)]: 'down', [h(R2)]: 'down' },
    actual: [{ key: WEB, reals: [[R1, 10]] }],
    expect: [{ key: WEB, reals: [[SORRY1, 1], [SORRY2, 5]] }],
  },
  {
    name: 'sorry servers leave as soon as one real is up',
    config: [web()],
    health: { [h(R1)]: 'down', [h(R2)]: 'up' },
    actual: [{ key: WEB, reals: [[SORRY1, 1], [SORRY2, 5]] }],
    expect: [{ key: WEB, reals: [[R2, 20, 'gate']] }],
  },
  {
    name: 'pending results do not trigger sorry while an unknown real still carries traffic',
    config: [web()],
    health: { [h(R1)]: 'down', [h(R2)]: 'unknown' },
    actual: [{ key: WEB, reals: [[R1, 10], [R2, 20, 'gate']] }],
    expect: [{ key: WEB, reals: [[R2, 20, 'gate']] }],
  },
  {
    name: 'sorry while results are pending when no unknown real is in the kernel (nothing else to send to)',
    config: [web()],
    health: { [h(R1)]: 'unknown', [h(R2)]: 'unknown' },
    expect: [{ key: WEB, reals: [[SORRY1, 1], [SORRY2, 5]] }],
  },
  {
    name: 'an unknown real in the kernel at weight 0 carries no traffic: sorry goes in beside it',
    config: [web({ quiescent: true })],
    health: { [h(R1)]: 'unknown', [h(R2)]: 'down' },
    actual: [{ key: WEB, reals: [[R1, 0], [SORRY1, 1], [SORRY2, 5]] }],
    expect: [{ key: WEB, reals: [[R1, 0], [R2, 0, 'gate'], [SORRY1, 1], [SORRY2, 5]] }],
  },
  {
    name: 'quiescent reals stay at weight 0 beside the sorry servers',
    config: [web({ quiescent: true })],
    health: { [h(R1)]: 'down', [h(R2)]: 'down' },
    expect: [{ key: WEB, reals: [[R1, 0], [R2, 0, 'gate'], [SORRY1, 1], [SORRY2, 5]] }],
  },
  {
    name: 'all down and no sorry servers: the service stays, empty',
    config: [web({ sorry: [] })],
    health: { [h(R1)]: 'down', [h(R2)]: 'down' },
    actual: [{ key: WEB, reals: [[R1, 10]] }],
    expect: [{ key: WEB, reals: [] }],
  },
  {
    name: 'a service without reals serves its sorry servers',
    config: [{ key: WEB, reals: [], sorry: [SORRY1] }],
    health: {},
    expect: [{ key: WEB, reals: [[SORRY1, 1]] }],
  },
  {
    name: 'head from config; flags lvsd does not manage kept from the kernel',
    config: [web({ scheduler: 'rr', persistence: { timeoutS: 300, netmask: '255.255.255.0' } })],
    health: { [h(R1)]: 'up', [h(R2)]: 'up' },
    actual: [{ key: WEB, scheduler: 'wlc', extraArgs: ['-b', 'sh-port'], reals: [] }],
    expect: [
      {
        key: WEB,
        scheduler: 'rr',
        persistence: { timeoutS: 300, netmask: '255.255.255.0' },
        extraArgs: ['-b', 'sh-port'],
        reals: [[R1, 10], [R2, 20, 'gate']],
      },
    ],
  },
  {
    name: 'foreign services in the kernel are not part of desired',
    config: [web()],
    health: {},
    actual: [{ key: 'tcp:198.51.100.1:443', reals: [['10.9.9.9:443', 1]] }],
    expect: [{ key: WEB, reals: [[R1, 10], [R2, 20, 'gate']] }],
  },
  {
    name: 'IPv6 and fwmark services',
    config: [
      { key: 'tcp:[2001:db8::10]:80', reals: ['[2001:db8::1]:80'] },
      { key: 'fwmark:12:v4', forwarding: 'gate', reals: ['10.0.0.1', '10.0.0.2'] },
    ],
    health: { 'fwmark:12:v4 10.0.0.2': 'down' },
    expect: [
      { key: 'fwmark:12:v4', reals: [['10.0.0.1', 1, 'gate']] },
      { key: 'tcp:[2001:db8::10]:80', reals: [['[2001:db8::1]:80', 1]] },
    ],
  },
  {
    name: 'a draining real is held at weight 0 with its kernel entry',
    config: [web()],
    health: {},
    actual: [{ key: WEB, reals: [[R1, 10], ['10.0.0.3:80', 30, 'gate', 4, 2]] }],
    drains: { [WEB]: ['10.0.0.3:80'] },
    expect: [{ key: WEB, reals: [[R1, 10], [R2, 20, 'gate'], ['10.0.0.3:80', 0, 'gate', 4, 2]] }],
  },
  {
    name: 'a draining real already gone from the kernel is not added back',
    config: [web()],
    health: {},
    drains: { [WEB]: ['10.0.0.3:80'] },
    expect: [{ key: WEB, reals: [[R1, 10], [R2, 20, 'gate']] }],
  },
  {
    name: 'a real listed in the config again wins over its drain',
    config: [web()],
    health: {},
    actual: [{ key: WEB, reals: [[R1, 10]] }],
    drains: { [WEB]: [R1] },
    expect: [{ key: WEB, reals: [[R1, 10], [R2, 20, 'gate']] }],
  },
  {
    name: 'a removed service drains with its kernel head and only its draining reals',
    config: [],
    health: {},
    actual: [
      {
        key: WEB,
        scheduler: 'sh',
        extraArgs: ['-b', 'sh-port'],
        reals: [[R1, 10], [R2, 20], ['10.0.0.3:80', 5]],
      },
    ],
    drains: { [WEB]: [R1, R2] },
    expect: [{ key: WEB, scheduler: 'sh', extraArgs: ['-b', 'sh-port'], reals: [[R1, 0], [R2, 0]] }],
  },
  {
    name: 'a removed service with nothing left to drain is not desired (the diff deletes it)',
    config: [],
    health: {},
    actual: [{ key: WEB, reals: [[R1, 10]] }],
    drains: { [WEB]: ['10.0.0.7:80'] },
    expect: [],
  },
];

describe('desiredTable', () => {
  for (const c of cases) {
    it(c.name, () => {
      const drains: DrainSet = new Map(Object.entries(c.drains ?? {}).map(([k, v]) => [k, new Set(v)]));
      const got = desiredTable(snapshot(c.config), { health: healthOf(c.health) }, drains, table(c.actual ?? []));
      assert.deepEqual(plain(got), plain(table(c.expect)));
    });
  }

  it('carries the service identity: protocol and VIP, or fwmark and family', () => {
    const got = desiredTable(
      snapshot([{ key: 'udp:[2001:db8::53]:53' }, { key: 'fwmark:7:v6' }]),
      { health: healthOf({}) },
      undefined,
      table([]),
    );
    const udp = got.services.get('udp:[2001:db8::53]:53');
    assert.equal(udp?.kind, 'address');
    assert.equal(udp.kind === 'address' && udp.protocol, 'udp');
    assert.deepEqual(udp.kind === 'address' && udp.vip, { host: '2001:db8::53', family: 6, port: 53 });
    assert.equal(udp.family, 6);
    const fw = got.services.get('fwmark:7:v6');
    assert.equal(fw?.kind, 'fwmark');
    assert.equal(fw.kind === 'fwmark' && fw.fwmark, 7);
    assert.equal(fw.family, 6);
  });

  it('asks health by config keys and never mutates its inputs', () => {
    const asked: string[] = [];
    const actual = table([{ key: WEB, reals: [[R2, 7]] }]);
    const before = plain(actual);
    desiredTable(
      snapshot([web()]),
      {
        health: (s, r) => {
          asked.push(`${s} ${r}`);
          return { state: 'unknown' };
        },
      },
      undefined,
      actual,
    );
    assert.deepEqual(asked, [h(R1), h(R2)]);
    assert.deepEqual(plain(actual), before);
  });
});
