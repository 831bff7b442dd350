// The pure reconcile step (src/reconcile/step.ts), table-driven: previous decisions, frozen inputs,
// kernel table, counters and clock in; decisions, ipvsadm lines and service events out. Every
// expectation is written out (lines as ipvsadm -R takes them), none computed by the code under test.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AdminState } from '../../src/control/admin-model.js';
import type { AgentState } from '../../src/agent/agent-reply.js';
import { formatOp } from '../../src/ipvs/format.js';
import type { TableCounters } from '../../src/ipvs/model.js';
import { pairId } from '../../src/model/keys.js';
import type { HealthState } from '../../src/model/health-state.js';
import { freezeInputs } from '../../src/reconcile/pass-inputs.js';
import { INITIAL_STEP_STATE, step } from '../../src/reconcile/step.js';
import type { StepState } from '../../src/reconcile/step.js';
import { healthOf, snapshot, table } from '../helpers/reconcile-fixtures.js';
import type { KernelServiceSpec, ServiceSpec } from '../helpers/reconcile-fixtures.js';

const WEB = 'tcp:192.0.2.10:80';
const R1 = '10.0.0.1:80';
const R2 = '10.0.0.2:80';
const SORRY = '10.0.0.99:80';
const T0 = 1_000_000;

interface Case {
  readonly name: string;
  readonly config: readonly ServiceSpec[];
  readonly kernel: readonly KernelServiceSpec[];
  /** "SERVICE REAL" -> health; unlisted pairs are up. */
  readonly health?: Readonly<Record<string, HealthState>>;
  readonly admin?: Readonly<Record<string, AdminState>>;
  readonly agent?: Readonly<Record<string, AgentState>>;
  readonly prev?: StepState;
  readonly counters?: TableCounters;
  readonly now?: number;
  readonly want: {
    readonly lines: readonly string[];
    readonly quorum: Readonly<Record<string, { up: boolean; weightSum: number }>>;
    readonly sorry: readonly string[];
    readonly events: readonly string[];
    readonly rampsStarted?: readonly string[];
    readonly draining?: readonly string[];
    readonly finished?: readonly string[];
  };
}

const web = (extra: Partial<ServiceSpec> = {}): ServiceSpec => ({ key: WEB, reals: [{ address: R1, weight: 10 }, { address: R2, weight: 20 }], sorry: [SORRY], ...extra });
const quorumUp = (weightSum: number): StepState => ({ ...INITIAL_STEP_STATE, quorum: new Map([[WEB, { up: true, weightSum }]]) });
const agentState = (weightPercent: number | null, down = false): AgentState => ({ admin: 'ready', down, weightPercent, description: null });

