// The CLI as users and scripts see it: exit codes, check-config's FILE:LINE:COL errors, probe --json, plan.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturesDir, repoRoot } from '../helpers/paths.js';
import { freePort, runLvsd, tcpListener } from '../helpers/daemon-process.js';

async function tempConfig(files: Readonly<Record<string, string>>, global = ''): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lvsd-cli-'));
  await mkdir(join(dir, 'conf.d'));
  await writeFile(join(dir, 'lvsd.yaml'), `state_dir: ${join(dir, 'state')}\ncontrol_socket: ${join(dir, 'control.sock')}\n${global}`);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, 'conf.d', name), text);
  return dir;
}

describe('lvsd CLI', () => {
  const dirs: string[] = [];
  let live: { port: number; close(): Promise<void> };
  let deadPort: number;

  before(async () => {
    live = await tcpListener();
    deadPort = await freePort();
  });
  after(async () => {
    await live.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  test('--version prints the package version and exits 0', async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const r = await runLvsd(['--version']);
    assert.equal(r.status, 0);
    assert.equal(r.stdout.trim(), `lvsd ${pkg.version}`);
  });

  test('usage errors exit 2: no command, unknown command, unknown option, bad --log-level', async () => {
    for (const args of [[], ['frobnicate'], ['check-config', '--bogus'], ['probe', '--log-level', 'loud']]) {
      const r = await runLvsd(args);
      assert.equal(r.status, 2, `lvsd ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /Usage: lvsd/);
    }
  });

  test('every subcommand has --help (exit 0)', async () => {
    for (const cmd of ['run', 'check-config', 'probe', 'plan', 'status', 'digest']) {
      const r = await runLvsd([cmd, '--help']);
      assert.equal(r.status, 0, cmd);
      assert.match(r.stdout, new RegExp(`^Usage: lvsd ${cmd}`));
    }
  });

  test('check-config: three different mistakes in two files give three FILE:LINE:COL errors and exit 1', async () => {
    const dir = await tempConfig({
      'a.yaml': ['name: a', 'address: 192.0.2.1:80', 'reals:', '  - address: 10.0.0.1:80', '    wieght: 3', ''].join('\n'),
      'b.yaml': [
        'name: b',
        'address: 192.0.2.2:99999',
        'check: { type: http, path: "/health check" }',
        'reals:',
        '  - address: 10.0.0.2:80',
        '',
      ].join('\n'),
    });
    dirs.push(dir);
    const r = await runLvsd(['check-config', '-c', dir]);
    assert.equal(r.status, 1, r.stderr);
    const errors = r.stderr.split('\n').filter((l) => /^\S+:\d+:\d+: /.test(l));
    assert.equal(errors.length, 3, r.stderr);
    assert.match(errors.find((e) => e.includes('a.yaml'))!, new RegExp(`^${dir}/conf\\.d/a\\.yaml:5:5: .*wieght`));
    assert.ok(errors.some((e) => e.startsWith(`${join(dir, 'conf.d', 'b.yaml')}:2:`) && /port/.test(e)), r.stderr);
    assert.ok(errors.some((e) => e.startsWith(`${join(dir, 'conf.d', 'b.yaml')}:3:`) && /invalid path/.test(e)), r.stderr);
  });

  test('check-config: announce is accepted with valid VIPs, refused at FILE:LINE:COL for a VIP no service uses', async () => {
    const web = 'name: web\naddress: 192.0.2.10:80\nreals:\n  - address: 10.0.0.1:80\n';
    const good = await tempConfig({ 'web.yaml': web }, 'announce:\n  backend: bird\n  vips:\n    - address: 192.0.2.10\n      services: [web]\n');
    const bad = await tempConfig({ 'web.yaml': web }, 'announce:\n  backend: exabgp\n  vips:\n    - address: 192.0.2.99\n');
    dirs.push(good, bad);
    const ok = await runLvsd(['check-config', '-c', good]);
    assert.equal(ok.status, 0, ok.stderr);
    const r = await runLvsd(['check-config', '-c', bad]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^${join(bad, 'lvsd.yaml')}:6:16: announce\\.vips\\[0\\]\\.address: no service in conf\\.d uses 192\\.0\\.2\\.99`, 'm'));
  });

  test('exabgp-bridge --help names its socket option', async () => {
    const r = await runLvsd(['exabgp-bridge', '--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^Usage: lvsd exabgp-bridge/);
    assert.match(r.stdout, /--socket PATH/);
  });

  test('check-config accepts the shipped examples and the demo', async () => {
    for (const dir of [repoRoot, join(repoRoot, 'examples', 'demo')]) {
      const r = await runLvsd(['check-config', '-c', dir]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /OK, \d+ services?/);
    }
  });

  test('probe --json reports each real (exit 0 even when one is down)', async () => {
    const dir = await tempConfig({
      'web.yaml': [
        'name: web',
        'address: 127.0.0.1:8',
        'forwarding: masq',
        'check: { type: tcp, interval: 1s, timeout: 500ms }',
        'reals:',
        `  - address: 127.0.0.1:${live.port}`,
        `  - address: 127.0.0.1:${deadPort}`,
        '',
      ].join('\n'),
    });
    dirs.push(dir);
    const r = await runLvsd(['probe', '--json', '-c', dir]);
    assert.equal(r.status, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as { service: string; real: string; up: boolean; reason: string; latency_ms: number }[];
    assert.deepEqual(
      rows.map((x) => [x.service, x.real, x.up]),
      [
        ['web', `127.0.0.1:${live.port}`, true],
        ['web', `127.0.0.1:${deadPort}`, false],
      ],
    );
    assert.match(rows[1]!.reason, /refused/);
    assert.ok(rows.every((x) => typeof x.latency_ms === 'number' && x.latency_ms >= 0));
  });

  test('plan prints the lines run would apply against the (fake) kernel and changes nothing', async () => {
    const dir = await tempConfig({
      'web.yaml': [
        'name: web',
        'address: 127.0.0.1:8',
        'forwarding: masq',
        'check: { type: tcp, interval: 1s, timeout: 500ms }',
        'reals:',
        `  - { address: "127.0.0.1:${live.port}", weight: 7 }`,
        `  - address: 127.0.0.1:${deadPort}`,
        '',
      ].join('\n'),
    });
    dirs.push(dir);
    const state = join(dir, 'ipvs-state');
    const foreign = '-A -t 192.0.2.9:443 -s rr\n';
    await writeFile(state, foreign);
    const env = { PATH: `${join(fixturesDir, 'bin')}:${process.env.PATH ?? ''}`, LVSD_FAKE_IPVS_STATE: state };
    const r = await runLvsd(['plan', '-c', dir], env);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['-A -t 127.0.0.1:8 -s wlc', `-a -t 127.0.0.1:8 -r 127.0.0.1:${live.port} -m -w 7`]);
    assert.equal(await readFile(state, 'utf8'), foreign, 'plan applies nothing');
  });
});
