// Each check of a real with several checks (`checks:`) in /status, `lvsd status` and the status page,
// against a running daemon and real loopback servers: one check up and one down shows both checks'
// own health beside the combined (down) health; the failing check coming back shows both up.
// Regression (issue 18, left open by the fourth session): /status showed only the combined health,
// so an operator could not see which of a real's checks had failed nor how close it was to rise.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { StatusDocument } from '../../src/observe/status-document.js';
import { configDir, eventually, freePort, runLvsd, startDaemon, tcpListener } from '../helpers/daemon-process.js';
import type { ConfigDir, DaemonProcess, TcpListener } from '../helpers/daemon-process.js';

describe('per-check health of a real with several checks', () => {
  let cfg: ConfigDir;
  let daemon: DaemonProcess;
  let web: Server;
  let single: TcpListener;
  let side: TcpListener | null = null;
  let webPort = 0;
  let sidePort = 0;
  let base = '';

  const doc = async (): Promise<StatusDocument> => (await (await fetch(`${base}/status`)).json()) as StatusDocument;

  before(async () => {
    web = createServer((req, res) => {
      res.statusCode = req.url === '/health' ? 200 : 404;
      res.end('OK\n');
    });
    web.listen(0, '127.0.0.1');
    await once(web, 'listening');
    webPort = (web.address() as { port: number }).port;
    sidePort = await freePort(); // nothing listens: the tcp check is refused
    single = await tcpListener();
    const vip = await freePort();
    cfg = await configDir({
      'web.yaml': [
        'name: web',
        `address: 127.0.0.1:${vip}`,
        'forwarding: masq',
        'reals:',
        `  - address: 127.0.0.1:${webPort}`,
        '    checks:',
        '      - { type: http, path: /health, interval: 300ms, timeout: 5s, rise: 1, fall: 1 }',
        `      - { type: tcp, port: ${sidePort}, interval: 300ms, timeout: 5s, rise: 2, fall: 3 }`,
        `  - address: 127.0.0.1:${single.port}`,
        '    check: { type: tcp, interval: 300ms, timeout: 5s, rise: 1, fall: 1 }',
        '',
      ].join('\n'),
    });
    base = `http://${cfg.listen}`;
    daemon = startDaemon(cfg.dir, ['--dry-run']);
  });

  after(async () => {
    await daemon?.stop();
    web?.close();
    await single?.close();
    await side?.close();
    await cfg?.remove();
  });

  it('one check up, one down: each check with its own state, counters, reason and time; the real down', async () => {
    const d = await eventually(async () => {
      const s = await doc();
      const r = s.services[0]?.reals[0];
      const c = r?.per_check;
      // Both checks have results, and the refused one has failed at least twice (a streak to show).
      return c?.length === 2 && c[0]!.health === 'up' && c[1]!.consecutive_failures >= 2 && r!.health === 'down' ? s : undefined;
    }, 'both checks judged, the tcp one failing twice');
    const [real, other] = d.services[0]!.reals;
    assert.equal(real!.health, 'down');
    assert.equal(real!.state, 'down');
    assert.equal(real!.code, 'refused', 'the combined result speaks for the failing check');
    const [http, tcp] = real!.per_check!;
    assert.deepEqual(
      { index: http!.index, type: http!.type, target: http!.target, health: http!.health, code: http!.code, rise: http!.rise, fall: http!.fall, failures: http!.consecutive_failures },
      { index: 1, type: 'http', target: `http://127.0.0.1:${webPort}/health`, health: 'up', code: 'ok', rise: 1, fall: 1, failures: 0 },
    );
    assert.ok(http!.consecutive_successes >= 1);
    assert.match(http!.reason!, new RegExp(`^HTTP GET http://127\\.0\\.0\\.1:${webPort}/health: status 200`));
    assert.deepEqual(
      { index: tcp!.index, type: tcp!.type, target: tcp!.target, health: tcp!.health, code: tcp!.code, rise: tcp!.rise, fall: tcp!.fall, successes: tcp!.consecutive_successes },
      { index: 2, type: 'tcp', target: `127.0.0.1:${sidePort}`, health: 'down', code: 'refused', rise: 2, fall: 3, successes: 0 },
    );
    assert.match(tcp!.reason!, new RegExp(`^TCP connect 127\\.0\\.0\\.1:${sidePort}: connection refused`));
    for (const c of [http!, tcp!]) {
      assert.equal(typeof c.latency_ms, 'number');
      assert.ok(c.checks >= 1);
      assert.ok(Date.parse(c.last_check_at!) >= Date.parse(c.last_change_at!), 'checked at or after its last change');
      assert.ok(Date.parse(c.last_check_at!) <= Date.parse(d.generated_at));
    }
    assert.equal(other!.health, 'up');
    assert.equal(other!.per_check, null, 'a real with one check has no per-check list');

    // lvsd status: one row per check under the real's row.
    const text = await runLvsd(['status', '-c', cfg.dir]);
    assert.equal(text.status, 0, text.stderr);
    const lines = text.stdout.split('\n');
    const at = lines.findIndex((l) => l.trimStart().startsWith(`127.0.0.1:${webPort} `));
    assert.ok(at > 0, text.stdout);
    assert.match(lines[at]!, /^\s+127\.0\.0\.1:\d+\s+down\s/);
    assert.match(lines[at + 1]!, new RegExp(`^\\s+check 1/2 http\\s+up\\s.*http://127\\.0\\.0\\.1:${webPort}/health: HTTP GET .*\\[ok, [\\d.]+ ms; \\d+ success(es)? in a row; rise 1, fall 1\\]$`));
    assert.match(lines[at + 2]!, new RegExp(`^\\s+check 2/2 tcp\\s+down\\s.*127\\.0\\.0\\.1:${sidePort}: TCP connect .*refused.*\\[refused, [\\d.]+ ms; \\d+ failures in a row; rise 2, fall 3\\]$`));

    // The status page: a row per check with its state, after the real's own row.
    const html = await (await fetch(`${base}/`)).text();
    const rows = [...html.matchAll(/<tr class="(real-row|check-row) state-(\w+)" data-real="([^"]+)"(?: data-check="(\d)")?/g)].map((m) => [m[1], m[2], m[3], m[4] ?? null]);
    const mine = rows.filter((r) => r[2] === `127.0.0.1:${webPort}`);
    assert.deepEqual(mine, [
      ['real-row', 'down', `127.0.0.1:${webPort}`, null],
      ['check-row', 'up', `127.0.0.1:${webPort}`, '1'],
      ['check-row', 'down', `127.0.0.1:${webPort}`, '2'],
    ]);
    assert.ok(html.includes(`http://127.0.0.1:${webPort}/health</span>`), 'the http check names its target');
    assert.deepEqual(rows.filter((r) => r[2] === `127.0.0.1:${single.port}`).map((r) => r[0]), ['real-row']);
  });

  it('the failing check comes back: it counts successes up to its rise, then the real is up', async () => {
    side = await tcpListener(sidePort);
    const d = await eventually(async () => {
      const s = await doc();
      return s.services[0]?.reals[0]?.health === 'up' ? s : undefined;
    }, 'the real up again');
    const real = d.services[0]!.reals[0]!;
    assert.deepEqual(real.per_check!.map((c) => [c.type, c.health, c.consecutive_failures]), [['http', 'up', 0], ['tcp', 'up', 0]]);
    assert.ok(real.per_check![1]!.consecutive_successes >= 2, 'rise 2: up after two successes in a row');
    const text = await runLvsd(['status', '-c', cfg.dir]);
    assert.match(text.stdout, /check 2\/2 tcp\s+up\s/);
  });
});