const CASES: readonly Case[] = [
  {
    name: 'a new service on an empty kernel: created with its healthy reals, quorum reported as initial',
    config: [web()],
    kernel: [],
    want: {
      lines: ['-A -t 192.0.2.10:80 -s wlc', '-a -t 192.0.2.10:80 -r 10.0.0.1:80 -m -w 10', '-a -t 192.0.2.10:80 -r 10.0.0.2:80 -m -w 20'],
      quorum: { [WEB]: { up: true, weightSum: 30 } },
      sorry: [],
      events: [`quorum_up ${WEB} 30 initial`],
    },
  },
  {
    name: 'every real down: the sorry server goes in before the reals go out; quorum_down and sorry_on',
    config: [web()],
    kernel: [{ key: WEB, reals: [[R1, 10], [R2, 20]] }],
    health: { [`${WEB} ${R1}`]: 'down', [`${WEB} ${R2}`]: 'down' },
    prev: quorumUp(30),
    want: {
      lines: ['-a -t 192.0.2.10:80 -r 10.0.0.99:80 -m -w 1', '-d -t 192.0.2.10:80 -r 10.0.0.1:80', '-d -t 192.0.2.10:80 -r 10.0.0.2:80'],
      quorum: { [WEB]: { up: false, weightSum: 0 } },
      sorry: [WEB],
      events: [`quorum_down ${WEB} 0`, `sorry_on ${WEB} 0`],
    },
  },
  {
    name: 'hysteresis: a sum inside the band keeps quorum, nothing is reported',
    config: [web({ quorum: 25, hysteresis: 10 })],
    kernel: [{ key: WEB, reals: [[R1, 10], [R2, 20]] }],
    health: { [`${WEB} ${R1}`]: 'down' },
    prev: quorumUp(30),
    want: {
      lines: ['-d -t 192.0.2.10:80 -r 10.0.0.1:80'],
      quorum: { [WEB]: { up: true, weightSum: 20 } },
      sorry: [],
      events: [],
    },
  },
  {
    name: 'admin drain: the real stays at weight 0 and leaves the quorum sum',
    config: [web()],
    kernel: [{ key: WEB, reals: [[R1, 10], [R2, 20]] }],
    admin: { [`${WEB} ${R1}`]: 'drain' },
    prev: quorumUp(30),
    want: {
      lines: ['-e -t 192.0.2.10:80 -r 10.0.0.1:80 -m -w 0'],
      quorum: { [WEB]: { up: true, weightSum: 20 } },
      sorry: [],
      events: [],
    },
  },
  {
    name: "an agent's 50% halves the weight in the kernel and in the quorum sum; an agent's down takes its real out",
    config: [web()],
    kernel: [{ key: WEB, reals: [[R1, 10], [R2, 20]] }],
    agent: { [`${WEB} ${R1}`]: agentState(null, true), [`${WEB} ${R2}`]: agentState(50) },
    prev: quorumUp(30),
    want: {
      lines: ['-e -t 192.0.2.10:80 -r 10.0.0.2:80 -m -w 10', '-d -t 192.0.2.10:80 -r 10.0.0.1:80'],
      quorum: { [WEB]: { up: true, weightSum: 10 } },
      sorry: [],
      events: [],
    },
  },
  {
    name: 'a real gone from the config with connections: held at weight 0 (draining)',
    config: [web({ reals: [{ address: R2, weight: 20 }] })],
    kernel: [{ key: WEB, reals: [[R1, 10], [R2, 20]] }],
    counters: new Map([[WEB, new Map([[R1, { activeConns: 3, inactiveConns: 0, persistentConns: 0 }]])]]),
    prev: quorumUp(30),
    want: {
      lines: ['-e -t 192.0.2.10:80 -r 10.0.0.1:80 -m -w 0'],
      quorum: { [WEB]: { up: true, weightSum: 20 } },
      sorry: [],
      events: [],
      draining: [`${WEB} ${R1}`],
      finished: [],
    },
  },
  {
    name: 'admin maint with connections: held at weight 0 like a real gone from the config (drain candidates read maint from the frozen inputs)',
    config: [web()],
    kernel: [{ key: WEB, reals: [[R1, 10], [R2, 20]] }],
    admin: { [`${WEB} ${R1}`]: 'maint' },
    counters: new Map([[WEB, new Map([[R1, { activeConns: 3, inactiveConns: 0, persistentConns: 0 }]])]]),
    prev: quorumUp(30),
    want: {
      lines: ['-e -t 192.0.2.10:80 -r 10.0.0.1:80 -m -w 0'],
      quorum: { [WEB]: { up: true, weightSum: 20 } },
      sorry: [],
      events: [],
      draining: [`${WEB} ${R1}`],
      finished: [],
    },
  },
  {
    name: 'admin drain only: no real is a drain candidate',
    config: [web()],
    kernel: [{ key: WEB, reals: [[R1, 0], [R2, 20]] }],
    admin: { [`${WEB} ${R1}`]: 'drain' },
    counters: new Map([[WEB, new Map([[R1, { activeConns: 0, inactiveConns: 0, persistentConns: 0 }]])]]),
    prev: quorumUp(20),
    want: {
      lines: [],
      quorum: { [WEB]: { up: true, weightSum: 20 } },
      sorry: [],
      events: [],
      draining: [],
      finished: [],
    },
  },
  {
    name: 'a real gone from the config without connections: deleted at once (idle)',
    config: [web({ reals: [{ address: R2, weight: 20 }] })],
    kernel: [{ key: WEB, reals: [[R1, 0], [R2, 20]] }],
    counters: new Map([[WEB, new Map([[R1, { activeConns: 0, inactiveConns: 0, persistentConns: 0 }]])]]),
    prev: quorumUp(20),
    want: {
      lines: ['-d -t 192.0.2.10:80 -r 10.0.0.1:80'],
      quorum: { [WEB]: { up: true, weightSum: 20 } },
      sorry: [],
      events: [],
      draining: [],
      finished: [`${WEB} ${R1} idle`],
    },
  },
  {
    name: 'slow start: a real coming into a service the kernel carries starts at 10% of its weight',
    config: [web({ reals: [{ address: R1, weight: 100, slowStartMs: 60_000 }, { address: R2, weight: 100 }] })],
    kernel: [{ key: WEB, reals: [[R2, 100]] }],
    prev: quorumUp(100),
    want: {
      lines: ['-a -t 192.0.2.10:80 -r 10.0.0.1:80 -m -w 10'],
      quorum: { [WEB]: { up: true, weightSum: 200 } },
      sorry: [],
      events: [],
      rampsStarted: [`${WEB} ${R1}`],
    },
  },
];

