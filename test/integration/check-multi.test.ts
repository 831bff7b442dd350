// Several checks on one real (`checks:`) through `lvsd probe` against real loopback servers: the real is
// up only when every check is, one failing check makes it down, and each check is shown.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServer as createTcpServer } from 'node:net';
import type { Server as TcpServer } from 'node:net';
import { configDir, freePort, runLvsd, startDaemon } from '../helpers/daemon-process.js';

describe('checks: several checks on one real', () => {
  let web: Server;
  let port = 0;
  let dead = 0;
  let dir = '';

  before(async () => {
    web = createServer((req, res) => res.end(req.url === '/health' ? 'OK\n' : 'page\n'));
    web.listen(0, '127.0.0.1');
    await once(web, 'listening');
    port = (web.address() as { port: number }).port;
    dead = await freePort();
    dir = await mkdtemp(join(tmpdir(), 'lvsd-multi-'));
    await mkdir(join(dir, 'conf.d'));
    await writeFile(join(dir, 'lvsd.yaml'), `state_dir: ${join(dir, 'state')}\ndefaults:\n  check: { timeout: 1s, interval: 2s }\n`);
    await writeFile(
      join(dir, 'conf.d', 'web.yaml'),
      [
        `address: 127.0.0.1:${port}`,
        'forwarding: masq',
        'checks:',
        '  - { type: http, path: /health, expect_body: "^OK" }',
        '  - { type: tcp }',
        'reals:',
        `  - address: 127.0.0.1:${port}`,
        `  - address: 127.0.0.2:${port}`,
        '    checks:',
        '      - { type: http, path: /health }',
        `      - { type: tcp, port: ${dead} }`,
        '      - { type: ping }',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    web.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('probe --json: up when all pass; one check down makes the real down; every check listed', async () => {
    // The server listens on 127.0.0.1 only: for the real 127.0.0.2 http and tcp are refused, ping answers.
    const r = await runLvsd(['probe', '--json', '-c', dir]);
    assert.equal(r.status, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as { real: string; up: boolean; code: string; reason: string; checks?: { type: string; up: boolean; code: string }[] }[];
    assert.equal(rows.length, 2);
    const [a, b] = rows;
    assert.equal(a!.up, true, a!.reason);
    assert.deepEqual(a!.checks!.map((c) => [c.type, c.up]), [['http', true], ['tcp', true]]);
    assert.equal(b!.up, false);
    assert.deepEqual(b!.checks!.map((c) => [c.type, c.up, c.code]), [['http', false, 'refused'], ['tcp', false, 'refused'], ['ping', true, 'ok']]);
    assert.match(b!.reason, /^check 1 of 3: HTTP GET http:\/\/127\.0\.0\.2:\d+\/health: connection refused$/);
  });

  test('only the failing check down: the real is down with that check as the reason', async () => {
    await writeFile(
      join(dir, 'conf.d', 'web.yaml'),
      [
        `address: 127.0.0.1:${port}`,
        'reals:',
        `  - address: 127.0.0.1:${port}`,
        `    checks: [{ type: http, path: /health }, { type: tcp, port: ${dead} }, { type: ping }]`,
        '',
      ].join('\n'),
    );
    const r = await runLvsd(['probe', '--json', '-c', dir]);
    const [row] = JSON.parse(r.stdout) as { up: boolean; reason: string; checks: { up: boolean }[] }[];
    assert.equal(row!.up, false);
    assert.deepEqual(row!.checks.map((c) => c.up), [true, false, true]);
    assert.match(row!.reason, new RegExp(`^check 2 of 3: TCP connect 127\\.0\\.0\\.1:${dead}: connection refused$`));
    const text = await runLvsd(['probe', '-c', dir]);
    assert.match(text.stdout, /check 1\/3 http\s+up /);
    assert.match(text.stdout, /check 2\/3 tcp\s+down /);
    assert.match(text.stdout, /check 3\/3 ping\s+up /);
    assert.match(text.stdout, /1 real\(s\) checked, 0 up, 1 down/);
  });
});

describe('checks: the daemon follows the combined health', () => {
  test('lvsd run --dry-run: the real is added when both checks pass, removed when one fails, re-added when it passes again', async () => {
    const web = createServer((_req, res) => res.end('OK\n'));
    web.listen(0, '127.0.0.1');
    await once(web, 'listening');
    const port = (web.address() as { port: number }).port;
    const sidePort = await freePort();
    // The second check's port: a listener we close and reopen to take that check down and up.
    let side: TcpServer | null = null;
    const openSide = async (): Promise<void> => {
      side = createTcpServer((s) => {
        s.on('error', () => {});
        s.end();
      });
      side.listen(sidePort, '127.0.0.1');
      await once(side, 'listening');
    };
    await openSide();
    const cfg = await configDir({
      'web.yaml': [
        `address: 127.0.0.1:${port}`,
        'forwarding: masq',
        'reals:',
        `  - address: 127.0.0.1:${port}`,
        '    checks:',
        '      - { type: http, path: /health, interval: 300ms, timeout: 200ms, rise: 1, fall: 1 }',
        `      - { type: tcp, port: ${sidePort}, interval: 300ms, timeout: 200ms, rise: 1, fall: 1 }`,
        '',
      ].join('\n'),
    });
    const daemon = startDaemon(cfg.dir, ['--dry-run']);
    const real = `127.0.0.1:${port}`;
    try {
      const up = await daemon.waitForLog((l) => l.event === 'health_transition' && l.real === real && l.to === 'up', 'real up');
      assert.equal(up.from, 'unknown');
      await daemon.waitForLog((l) => typeof l.line === 'string' && (l.line as string).startsWith(`-a -t ${real} -r ${real}`), 'real added');

      await new Promise<void>((resolve) => side!.close(() => resolve()));
      const down = await daemon.waitForLog((l) => l.event === 'health_transition' && l.real === real && l.to === 'down', 'real down');
      assert.match(String(down.reason), new RegExp(`^check 2 of 2 down: .*TCP connect 127\\.0\\.0\\.1:${sidePort}: connection refused`));
      assert.equal(down.code, 'refused');
      await daemon.waitForLog((l) => typeof l.line === 'string' && (l.line as string).startsWith(`-d -t ${real} -r ${real}`), 'real removed');

      await openSide();
      const back = await daemon.waitForLog((l) => l.event === 'health_transition' && l.real === real && l.from === 'down' && l.to === 'up', 'real back up');
      assert.match(String(back.reason), /^all 2 checks up \(check 2 of 2: /);
    } finally {
      await daemon.stop();
      web.close();
      (side as TcpServer | null)?.close();
      await cfg.remove();
    }
  });
});
