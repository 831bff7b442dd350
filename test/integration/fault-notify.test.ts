// Notify commands that leave descendants behind: `lvsd run --dry-run` as a child, real_down commands
// that start a setsid'd grandchild holding the stderr pipe. Regression (issue 18): such a command
// stayed "running" until the grandchild exited (300 s), no timeout was logged, every later notify
// was queued or dropped, and stop logged "stopped" long before the process exited.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configDir, eventually, startDaemon, tcpListener } from '../helpers/daemon-process.js';
import type { ConfigDir, DaemonProcess, TcpListener } from '../helpers/daemon-process.js';

const REALS = 6;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('notify commands with escaping descendants', () => {
  let scratch: string;
  let pidFile: string;
  let cfg: ConfigDir;
  let daemon: DaemonProcess;
  let reals: TcpListener[] = [];
  let ports: number[] = [];

  const escapees = async (): Promise<number[]> =>
    (await readFile(pidFile, 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number);
  const notifyLines = (notify: string, result: string): Record<string, unknown>[] =>
    daemon.logs.filter((l) => l.event === 'notify' && l.notify === notify && (l.result ?? 'ok') === result);
  const closeAll = async (): Promise<void> => {
    await Promise.all(reals.map((r) => r.close()));
    reals = [];
  };
  const openAll = async (): Promise<void> => {
    reals = await Promise.all(ports.map((p) => tcpListener(p)));
  };

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'lvsd-fault-notify-'));
    pidFile = join(scratch, 'escapees');
    await writeFile(pidFile, '');
    reals = await Promise.all(Array.from({ length: REALS }, () => tcpListener()));
    ports = reals.map((r) => r.port);
    const down = ['/bin/sh', '-c', `setsid sleep 300 & echo $! >> ${pidFile}; sleep 100`];
    cfg = await configDir({
      'web.yaml': [
        'name: web',
        'address: 127.0.0.1:80',
        'forwarding: masq',
        'check: { type: tcp, interval: 200ms, timeout: 150ms, rise: 1, fall: 1 }',
        'reals:',
        ...ports.map((p) => `  - { address: "127.0.0.1:${p}" }`),
        'notify:',
        `  real_down: ${JSON.stringify(down)}`,
        '  real_up: [/bin/true]',
        '  timeout: 1s',
        '',
      ].join('\n'),
    });
    daemon = startDaemon(cfg.dir, ['--dry-run']);
    await daemon.waitForLog((l) => l.event === 'first_round', 'first round');
  });

  after(async () => {
    await daemon?.stop();
    await closeAll();
    for (const pid of await escapees().catch(() => [])) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await cfg?.remove();
    await rm(scratch, { recursive: true, force: true });
  });

  test('every real_down command times out at its timeout (logged), its setsid escapee is killed, and real_up runs after', async () => {
    await closeAll();
    await eventually(async () => (notifyLines('real_down', 'timeout').length >= REALS ? true : undefined), `${REALS} real_down timeouts logged`);
    const pids = await escapees();
    assert.equal(pids.length, REALS);
    await eventually(async () => (pids.every((p) => !alive(p)) ? true : undefined), 'every escapee gone');
    // The slots are free: every real_up runs and succeeds.
    await openAll();
    await eventually(async () => (notifyLines('real_up', 'ok').length >= REALS ? true : undefined), `${REALS} real_up ok`);
    assert.equal(daemon.logs.filter((l) => l.event === 'notify_dropped').length, 0);
  });

  test('stop with commands running: they end by their timeout, their escapees with them, and "lvsd stopped" comes after them', async () => {
    const before = (await escapees()).length;
    await closeAll();
    // Commands are running (each has started its escapee) when the stop comes.
    await eventually(async () => ((await escapees()).length >= before + 4 ? true : undefined), 'real_down commands running');
    const code = await daemon.stop();
    assert.equal(code, 0, daemon.stderr());
    const running = (await escapees()).slice(before);
    await eventually(async () => (running.every((p) => !alive(p)) ? true : undefined), 'the escapees of the commands running at stop gone');
    const stopped = daemon.logs.findIndex((l) => l.msg === 'lvsd stopped');
    assert.ok(stopped >= 0, 'lvsd stopped logged');
    // Every line about a notify command comes before "stopped", which is the last line.
    const lastNotify = daemon.logs.map((l, i) => (l.event === 'notify' || l.event === 'notify_dropped' ? i : -1)).reduce((a, b) => Math.max(a, b), -1);
    assert.ok(lastNotify < stopped, 'no notify line after "lvsd stopped"');
    // Nothing but the lifecycle's own line follows it.
    assert.deepEqual(daemon.logs.slice(stopped + 1).map((l) => l.msg), ['lifecycle: stopped']);
  });
});