const view = <T>(states: Readonly<Record<string, T>> | undefined) =>
  states === undefined ? undefined : (s: string, r: string): T | undefined => states[`${s} ${r}`];

describe('reconcile step: decisions, lines and events from frozen inputs (table-driven)', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const snap = snapshot(c.config);
      const admin = view(c.admin);
      const agent = view(c.agent);
      const inputs = freezeInputs(snap, healthOf(c.health ?? {}), admin ? (s, r) => admin(s, r) ?? 'ready' : undefined, agent);
      const actual = table(c.kernel);
      const owned = new Set(c.config.map((s) => s.key));
      const r = step(c.prev ?? INITIAL_STEP_STATE, { snapshot: snap, inputs, actual, owned, counters: c.counters ?? null, now: c.now ?? T0, drainTimeoutMs: 60_000 });
      assert.deepEqual(r.ops.map(formatOp), c.want.lines, 'ipvsadm lines');
      assert.deepEqual(Object.fromEntries([...r.state.quorum].map(([k, q]) => [k, { up: q.up, weightSum: q.weightSum }])), c.want.quorum, 'quorum');
      assert.deepEqual([...r.state.sorry], c.want.sorry, 'sorry servers in use');
      assert.deepEqual(r.events.map((e) => `${e.kind} ${e.serviceKey} ${e.weightSum}${e.initial ? ' initial' : ''}`), c.want.events, 'service events');
      assert.deepEqual(r.rampsStarted, (c.want.rampsStarted ?? []).map((p) => pairId(...(p.split(' ') as [string, string]))), 'ramps started');
      if (c.want.draining) {
        assert.deepEqual([...r.drains.draining].flatMap(([s, reals]) => [...reals].map((x) => `${s} ${x}`)), c.want.draining, 'draining');
      }
      if (c.want.finished) assert.deepEqual(r.drains.finished.map((f) => `${f.serviceKey} ${f.realKey} ${f.why}`), c.want.finished, 'drains finished');
    });
  }

  it('the step is pure: the same inputs give the same result, and the previous state is not changed', () => {
    const snap = snapshot([web()]);
    const inputs = freezeInputs(snap, healthOf({ [`${WEB} ${R1}`]: 'down' }));
    const prev = quorumUp(30);
    const input = { snapshot: snap, inputs, actual: table([{ key: WEB, reals: [[R1, 10], [R2, 20]] }]), owned: new Set([WEB]), counters: null, now: T0, drainTimeoutMs: 60_000 };
    const a = step(prev, input);
    const b = step(prev, input);
    assert.deepEqual(a.ops.map(formatOp), b.ops.map(formatOp));
    assert.deepEqual(prev.quorum.get(WEB), { up: true, weightSum: 30 });
  });
});

describe('freezeInputs: the live views are read once per configured pair, never during the pass', () => {
  it('a health change after the freeze is not seen', () => {
    const snap = snapshot([web()]);
    let state: HealthState = 'up';
    let reads = 0;
    const inputs = freezeInputs(snap, () => {
      reads++;
      return { state };
    });
    state = 'down';
    assert.equal(inputs.health(WEB, R1).state, 'up');
    assert.equal(inputs.usable(WEB, R2).state, 'up');
    assert.equal(reads, 2, 'one read per configured pair');
  });
  it('a real not admin-ready counts as down for quorum and slow start only', () => {
    const snap = snapshot([web()]);
    const inputs = freezeInputs(snap, healthOf({}), (_s, r) => (r === R1 ? 'maint' : 'ready'));
    assert.equal(inputs.health(WEB, R1).state, 'up');
    assert.equal(inputs.usable(WEB, R1).state, 'down');
    assert.equal(inputs.admin?.(WEB, R1), 'maint');
    assert.equal(inputs.admin?.(WEB, R2), 'ready');
  });
});
