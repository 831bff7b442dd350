// `lvsd run` as a child process with the fake ipvsadm on PATH: first results before any change,
// one `ipvsadm -R` per pass, reload by editing files, invalid reload kept out, foreign services untouched, stop.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturesDir } from '../helpers/paths.js';
import { configDir, eventually, freePort, startDaemon, tcpListener } from '../helpers/daemon-process.js';
import type { ConfigDir } from '../helpers/daemon-process.js';

const FOREIGN = '-A -u 192.0.2.200:53 -s rr\n-a -u 192.0.2.200:53 -r 198.51.100.7:53 -g -w 3\n';

interface FakeIpvs {
  readonly env: NodeJS.ProcessEnv;
  save(): string;
  /** Every ipvsadm run so far: argv and stdin. */
  runs(): Promise<{ argv: string[]; stdin: string | null }[]>;
}

async function fakeIpvs(dir: string, seed: string): Promise<FakeIpvs> {
  const state = join(dir, 'ipvs-state');
  const log = join(dir, 'ipvs-log');
  await writeFile(state, seed);
  const env = {
    PATH: `${join(fixturesDir, 'bin')}:${process.env.PATH ?? ''}`,
    LVSD_FAKE_IPVS_STATE: state,
    LVSD_FAKE_IPVS_LOG: log,
  };
  return {
    env,
    save() {
      const r = spawnSync(join(fixturesDir, 'bin', 'ipvsadm'), ['-Sn'], { env: { ...process.env, ...env }, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    },
    async runs() {
      const text = await readFile(log, 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { argv: string[]; stdin: string | null });
    },
  };
}

function webService(vipPort: number, reals: readonly { port: number; weight: number }[]): string {
  return [
    'name: web',
    `address: 127.0.0.1:${vipPort}`,
    'forwarding: masq',
    'check: { type: tcp, interval: 300ms, timeout: 200ms, rise: 1, fall: 1 }',
    'reals:',
    ...reals.map((r) => `  - { address: "127.0.0.1:${r.port}", weight: ${r.weight} }`),
    '',
  ].join('\n');
}

describe('daemon against the fake ipvsadm', () => {
  let live: { port: number; close(): Promise<void> };
  let deadPort: number;
  let vipPort: number;
  let cfg: ConfigDir;
  let scratch: string;
  let ipvs: FakeIpvs;

  before(async () => {
    live = await tcpListener();
    deadPort = await freePort();
    vipPort = await freePort();
    scratch = await mkdtemp(join(tmpdir(), 'lvsd-daemon-'));
    ipvs = await fakeIpvs(scratch, FOREIGN);
    cfg = await configDir({
      'web.yaml': webService(vipPort, [
        { port: live.port, weight: 5 },
        { port: deadPort, weight: 5 },
      ]),
    });
  });

  after(async () => {
    await live.close();
    await cfg.remove();
    await rm(scratch, { recursive: true, force: true });
  });

  test('converges, reloads, rejects an invalid config, leaves the foreign service alone, stops cleanly', async () => {
    const daemon = startDaemon(cfg.dir, [], ipvs.env);
    try {
      const liveReal = `127.0.0.1:${live.port}`;
      const deadReal = `127.0.0.1:${deadPort}`;
      const vip = `127.0.0.1:${vipPort}`;

      await daemon.waitForLog((l) => l.event === 'first_round', 'first round');
      await eventually(async () => (ipvs.save().includes(`-a -t ${vip} -r ${liveReal} -m -w 5`) ? true : undefined), 'live real in the table');
      let table = ipvs.save();
      assert.ok(table.includes(`-A -t ${vip} -s wlc`), table);
      assert.ok(!table.includes(deadReal), `the dead real must never be added:\n${table}`);
      assert.ok(table.startsWith(FOREIGN.split('\n')[0]!) || table.includes(FOREIGN.trim()), `foreign service kept:\n${table}`);

      // Every change went through one `ipvsadm -R`; none ever mentioned the dead real.
      const restores = (await ipvs.runs()).filter((r) => r.argv[0] === '-R');
      assert.ok(restores.length >= 1);
      assert.ok(restores.every((r) => !(r.stdin ?? '').includes(deadReal)));
      assert.ok(restores.every((r) => !/^-C|--clear/m.test(r.stdin ?? '')));

      // A weight change in the file becomes one edit, not a delete and add.
      const before = (await ipvs.runs()).length;
      await writeFile(join(cfg.dir, 'conf.d', 'web.yaml'), webService(vipPort, [{ port: live.port, weight: 9 }, { port: deadPort, weight: 5 }]));
      await eventually(async () => (ipvs.save().includes(`-r ${liveReal} -m -w 9`) ? true : undefined), 'weight 9 applied');
      const applied = (await ipvs.runs()).slice(before).filter((r) => r.argv[0] === '-R').map((r) => r.stdin ?? '').join('');
      assert.match(applied, new RegExp(`^-e -t ${vip} -r ${liveReal} -m -w 9`, 'm'));
      assert.doesNotMatch(applied, /^-[dDaA] /m);

      // An invalid config is rejected whole: logged with file:line, the table stays as it is.
      table = ipvs.save();
      const runsBefore = (await ipvs.runs()).filter((r) => r.argv[0] === '-R').length;
      await writeFile(join(cfg.dir, 'conf.d', 'web.yaml'), `${webService(vipPort, [{ port: live.port, weight: 1 }])}bogus_key: 1\n`);
      const rejected = await daemon.waitForLog((l) => l.code === 'LVSD_CONFIG_INVALID' && typeof l.line === 'number', 'config issue logged');
      assert.match(String(rejected.file), /web\.yaml$/);
      assert.ok((rejected.line as number) > 0);
      await daemon.waitForLog((l) => String(l.msg).startsWith('configuration rejected'), 'rejection summary');
      // A resync or trigger may read the table, but nothing is applied and nothing changes.
      assert.equal(ipvs.save(), table);
      assert.equal((await ipvs.runs()).filter((r) => r.argv[0] === '-R').length, runsBefore);

      // Fixing the file is picked up; SIGHUP reloads too (unchanged content: a no-op, still answered).
      await writeFile(join(cfg.dir, 'conf.d', 'web.yaml'), webService(vipPort, [{ port: live.port, weight: 2 }]));
      await eventually(async () => (ipvs.save().includes(`-r ${liveReal} -m -w 2`) ? true : undefined), 'fixed config applied');
      daemon.child.kill('SIGHUP');
      await daemon.waitForLog((l) => l.reason === 'SIGHUP', 'SIGHUP reload logged');

      const code = await daemon.stop();
      assert.equal(code, 0, daemon.stderr());
      assert.equal(ipvs.save(), FOREIGN, 'clean stop removes the managed service and only it');
      const owned = JSON.parse(await readFile(join(cfg.stateDir, 'owned.json'), 'utf8')) as unknown;
      assert.ok(!JSON.stringify(owned).includes(vip), 'ownership record forgets the removed service');
    } finally {
      await daemon.stop();
    }
  });

  test('clean_stop: false leaves the table as it is', async () => {
    const dir = await configDir({ 'web.yaml': webService(vipPort, [{ port: live.port, weight: 4 }]) }, 'clean_stop: false\n');
    const state = await fakeIpvs(await mkdtemp(join(scratch, 'keep-')), '');
    const daemon = startDaemon(dir.dir, [], state.env);
    try {
      await eventually(async () => (state.save().includes(`-r 127.0.0.1:${live.port} -m -w 4`) ? true : undefined), 'real added');
      const table = state.save();
      assert.equal(await daemon.stop(), 0);
      assert.equal(state.save(), table);
    } finally {
      await daemon.stop();
      await dir.remove();
    }
  });

  test('SIGUSR2 stops without removing anything, even with clean_stop: true (upgrades)', async () => {
    const dir = await configDir({ 'web.yaml': webService(vipPort, [{ port: live.port, weight: 6 }]) });
    const state = await fakeIpvs(await mkdtemp(join(scratch, 'usr2-')), '');
    const daemon = startDaemon(dir.dir, [], state.env);
    try {
      await eventually(async () => (state.save().includes(`-r 127.0.0.1:${live.port} -m -w 6`) ? true : undefined), 'real added');
      const table = state.save();
      daemon.child.kill('SIGUSR2');
      assert.equal(await daemon.exited, 0, daemon.stderr());
      assert.equal(state.save(), table);
      const deletes = (await state.runs()).filter((r) => r.argv[0] === '-R' && /^-D /m.test(r.stdin ?? ''));
      assert.deepEqual(deletes, []);
    } finally {
      await daemon.stop();
      await dir.remove();
    }
  });

  test('a missing ipvsadm is a clear error and a retry loop, not a crash', async () => {
    const dir = await configDir({ 'web.yaml': webService(vipPort, [{ port: live.port, weight: 1 }]) }, 'ipvsadm: /nonexistent/ipvsadm\n');
    const daemon = startDaemon(dir.dir);
    try {
      const line = await daemon.waitForLog((l) => l.msg === 'ipvsadm is not usable; will keep retrying', 'start-up error');
      assert.equal(line.code, 'LVSD_IPVSADM_MISSING');
      assert.match(String(line.err), /\/nonexistent\/ipvsadm/);
      // It goes on checking: a health transition still arrives, and the process is still alive.
      await daemon.waitForLog((l) => l.event === 'health_transition', 'checks keep running');
      assert.equal(daemon.child.exitCode, null);
    } finally {
      await daemon.stop();
      await dir.remove();
    }
  });
});
