// Fault suite, signals from the first instruction (issue 18 "a signal in the first ~0.5 s kills
// it"): `lvsd run --dry-run` through bin/lvsd.js gets SIGHUP/TERM/INT/USR2 (1) while its modules
// are held from loading (test/helpers/hold-module.ts: the exact window of the bug: rc 129 for HUP,
// 143 and no clean stop for TERM), and (2) at 0, 10, 50, 100 and 300 ms after spawn. Each outcome is
// the lifecycle table's (docs/behaviour.md "Lifecycle and signals"): a stop during start exits 0
// without touching the table, a HUP is applied once running, never a death by the signal. The one
// exception the table names: a signal that arrives before lvsd's first instruction (node's own
// start-up) gets the runtime's default action; the test tells those cases apart by whether the
// process caught SIGHUP when the signal was sent (/proc/PID/status SigCgt), not by time.

import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configDir, eventually } from '../helpers/daemon-process.js';
import type { ConfigDir } from '../helpers/daemon-process.js';
import { repoRoot } from '../helpers/paths.js';

const SIGNALS = ['SIGHUP', 'SIGTERM', 'SIGINT', 'SIGUSR2'] as const;
type Signal = (typeof SIGNALS)[number];
const lvsdJs = join(repoRoot, 'bin', 'lvsd.js');
const holdModule = fileURLToPath(new URL('../helpers/hold-module.js', import.meta.url));
/** Failure bound for one process's life, never a timing assertion. */
const EXIT_BOUND_MS = 120_000;

interface Run {
  readonly child: ChildProcess;
  readonly logs: Record<string, unknown>[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

function spawnLvsd(cfg: ConfigDir, env: NodeJS.ProcessEnv = {}, preload: readonly string[] = []): Run {
  const child = spawn(process.execPath, [...preload, lvsdJs, 'run', '--dry-run', '-c', cfg.dir], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let partial = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => {
    const lines = (partial + c.toString()).split('\n');
    partial = lines.pop()!;
    for (const l of lines) if (l.trim()) logs.push(JSON.parse(l) as Record<string, unknown>);
  });
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const bound = setTimeout(() => child.kill('SIGKILL'), EXIT_BOUND_MS);
  void exited.then(() => clearTimeout(bound));
  return { child, logs, exited, stderr: () => stderr };
}

/** Whether the process catches SIGHUP now: lvsd's entry installs it last of the four, so all four are parked. */
async function catchesHup(pid: number): Promise<boolean> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status);
  return m !== null && (BigInt(`0x${m[1]}`) & 1n) === 1n;
}

const ended = (r: Run): boolean => r.child.exitCode !== null || r.child.signalCode !== null;
const msgs = (r: Run): string[] => r.logs.map((l) => String(l.msg));
const dump = (r: Run): string => `\nstderr: ${r.stderr()}\nlogs:\n${msgs(r).join('\n')}`;

/**
 * The lifecycle table's outcome for `signal` sent to a daemon that had lvsd's handlers: HUP keeps
 * it running and one reload runs (queued during start, or at once when already running); a stop
 * exits 0 by itself, and a stop during start changes no table (no dry-run ipvsadm line).
 */
async function assertTableOutcome(run: Run, signal: Signal): Promise<void> {
  if (signal === 'SIGHUP') {
    await eventually(async () => (run.logs.some((l) => l.event === 'started') || ended(run) ? true : undefined), 'running', EXIT_BOUND_MS);
    await eventually(
      async () =>
        msgs(run).includes('applying the reload requested during start') || run.logs.some((l) => String(l.reason ?? '').includes('SIGHUP') && l.msg !== 'reload requested during start; it runs once started') || ended(run)
          ? true
          : undefined,
      'the HUP applied once running',
      EXIT_BOUND_MS,
    );
    assert.equal(ended(run), false, `still running after SIGHUP${dump(run)}`);
    run.child.kill('SIGTERM');
    const end = await run.exited;
    assert.deepEqual(end, { code: 0, signal: null }, dump(run));
    return;
  }
  const end = await run.exited;
  assert.deepEqual(end, { code: 0, signal: null }, `${signal}: a clean exit, not death by the signal${dump(run)}`);
  const m = msgs(run);
  if (m.includes('lvsd stopping (start aborted)')) {
    assert.ok(!run.logs.some((l) => l.msg === 'dry-run: ipvsadm -R line'), `a stop during start changes no table${dump(run)}`);
  } else {
    assert.ok(m.includes('lvsd stopping'), `a stop, logged${dump(run)}`);
  }
  assert.ok(m.includes('lvsd stopped'), dump(run));
}

