// MISC checker against real scripts: exit codes, dynamic weight, LVSD_* environment, timeouts that must
// kill the whole process group, huge output, spawn failures, and no process left behind.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkMisc } from '../../src/checks/misc.js';
import type { Endpoint, MiscCheckSpec } from '../../src/config/model.js';
import type { CheckContext, CheckTarget } from '../../src/checks/types.js';
import { fixturesDir } from '../helpers/paths.js';

const scripts = join(fixturesDir, 'misc');
const work = mkdtempSync(join(tmpdir(), 'lvsd-misc-'));
/** Process groups the tests started, checked for survivors at the end. */
const groups: number[] = [];

const webContext: CheckContext = {
  serviceName: 'web',
  vip: { host: '192.0.2.10', family: 4, port: 80 },
  fwmark: null,
  protocol: 'tcp',
};

function target(command: string[], opts: Partial<MiscCheckSpec> = {}, context = webContext, address?: Endpoint): CheckTarget {
  const spec: MiscCheckSpec = {
    type: 'misc',
    intervalMs: 5000,
    timeoutMs: 10_000,
    rise: 1,
    fall: 1,
    port: 8080,
    command,
    dynamicWeight: false,
    ...opts,
  };
  return { address: address ?? { host: '192.0.2.11', family: 4, port: 80 }, spec, context };
}

const script = (name: string): string => join(scripts, name);
const live = (): AbortSignal => new AbortController().signal;

/** [leader, child] pids a fixture wrote to its pid file. */
function readPids(file: string): [number, number] {
  const [leader, child] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
  assert.ok(leader && child, `pid file ${file} holds two pids`);
  groups.push(leader);
  return [leader, child];
}

function procStat(pid: number): { state: string; ppid: number; pgrp: number } | null {
  try {
    // Fields after "(comm)": state ppid pgrp ...; comm may hold spaces, so split after the last ')'.
    const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').pop()!.trim().split(' ');
    return { state: rest[0]!, ppid: Number(rest[1]), pgrp: Number(rest[2]) };
  } catch {
    return null;
  }
}

/**
 * Dead: kill(pid, 0) says ESRCH, or the process is a zombie. A zombie has exited; only its reaping
 * is pending, and orphans are reaped by PID 1, which in some sandboxes (this one's init) never does.
 */
function isDead(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ESRCH');
    return true;
  }
  return procStat(pid)?.state === 'Z';
}

/** SIGKILL is delivered asynchronously: give a killed process a moment to finish exiting. */
async function assertDies(pid: number): Promise<void> {
  for (let i = 0; i < 500 && !isDead(pid); i += 1) await sleep(10);
  assert.ok(isDead(pid), `process ${pid} is still alive`);
}

function liveProcesses(match: (s: { state: string; ppid: number; pgrp: number }) => boolean): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      const s = procStat(pid);
      return s !== null && s.state !== 'Z' && match(s);
    });
}

after(async () => {
  rmSync(work, { recursive: true, force: true });
  // Nothing a test started may survive: no live member of any script's group, no child of ours.
  for (let i = 0; i < 500; i += 1) {
    if (liveProcesses((s) => groups.includes(s.pgrp)).length === 0) break;
    await sleep(10);
  }
  assert.deepEqual(liveProcesses((s) => groups.includes(s.pgrp)), [], 'live processes left in check groups');
  const children = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => procStat(pid)?.ppid === process.pid);
  assert.deepEqual(children, [], 'children (live or zombie) of the test process left behind');
});

describe('MISC checker: exit codes', () => {
  it('exit 0 is up', async () => {
    const r = await checkMisc(target([script('exit-with.sh'), '0']), live());
    assert.equal(r.up, true);
    assert.equal(r.code, 'ok');
    assert.equal(r.weight, undefined);
    assert.match(r.reason, /^MISC .*exit-with\.sh 0 @192\.0\.2\.11:8080: exit 0$/);
    assert.ok(r.latencyMs >= 0);
  });

  it('exit 1 is down with the exit code and the last stderr line', async () => {
    const r = await checkMisc(target([script('exit-with.sh'), '1', 'backend says no']), live());
    assert.equal(r.up, false);
    assert.equal(r.code, 'exit_code');
    assert.match(r.reason, /: exit 1: backend says no$/);
  });

  it('falls back to the last stdout line when stderr is empty', async () => {
    const r = await checkMisc(target([script('exit-with.sh'), '4']), live());
    assert.equal(r.code, 'exit_code');
    assert.match(r.reason, /: exit 4: stdout line before exit 4$/);
  });

  it('exit 7 without dynamic_weight is down', async () => {
    const r = await checkMisc(target([script('exit-with.sh'), '7']), live());
    assert.equal(r.up, false);
    assert.equal(r.code, 'exit_code');
  });

  it('dynamic_weight: exit 7 is up with weight 5', async () => {
    const r = await checkMisc(target([script('exit-with.sh'), '7'], { dynamicWeight: true }), live());
    assert.equal(r.up, true);
    assert.equal(r.code, 'ok');
    assert.equal(r.weight, 5);
    assert.match(r.reason, /exit 7 \(weight 5\)$/);
  });

  it('dynamic_weight: exit 2 is up with weight 0, exit 255 with weight 253, exit 1 is down', async () => {
    const two = await checkMisc(target([script('exit-with.sh'), '2'], { dynamicWeight: true }), live());
    assert.deepEqual([two.up, two.weight], [true, 0]);
    const top = await checkMisc(target([script('exit-with.sh'), '255'], { dynamicWeight: true }), live());
    assert.deepEqual([top.up, top.weight], [true, 253]);
    const one = await checkMisc(target([script('exit-with.sh'), '1'], { dynamicWeight: true }), live());
    assert.deepEqual([one.up, one.code, one.weight], [false, 'exit_code', undefined]);
  });

  it('a command killed by a signal is down, named by the signal', async () => {
    const r = await checkMisc(target([script('self-signal.sh')]), live());
    assert.equal(r.up, false);
    assert.equal(r.code, 'exit_code');
    assert.match(r.reason, /killed by SIGUSR1: about to be signalled$/);
  });
});

