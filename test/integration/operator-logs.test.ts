// What an operator reads (issue 11): the start-up and first-round summaries, down transitions at
// warn, one field vocabulary, config errors alike at start and reload, restart-only settings
// remembered in status, a no-op SIGHUP answered, `lvsd status` explaining an unreachable daemon,
// and bin/lvsd.js in an unbuilt clone.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';
import { configDir, eventually, freePort, runLvsd, startDaemon, tcpListener } from '../helpers/daemon-process.js';

function service(live: number, dead: number): string {
  return [
    'name: web',
    'address: 192.0.2.10:80',
    'forwarding: masq',
    'check: { type: tcp, interval: 300ms, timeout: 200ms, rise: 1, fall: 1 }',
    'reals:',
    `  - { address: "127.0.0.1:${live}", weight: 5 }`,
    `  - { address: "127.0.0.1:${dead}", weight: 5 }`,
    '',
  ].join('\n');
}

describe('operator-facing logs and status', { timeout: 120_000 }, () => {
  let scratch: string;
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'lvsd-operator-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  test('start-up summary, first-round summary (first results at debug), down at warn, restart needed remembered, no-op SIGHUP answered', async () => {
    const live = await tcpListener();
    const deadPort = await freePort();
    const cfg = await configDir({ 'web.yaml': service(live.port, deadPort) });
    const d = startDaemon(cfg.dir, ['--dry-run']);
    try {
      const started = await d.waitForLog((l) => l.event === 'started', 'start-up summary');
      assert.equal(started.level, 'info');
      assert.equal(started.pid, d.child.pid);
      assert.equal(started.listen, cfg.listen);
      assert.equal(started.services, 1);
      assert.equal(started.reals, 2);
      assert.match(String(started.version), /^\d+\.\d+\.\d+/);
      assert.match(String(started.msg), new RegExp(`pid ${d.child.pid}, listening on ${cfg.listen}, 1 services, 2 reals`));

      const first = await d.waitForLog((l) => l.event === 'first_round', 'first-round summary');
      assert.equal(first.up, 1);
      assert.equal(first.down, 1);
      assert.equal(first.reals, 2);
      assert.equal(first.level, 'warn', 'a first round with a real down is a warning');
      assert.match(String(first.msg), /1 of 2 reals up, 1 down/);
      const firsts = d.logs.filter((l) => l.event === 'health_transition' && l.from === 'unknown');
      assert.equal(firsts.length, 2);
      for (const l of firsts) assert.equal(l.level, 'debug', 'first results are debug lines');

      // Field names: service and real on every transition line.
      for (const l of firsts) {
        assert.equal(l.service, 'web');
        assert.equal(typeof l.real, 'string');
        assert.ok(!('serviceKey' in l) && !('realKey' in l));
      }

      // A real that goes down after being up: warn.
      await live.close();
      const down = await d.waitForLog((l) => l.event === 'health_transition' && l.from === 'up' && l.to === 'down', 'down transition');
      assert.equal(down.level, 'warn');

      // A SIGHUP that changes nothing: one info line.
      d.child.kill('SIGHUP');
      const unchanged = await d.waitForLog((l) => l.msg === 'configuration unchanged' && l.reason === 'SIGHUP', 'no-op SIGHUP answered');
      assert.equal(unchanged.level, 'info');

      // Restart-only settings by their lvsd.yaml names, remembered in /status and `lvsd status`.
      const yaml = join(cfg.dir, 'lvsd.yaml');
      const newListen = `127.0.0.1:${await freePort()}`;
      await writeFile(yaml, (await readFile(yaml, 'utf8')).replace(/^listen: .*$/m, `listen: ${newListen}`) + 'drain_timeout: 5s\n');
      d.child.kill('SIGHUP');
      const restart = await d.waitForLog((l) => Array.isArray(l.settings), 'restart needed logged');
      assert.equal(restart.level, 'warn');
      assert.deepEqual(restart.settings, ['listen', 'drain_timeout']);
      assert.match(String(restart.msg), /^restart needed for: listen, drain_timeout/);
      const doc = (await (await fetch(`http://${cfg.listen}/status`)).json()) as { config: { restart_needed: string[] } };
      assert.deepEqual(doc.config.restart_needed, ['listen', 'drain_timeout']);
      const text = await runLvsd(['status', '--listen', cfg.listen]);
      assert.equal(text.status, 0, text.stderr);
      assert.match(text.stdout, /^restart +needed for: listen, drain_timeout/m);
      const page = await (await fetch(`http://${cfg.listen}/`)).text();
      assert.match(page, /restart needed for: listen, drain_timeout/);
      // Another reload does not forget it.
      d.child.kill('SIGHUP');
      await eventually(async () => (d.logs.filter((l) => l.msg === 'configuration unchanged' && l.reason === 'SIGHUP').length >= 2 ? true : undefined), 'second no-op SIGHUP');
      const again = (await (await fetch(`http://${cfg.listen}/status`)).json()) as { config: { restart_needed: string[] } };
      assert.deepEqual(again.config.restart_needed, ['listen', 'drain_timeout']);

      // `lvsd status` with the new (not yet applied) listen: the cause and the likely reasons.
      const miss = await runLvsd(['status', '-c', cfg.dir]);
      assert.equal(miss.status, 1);
      assert.match(miss.stderr, /connection refused, nothing listens there/);
      assert.match(miss.stderr, /lvsd is not running/);
      assert.match(miss.stderr, /`listen` was changed in lvsd\.yaml since it started/);
      assert.doesNotMatch(miss.stderr, /fetch failed/);
    } finally {
      await d.stop();
      await live.close().catch(() => undefined);
      await cfg.remove();
    }
  });

  test('config errors look the same at start and on reload (level error, FILE:LINE:COL: in msg, same fields)', async () => {
    const bad = 'name: web\naddress: 192.0.2.10:80\nreals:\n  - { address: "127.0.0.1:80", wieght: 3 }\n';
    const atStart = await configDir({ 'web.yaml': bad });
    const good = await configDir({ 'web.yaml': 'name: web\naddress: 192.0.2.10:80\ncheck: { type: none }\nreals:\n  - { address: "127.0.0.1:80" }\n' });
    const d = startDaemon(good.dir, ['--dry-run']);
    try {
      const r = await runLvsd(['run', '--dry-run', '-c', atStart.dir]);
      assert.equal(r.status, 1);
      const startLine = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => typeof l.line === 'number');
      assert.ok(startLine, r.stdout);

      await d.waitForLog((l) => l.event === 'started', 'running');
      await writeFile(join(good.dir, 'conf.d', 'web.yaml'), bad);
      d.child.kill('SIGHUP');
      const reloadLine = await d.waitForLog((l) => l.code === 'LVSD_CONFIG_INVALID' && typeof l.line === 'number', 'reload issue');

      for (const l of [startLine, reloadLine]) {
        assert.equal(l.level, 'error');
        assert.equal(l.code, 'LVSD_CONFIG_INVALID');
        assert.match(String(l.msg), /web\.yaml:4:\d+: .*wieght/);
      }
      const keys = (l: Record<string, unknown>): string[] => Object.keys(l).filter((k) => k !== 'time' && k !== 'pid' && k !== 'hostname').sort();
      assert.deepEqual(keys(reloadLine), keys(startLine));
      assert.equal(startLine.line, reloadLine.line);
      assert.equal(startLine.col, reloadLine.col);
    } finally {
      await d.stop();
      await atStart.remove();
      await good.remove();
    }
  });

  test('regression: bin/lvsd.js in a clone that was not built says to run npm run build (no module-not-found trace)', async () => {
    const clone = join(scratch, 'clone');
    await mkdir(join(clone, 'bin'), { recursive: true });
    await copyFile(join(repoRoot, 'bin', 'lvsd.js'), join(clone, 'bin', 'lvsd.js'));
    const r = spawnSync(process.execPath, [join(clone, 'bin', 'lvsd.js'), 'status'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /not built\. Run `npm ci && npm run build`/);
    assert.doesNotMatch(r.stderr, /ERR_MODULE_NOT_FOUND|at .*\(node:/);
  });
});
