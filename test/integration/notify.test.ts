// Notify commands through `lvsd run --dry-run`: each event's command receives the documented
// LVSD_* environment (the command writes it to a file the test reads), and a hung command is
// killed with its whole process group at its timeout and counted.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configDir, eventually, freePort, startDaemon } from '../helpers/daemon-process.js';
import type { ConfigDir, DaemonProcess } from '../helpers/daemon-process.js';

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer((c) => c.destroy());
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

const closeServer = (s: Server): Promise<void> => new Promise((r) => s.close(() => r()));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** KEY=VALUE lines of a recorded environment. */
function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
  }
  return env;
}

describe('notify commands', () => {
  let scratch: string;
  let events: string;
  let cfg: ConfigDir;
  let daemon: DaemonProcess;
  let realPort: number;
  let real: Server;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'lvsd-notify-'));
    events = join(scratch, 'events');
    await writeFile(join(scratch, '.keep'), '');
    const record = join(scratch, 'record');
    // Writes the LVSD_* environment to events/<event>-<pid>, then exits 0.
    await writeFile(record, `#!/bin/sh\nmkdir -p "$1"\nenv | grep '^LVSD_' | sort > "$1/$LVSD_EVENT-$$.tmp" && mv "$1/$LVSD_EVENT-$$.tmp" "$1/$LVSD_EVENT-$$"\n`);
    const hang = join(scratch, 'hang');
    // Starts a grandchild in the same process group, records both pids, then hangs.
    await writeFile(hang, `#!/bin/sh\nsleep 600 &\necho "$$ $!" > "$1.tmp" && mv "$1.tmp" "$1"\nwait\n`);
    await chmod(record, 0o755);
    await chmod(hang, 0o755);
    realPort = await freePort();
    real = await listen(realPort);
    const vip = await freePort();
    const vip2 = await freePort();
    cfg = await configDir(
      {
        'web.yaml': [
          'name: web',
          `address: 127.0.0.1:${vip}`,
          'forwarding: masq',
          'check: { type: tcp, interval: 200ms, timeout: 150ms, rise: 1, fall: 1 }',
          `reals: [{ address: "127.0.0.1:${realPort}", weight: 5 }]`,
          `sorry: [{ address: "127.0.0.1:${await freePort()}" }]`,
          'notify:',
          ...['real_up', 'real_down', 'quorum_down', 'sorry_on', 'sorry_off'].map((e) => `  ${e}: [${JSON.stringify(record)}, ${JSON.stringify(events)}]`),
          '',
        ].join('\n'),
        'hang.yaml': [
          'name: hang',
          `address: 127.0.0.1:${vip2}`,
          'forwarding: masq',
          'check: { type: none }',
          'reals: [{ address: "127.0.0.1:1" }]',
          `notify: { quorum_up: [${JSON.stringify(hang)}, ${JSON.stringify(join(scratch, 'hang-pids'))}], timeout: 300ms }`,
          '',
        ].join('\n'),
      },
      // quorum_up for every service from lvsd.yaml defaults; web's own keys win for the others.
      `defaults:\n  notify:\n    quorum_up: [${JSON.stringify(record)}, ${JSON.stringify(events)}]\n`,
    );
    daemon = startDaemon(cfg.dir, ['--dry-run']);
  });

  after(async () => {
    await daemon?.stop();
    await new Promise<void>((r) => (real.listening ? real.close(() => r()) : r()));
    await cfg?.remove();
    await rm(scratch, { recursive: true, force: true });
  });

  const recorded = async (event: string): Promise<Record<string, string>[]> => {
    const names = (await readdir(events).catch(() => [] as string[])).filter((n) => n.startsWith(`${event}-`) && !n.endsWith('.tmp'));
    return Promise.all(names.map(async (n) => parseEnv(await readFile(join(events, n), 'utf8'))));
  };
  const one = (event: string, service = 'web') =>
    eventually(async () => (await recorded(event)).find((e) => e.LVSD_SERVICE === service), `${event} for ${service}`);

  test('quorum_up at the first evaluation, from lvsd.yaml defaults', async () => {
    const env = await one('quorum_up');
    assert.equal(env.LVSD_EVENT, 'quorum_up');
    assert.equal(env.LVSD_SERVICE_KEY, `tcp:127.0.0.1:${env.LVSD_VPORT}`);
    assert.equal(env.LVSD_PROTOCOL, 'tcp');
    assert.equal(env.LVSD_VIP, '127.0.0.1');
    assert.equal(env.LVSD_WEIGHT_SUM, '5');
    assert.equal(env.LVSD_QUORUM, '1');
    assert.equal(env.LVSD_HYSTERESIS, '0');
    assert.match(env.LVSD_TIME ?? '', /^\d{4}-\d\d-\d\dT/);
  });

  test('a real going down: real_down, quorum_down and sorry_on, each with its environment', async () => {
    await closeServer(real);
    const down = await one('real_down');
    assert.equal(down.LVSD_REAL, `127.0.0.1:${realPort}`);
    assert.equal(down.LVSD_RIP, '127.0.0.1');
    assert.equal(down.LVSD_RPORT, String(realPort));
    assert.equal(down.LVSD_FROM, 'up');
    assert.equal(down.LVSD_TO, 'down');
    assert.ok(down.LVSD_REASON, 'the reason of the transition');
    const lost = await one('quorum_down');
    assert.equal(lost.LVSD_WEIGHT_SUM, '0');
    const sorry = await one('sorry_on');
    assert.match(sorry.LVSD_SORRY ?? '', /^127\.0\.0\.1:\d+$/);
    await daemon.waitForLog((l) => l.event === 'sorry_on' && l.level === 'warn' || (l.event === 'sorry_on' && l.level === 40), 'sorry servers in (warn)');
  });

  test('the real back: real_up and sorry_off', async () => {
    real = await listen(realPort);
    const upEnv = await one('real_up');
    assert.equal(upEnv.LVSD_FROM, 'down');
    assert.equal(upEnv.LVSD_TO, 'up');
    await one('sorry_off');
  });

  test('a hung command is killed with its process group at its timeout, logged and counted', async () => {
    const line = await daemon.waitForLog((l) => l.event === 'notify' && l.service === 'hang' && l.result === 'timeout', 'notify timeout');
    assert.equal(line.notify, 'quorum_up');
    const [pid, grandchild] = (await readFile(join(scratch, 'hang-pids'), 'utf8')).trim().split(' ').map(Number) as [number, number];
    await eventually(async () => (!alive(pid) && !alive(grandchild) ? true : undefined), 'the hung command and its grandchild gone');
    const metrics = await (await fetch(`http://${cfg.listen}/metrics`)).text();
    assert.match(metrics, /^lvsd_notify_commands_total\{event="quorum_up",result="timeout"\} 1$/m);
    assert.match(metrics, /^lvsd_notify_commands_total\{event="real_down",result="ok"\} 1$/m);
  });
});