/** The LVSD_* lines print-env.sh wrote, the per-run LVSD_CHECK_RUN tag checked and left out. */
function envLines(file: string): string[] {
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const tags = lines.filter((l) => l.startsWith('LVSD_CHECK_RUN='));
  assert.equal(tags.length, 1, 'one LVSD_CHECK_RUN tag');
  assert.match(tags[0]!, /^LVSD_CHECK_RUN=[0-9a-f]{12}-\d+-\d+$/);
  // LVSD_* variables of the test run's own environment (LVSD_TEST_TIERS, which the README offers
  // for picking tiers) pass through to the command; they are not lvsd's to check here.
  const inherited = new Set(Object.keys(process.env).filter((k) => k.startsWith('LVSD_')));
  return lines.filter((l) => !l.startsWith('LVSD_CHECK_RUN=') && !inherited.has(l.slice(0, l.indexOf('='))));
}

describe('MISC checker: environment', () => {
  it('passes the service and real as LVSD_* variables', async () => {
    const out = join(work, 'env-address');
    const r = await checkMisc(target([script('print-env.sh'), out]), live());
    assert.equal(r.up, true, r.reason);
    assert.deepEqual(envLines(out), [
      'LVSD_FWMARK=',
      'LVSD_PROTOCOL=tcp',
      'LVSD_RIP=192.0.2.11',
      'LVSD_RPORT=8080',
      'LVSD_SERVICE=web',
      'LVSD_VIP=192.0.2.10',
      'LVSD_VPORT=80',
    ]);
  });

  it('fwmark service: LVSD_FWMARK set, LVSD_VIP/VPORT empty; IPv6 real without brackets', async () => {
    const out = join(work, 'env-fwmark');
    const context: CheckContext = { serviceName: 'marked', vip: null, fwmark: 12, protocol: 'tcp' };
    const real: Endpoint = { host: '2001:db8::11', family: 6, port: 443 };
    const r = await checkMisc(target([script('print-env.sh'), out], { port: 443 }, context, real), live());
    assert.equal(r.up, true, r.reason);
    assert.match(r.reason, /@\[2001:db8::11\]:443: exit 0$/);
    assert.deepEqual(envLines(out), [
      'LVSD_FWMARK=12',
      'LVSD_PROTOCOL=tcp',
      'LVSD_RIP=2001:db8::11',
      'LVSD_RPORT=443',
      'LVSD_SERVICE=marked',
      'LVSD_VIP=',
      'LVSD_VPORT=',
    ]);
  });
});