describe('fault suite: signals from the first instruction', { timeout: 900_000 }, () => {
  let cfg: ConfigDir;
  let scratch: string;
  before(async () => {
    cfg = await configDir({ 'web.yaml': 'name: web\naddress: 192.0.2.10:80\nforwarding: gate\ncheck: { type: none }\nreals:\n  - { address: "198.51.100.11:80", weight: 5 }\n' });
    scratch = await mkdtemp(join(tmpdir(), 'lvsd-early-signals-'));
  });
  after(async () => {
    await cfg.remove();
    await rm(scratch, { recursive: true, force: true });
  });

  for (const signal of SIGNALS) {
    test(`regression: ${signal} after the entry's first instruction, before the CLI's modules load, is the lifecycle table's, not death by the signal`, async () => {
      const hold = await mkdtemp(join(scratch, `hold-${signal}-`));
      const run = spawnLvsd(cfg, { LVSD_TEST_HOLD_DIR: hold }, ['--import', holdModule]);
      await eventually(async () => (existsSync(join(hold, 'held')) || ended(run) ? true : undefined), 'module load held', EXIT_BOUND_MS);
      assert.equal(await catchesHup(run.child.pid!), true, 'the entry parks the signals before loading the CLI');
      run.child.kill(signal);
      await writeFile(join(hold, 'release'), '');
      await assertTableOutcome(run, signal);
    });
  }

  test('regression: the unit\'s ExecStartPost (lvsd-wait-ready) returns only once lvsd handles its signals: `systemctl start lvsd && systemctl reload lvsd` no longer kills it', async () => {
    const unit = await readFile(join(repoRoot, 'packaging', 'common', 'lvsd.service'), 'utf8');
    assert.match(unit, /^ExecStartPost=\/usr\/lib\/lvsd\/lvsd-wait-ready \$MAINPID$/m);
    const waitReady = join(repoRoot, 'packaging', 'common', 'lvsd-wait-ready');
    // What systemd does: start (the process exists), ExecStartPost, then the reload (or a stop) at once.
    for (const signal of SIGNALS) {
      const run = spawnLvsd(cfg);
      const waited = spawn(waitReady, [String(run.child.pid)], { stdio: 'ignore' });
      const code = await new Promise<number | null>((resolve) => waited.once('exit', (c) => resolve(c)));
      assert.equal(code, 0);
      assert.equal(await catchesHup(run.child.pid!), true, 'returned once SIGHUP is caught');
      run.child.kill(signal);
      await assertTableOutcome(run, signal);
    }
  });

  test('HUP/TERM/INT/USR2 at 0, 10, 50, 100 and 300 ms after spawn', async (t: TestContext) => {
    const tally = { handled: 0, beforeFirstInstruction: 0 };
    for (const delay of [0, 10, 50, 100, 300]) {
      for (const signal of SIGNALS) {
        const run = spawnLvsd(cfg);
        // When the signal is sent, not a timing assertion.
        if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
        const caught = await catchesHup(run.child.pid!);
        run.child.kill(signal);
        if (caught) {
          tally.handled++;
          await assertTableOutcome(run, signal);
        } else {
          // Node's own start-up, before lvsd's first instruction: the default action, unless the
          // entry's first instruction ran between the look at /proc and the kill.
          tally.beforeFirstInstruction++;
          await eventually(async () => (ended(run) || run.logs.length > 0 ? true : undefined), 'exit or a first log line', EXIT_BOUND_MS);
          if (ended(run) && run.child.signalCode === signal) {
            t.diagnostic(`${signal} at ${delay} ms: sent before lvsd's first instruction: the runtime's default action`);
            continue;
          }
          await assertTableOutcome(run, signal);
        }
        t.diagnostic(`${signal} at ${delay} ms: ${caught ? 'lvsd\'s handlers in place' : 'sent before lvsd\'s handlers, which were in place by the time it was delivered'}: the table's outcome`);
      }
    }
    t.diagnostic(`cases with lvsd's handlers in place: ${tally.handled}; sent during node's own start-up: ${tally.beforeFirstInstruction}`);
  });
});
