// HAProxy agent-check replies: parsing (table-driven), merging into the kept state, and the agent
// as an input of the pure desired table (a down health check always wins).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AGENT_NEUTRAL, applyAgentReply, parseAgentReply } from '../../src/agent/agent-reply.js';
import type { AgentState } from '../../src/agent/agent-reply.js';
import { desiredTable } from '../../src/reconcile/desired.js';
import type { HealthState } from '../../src/model/health-state.js';
import { healthOf, plain, snapshot, table } from '../helpers/reconcile-fixtures.js';
import type { KernelServiceSpec } from '../helpers/reconcile-fixtures.js';

describe('parseAgentReply', () => {
  const cases: readonly [string, unknown][] = [
    ['up', { state: 'up', ignored: [] }],
    ['down', { state: 'down', ignored: [] }],
    ['FAILED', { state: 'down', ignored: [] }],
    ['stopped\n', { state: 'down', ignored: [] }],
    ['ready', { admin: 'ready', ignored: [] }],
    ['drain', { admin: 'drain', ignored: [] }],
    ['maint', { admin: 'maint', ignored: [] }],
    ['75%', { weightPercent: 75, ignored: [] }],
    ['75% drain', { admin: 'drain', weightPercent: 75, ignored: [] }],
    ['up,ready,100%\r\n', { state: 'up', admin: 'ready', weightPercent: 100, ignored: [] }],
    ['down # disk full', { state: 'down', description: 'disk full', ignored: [] }],
    ['50% maxconn:30', { weightPercent: 50, ignored: ['maxconn:30'] }],
    ['0%', { weightPercent: 0, ignored: [] }],
  ];
  for (const [text, want] of cases) {
    it(JSON.stringify(text), () => assert.deepEqual(parseAgentReply(text), { ok: true, reply: want }));
  }
  const bad: readonly [string, RegExp][] = [
    ['', /empty reply/],
    ['hello world', /no state, admin state or weight/],
    ['2000%', /above 1000%/],
  ];
  for (const [text, re] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      const r = parseAgentReply(text);
      assert.equal(r.ok, false);
      assert.match(r.ok ? '' : r.error, re);
    });
  }
});

describe('applyAgentReply: each reply changes only what it names (HAProxy)', () => {
  it('a weight alone keeps the admin state; ready clears drain; up clears down', () => {
    let s: AgentState = AGENT_NEUTRAL;
    const step = (text: string): AgentState => {
      const r = parseAgentReply(text);
      assert.ok(r.ok);
      return (s = applyAgentReply(s, r.reply));
    };
    assert.deepEqual(step('drain'), { down: false, admin: 'drain', weightPercent: null, description: null });
    assert.deepEqual(step('50%'), { down: false, admin: 'drain', weightPercent: 50, description: null });
    assert.deepEqual(step('ready'), { down: false, admin: 'ready', weightPercent: 50, description: null });
    assert.deepEqual(step('down # maintenance window'), { down: true, admin: 'ready', weightPercent: 50, description: 'maintenance window' });
    assert.deepEqual(step('up 100%'), { down: false, admin: 'ready', weightPercent: 100, description: null });
  });
});

describe('desiredTable with agents', () => {
  const WEB = 'tcp:192.0.2.10:80';
  const R1 = '10.0.0.1:80';
  const R2 = '10.0.0.2:80';
  const agent = (over: Partial<AgentState>): AgentState => ({ ...AGENT_NEUTRAL, ...over });
  const cases: readonly [string, HealthState, AgentState | undefined, KernelServiceSpec['reals']][] = [
    ['no agent: the configured weight', 'up', undefined, [[R1, 40], [R2, 10]]],
    ['N% scales the weight', 'up', agent({ weightPercent: 75 }), [[R1, 30], [R2, 10]]],
    ['0% is weight 0, kept in the table', 'up', agent({ weightPercent: 0 }), [[R1, 0], [R2, 10]]],
    ['above 100% raises it', 'up', agent({ weightPercent: 150 }), [[R1, 60], [R2, 10]]],
    ['agent down takes an up real out', 'up', agent({ down: true }), [[R2, 10]]],
    ['a down health check wins over an agent that says up', 'down', agent({ weightPercent: 100 }), [[R2, 10]]],
  ];
  for (const [name, health, a, want] of cases) {
    it(name, () => {
      const got = desiredTable(
        snapshot([{ key: WEB, reals: [{ address: R1, weight: 40 }, { address: R2, weight: 10 }] }]),
        { health: healthOf({ [`${WEB} ${R1}`]: health }), agent: (s, r) => (r === R1 ? a : undefined) },
        undefined,
        table([]),
      );
      assert.deepEqual(plain(got), plain(table([{ key: WEB, reals: want }])));
    });
  }
});
