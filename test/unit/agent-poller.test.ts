// The agent poller against a probe that answers garbage: a reply not understood is logged at most
// once a minute per agent with the count folded in. Regression (issue 18): a garbage agent, whose
// error text changes with every reply, logged one warn line per poll.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { AGENT_GARBAGE_PERIOD_MS, AgentPoller } from '../../src/agent/agent-poller.js';
import type { Snapshot } from '../../src/config/model.js';
import { snapshot } from '../helpers/reconcile-fixtures.js';
import { captureLog } from '../helpers/log-capture.js';

const INTERVAL = 100;

function withAgent(s: Snapshot): Snapshot {
  return {
    ...s,
    services: s.services.map((svc) => ({
      ...svc,
      reals: svc.reals.map((r) => ({ ...r, agent: { port: 8081, intervalMs: INTERVAL, timeoutMs: 50, send: null } })),
    })),
  };
}

/** Let the probe's promise and the poll after it run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

describe('AgentPoller: replies not understood', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it('a garbage agent is one warn line a minute with the count, and a good reply in between resets it', async () => {
    const { logger, lines } = captureLog();
    let polls = 0;
    let reply = (): string => `%%garbage-${polls}%%`;
    const poller = new AgentPoller({
      logger,
      onChange: () => undefined,
      probe: async () => {
        polls++;
        return { ok: true, text: reply() };
      },
    });
    poller.update(withAgent(snapshot([{ key: 'tcp:192.0.2.10:80', reals: ['10.0.0.1:80'] }])));
    const garbage = (): Record<string, unknown>[] => lines.filter((l) => l.msg === 'agent reply not understood; its last state stays');
    const poll = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        mock.timers.tick(INTERVAL);
        await flush();
      }
    };
    await poll(50);
    assert.ok(polls >= 45, `polls ${polls}`);
    assert.equal(garbage().length, 1);
    assert.equal(garbage()[0]!.level, 'warn');
    assert.equal(garbage()[0]!.suppressed, 0);
    const firstMinute = polls;
    await poll(AGENT_GARBAGE_PERIOD_MS / INTERVAL);
    assert.equal(garbage().length, 2);
    // The second line carries how many were folded since the first.
    const folded = garbage()[1]!.suppressed as number;
    assert.ok(folded >= firstMinute - 1, `folded ${folded} of ${firstMinute}`);
    // An understood reply ends it: the next garbage is logged at once.
    reply = () => 'up';
    await poll(2);
    reply = () => `%%garbage-${polls}%%`;
    await poll(2);
    assert.equal(garbage().length, 3);
    assert.equal(garbage()[2]!.suppressed, 0);
    poller.stop();
  });
});
