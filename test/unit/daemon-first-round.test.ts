// The first-round gate's deadline counts from when the checks can run, not from the daemon's start.
// Regression (kernel tier, scenarios-operate, after the check engine moved to worker threads): the
// check thread took longer to load than the deadline under QEMU, the gate opened with all 4 reals
// unknown, the service was created empty and the reals then came in through a slow-start ramp.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { formatIssue, loadConfig } from '../../src/config/load.js';
import type { Snapshot } from '../../src/config/model.js';
import { FirstRoundGate, firstRoundDeadlineMs } from '../../src/daemon/first-round.js';
import { buildProbePlan } from '../../src/scheduler/probe-key.js';
import { createLogger } from '../../src/log.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function snapshot(): Promise<Snapshot> {
  const dir = await mkdtemp(join(tmpdir(), 'lvsd-gate-'));
  dirs.push(dir);
  await mkdir(join(dir, 'conf.d'));
  await writeFile(
    join(dir, 'conf.d/web.yaml'),
    'address: 192.0.2.10:80\ncheck: { type: tcp, interval: 2s, timeout: 1s }\nreals: [{ address: 10.0.0.1 }, { address: 10.0.0.2 }]\n',
  );
  const r = await loadConfig(dir);
  if (!r.ok) assert.fail(r.issues.map(formatIssue).join('\n'));
  return r.snapshot;
}

function gateOf(s: Snapshot, unknown: { n: number }): { gate: FirstRoundGate; opened: string[] } {
  const opened: string[] = [];
  const gate = new FirstRoundGate({
    logger: createLogger('silent'),
    unknownCount: () => unknown.n,
    state: () => undefined,
    snapshot: () => s,
    stopping: () => false,
    open: () => opened.push('open'),
  });
  return { gate, opened };
}

/** Let promise reactions run (mocked timers do not run them). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('first-round gate', () => {
  it('does not count the time the check threads take to come up', async (t) => {
    const s = await snapshot();
    const deadline = firstRoundDeadlineMs(buildProbePlan(s));
    assert.equal(deadline, 2000 + 1000 + 1000);
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { gate, opened } = gateOf(s, { n: 2 });
    let up!: () => void;
    gate.arm(s, new Promise<void>((resolve) => (up = resolve)));
    t.mock.timers.tick(deadline * 10);
    await settle();
    assert.deepEqual(opened, [], 'the gate opened while the check threads were still loading');
    up();
    await settle();
    t.mock.timers.tick(deadline - 1);
    assert.deepEqual(opened, []);
    t.mock.timers.tick(1);
    assert.deepEqual(opened, ['open']);
    assert.equal(gate.isOpen, true);
  });

  it('opens as soon as every pair has a first result, before the threads report', async () => {
    const s = await snapshot();
    const unknown = { n: 2 };
    const { gate, opened } = gateOf(s, unknown);
    gate.arm(s, new Promise<void>(() => undefined));
    unknown.n = 0;
    gate.check();
    assert.deepEqual(opened, ['open']);
  });

  it('a stop before the threads are up keeps it shut', async (t) => {
    const s = await snapshot();
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { gate, opened } = gateOf(s, { n: 2 });
    let up!: () => void;
    gate.arm(s, new Promise<void>((resolve) => (up = resolve)));
    gate.close();
    up();
    await settle();
    t.mock.timers.tick(firstRoundDeadlineMs(buildProbePlan(s)) * 2);
    assert.deepEqual(opened, []);
  });
});