describe('MISC checker: timeouts kill the whole process group', () => {
  it('times out, SIGTERMs the group, and the child dies too', async () => {
    const pids = join(work, 'sleep-with-child.pids');
    const r = await checkMisc(target([script('sleep-with-child.sh'), pids], { timeoutMs: 1500 }), live());
    assert.equal(r.up, false);
    assert.equal(r.code, 'timeout');
    // SIGTERM normally suffices here; on a starved machine the grace may run out first, which is fine too.
    assert.match(r.reason, /: timed out after 1500 ms \((terminated with SIGTERM|killed with SIGKILL after \d+ ms grace)\)/);
    assert.match(r.reason, /: started child \d+$/, 'the last output line is in the reason');
    const [leader, child] = readPids(pids);
    await assertDies(leader);
    await assertDies(child);
  });

  it('a group that ignores SIGTERM is SIGKILLed after the grace period', async () => {
    const pids = join(work, 'ignore-term.pids');
    const r = await checkMisc(target([script('ignore-term.sh'), pids], { timeoutMs: 1500 }), live());
    assert.equal(r.code, 'timeout');
    assert.match(r.reason, /timed out after 1500 ms \(killed with SIGKILL after \d+ ms grace\)/);
    const [leader, child] = readPids(pids);
    await assertDies(leader);
    await assertDies(child);
  });

  it('cancellation by the caller kills the group at once and reports "cancelled"', async () => {
    const pids = join(work, 'cancelled.pids');
    const controller = new AbortController();
    const pending = checkMisc(target([script('ignore-term.sh'), pids], { timeoutMs: 60_000 }), controller.signal);
    // Cancel once the script is demonstrably running (it has written its pid file).
    for (let i = 0; i < 500; i += 1) {
      try {
        if (readFileSync(pids, 'utf8').includes(' ')) break;
      } catch {
        // not written yet
      }
      await sleep(10);
    }
    controller.abort();
    const r = await pending;
    assert.equal(r.up, false);
    assert.equal(r.code, 'error');
    assert.match(r.reason, /: cancelled$/);
    const [leader, child] = readPids(pids);
    await assertDies(leader);
    await assertDies(child);
  });

  it('an already-aborted signal starts nothing', async () => {
    const out = join(work, 'never-written');
    const r = await checkMisc(target([script('print-env.sh'), out]), AbortSignal.abort());
    assert.equal(r.code, 'error');
    assert.match(r.reason, /cancelled$/);
    assert.throws(() => readFileSync(out), { code: 'ENOENT' });
  });

  it('background processes a finished command leaves in its group are killed', async () => {
    const pids = join(work, 'leave-background.pids');
    const r = await checkMisc(target([script('leave-background.sh'), pids]), live());
    assert.equal(r.up, true, r.reason);
    const [, child] = readPids(pids);
    await assertDies(child);
  });
});

describe('MISC checker: output and spawn failures', () => {
  it('200 MB of output keeps only a bounded tail', async () => {
    const before = process.memoryUsage().rss;
    const r = await checkMisc(target([script('huge-output.sh')], { timeoutMs: 120_000 }), live());
    const grown = process.memoryUsage().rss - before;
    assert.equal(r.code, 'exit_code');
    assert.match(r.reason, /: exit 3: end of the noise$/);
    assert.ok(r.reason.length < 500, 'reason stays short');
    // Holding the output would take 200 MB; the tail is 4 KiB plus whatever the GC has not reclaimed yet.
    assert.ok(grown < 100 * 1024 * 1024, `rss grew by ${grown} bytes`);
  });

  it('a missing command is spawn_failed (ENOENT)', async () => {
    const r = await checkMisc(target(['/nonexistent/lvsd-no-such-check', 'x']), live());
    assert.equal(r.up, false);
    assert.equal(r.code, 'spawn_failed');
    assert.match(r.reason, /ENOENT/);
  });

  it('a command that is not executable is spawn_failed (EACCES)', async () => {
    const r = await checkMisc(target([script('not-executable.sh')]), live());
    assert.equal(r.code, 'spawn_failed');
    assert.match(r.reason, /EACCES/);
  });

  it('a command name without a slash is looked up on PATH, without a shell', async () => {
    const r = await checkMisc(target(['true']), live());
    assert.equal(r.up, true, r.reason);
    const glob = await checkMisc(target(['test', '-e', '/*']), live());
    assert.equal(glob.code, 'exit_code', 'no shell expands the glob');
  });
});

describe('MISC checker: descendants that leave the process group (setsid)', () => {
  const escape = script('setsid-escape.sh');

  it('regression: a child that calls setsid no longer survives the check (it piled up, one per run)', async () => {
    const pidFile = join(work, 'setsid-quiet.pid');
    const r = await checkMisc(target([escape, pidFile, '0', 'quiet']), live());
    assert.equal(r.code, 'ok', r.reason);
    const [leader, escapee] = readPids(pidFile);
    const stat = procStat(escapee);
    if (stat !== null) assert.notEqual(stat.pgrp, leader, 'the escapee really left the group');
    await assertDies(escapee);
  });

  it('regression: a setsid grandchild that ignores TERM and holds the pipes no longer wedges the check or survives it', async () => {
    const pidFile = join(work, 'setsid-pipes.pid');
    // A deadline far beyond the test runner's timeout: only the kill and the bounded pipe wait can end this check.
    const r = await checkMisc(target([escape, pidFile, '3'], { timeoutMs: 600_000, intervalMs: 600_000 }), live());
    assert.equal(r.code, 'exit_code', r.reason);
    assert.match(r.reason, /exit 3: started escapee \d+$/);
    const [, escapee] = readPids(pidFile);
    await assertDies(escapee);
  });

  it('a command that hangs ignoring TERM with such a grandchild times out, and both are gone', async () => {
    const pidFile = join(work, 'setsid-hang.pid');
    const r = await checkMisc(target([escape, pidFile, 'hang'], { timeoutMs: 300 }), live());
    assert.equal(r.code, 'timeout', r.reason);
    const [leader, escapee] = readPids(pidFile);
    await assertDies(leader);
    await assertDies(escapee);
  });
});
