// Fault suite, state dir: a regular file in its place, read-only, full (a small tmpfs), owned.json
// corrupt; and `lvsd plan` changing nothing on disk. Every case: the daemon runs, logs the problem
// with code LVSD_STATE_IO, converges, keeps foreign services byte-identical and stops cleanly.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configDir, eventually, runLvsd, startDaemon } from '../helpers/daemon-process.js';
import type { ConfigDir } from '../helpers/daemon-process.js';
import { FOREIGN, fakeIpvs } from '../helpers/faults.js';

const isRoot = process.getuid?.() === 0;
const SERVICE = 'name: web\naddress: 192.0.2.10:80\nforwarding: gate\ncheck: { type: none }\nreals:\n  - { address: "198.51.100.11:80", weight: 5 }\n';
const REAL_LINE = '-a -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 5';

async function tmpfs(at: string, options: string): Promise<void> {
  await mkdir(at, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', at]);
}

function umount(at: string): void {
  try {
    execFileSync('umount', [at]);
  } catch {
    // not mounted
  }
}

/** A config dir whose lvsd.yaml points state_dir at `stateDir`. */
async function configWithState(stateDir: string): Promise<ConfigDir> {
  const cfg = await configDir({ 'web.yaml': SERVICE });
  const file = join(cfg.dir, 'lvsd.yaml');
  await writeFile(file, (await readFile(file, 'utf8')).replace(/^state_dir: .*$/m, `state_dir: ${stateDir}`));
  return cfg;
}

/** Run the daemon with `stateDir`, expect it to converge and stop cleanly; returns its logs. */
async function runThrough(scratch: string, stateDir: string): Promise<Record<string, unknown>[]> {
  const ipvs = await fakeIpvs(await mkdtemp(join(scratch, 'ipvs-')), FOREIGN);
  const cfg = await configWithState(stateDir);
  const d = startDaemon(cfg.dir, [], ipvs.env);
  try {
    await eventually(async () => (ipvs.save().includes(REAL_LINE) ? true : undefined), 'service added');
    assert.ok(ipvs.save().startsWith(FOREIGN.split('\n')[0]!) || ipvs.save().includes(FOREIGN), ipvs.save());
    assert.equal(d.child.exitCode, null);
    assert.equal(await d.stop(), 0, d.stderr());
    // The record lived in memory: the clean stop still removed what this run created.
    assert.equal(ipvs.save(), FOREIGN);
    return d.logs;
  } finally {
    await d.stop();
    await cfg.remove();
  }
}

describe('fault suite: state dir', { timeout: 120_000 }, () => {
  let scratch: string;
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'lvsd-fault-state-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  test('regression: state_dir pointing at a regular file no longer stops start-up with a bare EEXIST', async () => {
    const stateDir = join(scratch, 'a-file');
    await writeFile(stateDir, 'not a directory\n');
    const logs = await runThrough(scratch, stateDir);
    const line = logs.find((l) => l.msg === 'state_dir unusable; the ownership record is kept in memory until it can be written');
    assert.ok(line, 'the problem is logged');
    assert.equal(line.level, 'error');
    assert.equal(line.code, 'LVSD_STATE_IO');
    assert.match(String(line.err), /is not a directory/);
    assert.equal(await readFile(stateDir, 'utf8'), 'not a directory\n', 'the file is left alone');
  });

  test('state_dir on a read-only file system: logged LVSD_STATE_IO, runs on with the record in memory', { skip: !isRoot && 'needs root (mount)' }, async () => {
    const stateDir = join(scratch, 'ro');
    await tmpfs(stateDir, 'ro,size=64k');
    try {
      const logs = await runThrough(scratch, stateDir);
      const line = logs.find((l) => l.code === 'LVSD_STATE_IO' && l.msg === 'state_dir unusable; the ownership record is kept in memory until it can be written');
      assert.ok(line, JSON.stringify(logs.filter((l) => l.code)));
      assert.match(String(line.err), /read-only file system/);
    } finally {
      umount(stateDir);
    }
  });

  test('lvsd drain whose admin.json cannot be written (disk full) fails with the reason and changes nothing (regression: ENOSPC was logged, the CLI said OK and the drain held in memory only; issue 18)', { skip: !isRoot && 'needs root (mount)' }, async () => {
    const stateDir = join(scratch, 'full-admin');
    await tmpfs(stateDir, 'size=64k');
    const ipvs = await fakeIpvs(await mkdtemp(join(scratch, 'ipvs-')), FOREIGN);
    const cfg = await configWithState(stateDir);
    const d = startDaemon(cfg.dir, [], ipvs.env);
    try {
      await eventually(async () => (ipvs.save().includes(REAL_LINE) ? true : undefined), 'service added');
      for (let i = 0; ; i++) {
        try {
          await writeFile(join(stateDir, `filler-${i}`), Buffer.alloc(4096, 1));
        } catch (err) {
          assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
          break;
        }
      }
      const r = await runLvsd(['drain', '-c', cfg.dir, 'web'], ipvs.env);
      assert.equal(r.status, 1, r.stdout);
      assert.match(r.stderr, /cannot save the admin state \(.*(ENOSPC|no space).*\); nothing was changed \[LVSD_STATE_IO\]/i);
      const list = await runLvsd(['admin', '-c', cfg.dir, '--json'], ipvs.env);
      assert.equal(list.status, 0, list.stderr);
      assert.deepEqual((JSON.parse(list.stdout) as { entries: unknown[] }).entries, []);
      assert.ok(ipvs.save().includes(REAL_LINE), 'the real keeps its weight');
      // Room again: the same command is applied and saved.
      for (const f of await readdir(stateDir)) if (f.startsWith('filler-')) await rm(join(stateDir, f));
      const ok = await runLvsd(['drain', '-c', cfg.dir, 'web'], ipvs.env);
      assert.equal(ok.status, 0, ok.stderr);
      assert.match(await readFile(join(stateDir, 'admin.json'), 'utf8'), /"state": "drain"/);
    } finally {
      await d.stop();
      await cfg.remove();
      umount(stateDir);
    }
  });

  test('state_dir full: the failed write is logged LVSD_STATE_IO, no temporary file is left, the daemon converges', { skip: !isRoot && 'needs root (mount)' }, async () => {
    const stateDir = join(scratch, 'full');
    await tmpfs(stateDir, 'size=64k');
    try {
      // Fill it up.
      for (let i = 0; ; i++) {
        try {
          await writeFile(join(stateDir, `filler-${i}`), Buffer.alloc(4096, 1));
        } catch (err) {
          assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
          break;
        }
      }
      const logs = await runThrough(scratch, stateDir);
      const line = logs.find((l) => l.code === 'LVSD_STATE_IO' && l.msg === 'cannot save ownership record');
      assert.ok(line, JSON.stringify(logs.filter((l) => l.code)));
      assert.match(String(line.err), /ENOSPC|no space/i);
      assert.deepEqual((await readdir(stateDir)).filter((f) => !f.startsWith('filler-')), [], 'no temporary or partial file');
    } finally {
      umount(stateDir);
    }
  });

  test('owned.json corrupt: logged LVSD_STATE_IO, moved aside, a good record written', async () => {
    const stateDir = join(scratch, 'corrupt');
    await mkdir(stateDir);
    await writeFile(join(stateDir, 'owned.json'), '{"version":1,"services":["tcp:1');
    const logs = await runThrough(scratch, stateDir);
    const line = logs.find((l) => l.code === 'LVSD_STATE_IO');
    assert.ok(line);
    assert.equal(line.msg, 'ownership record unusable; starting with no previously created services');
    const aside = (await readdir(stateDir)).filter((f) => f.startsWith('owned.json.corrupt-'));
    assert.equal(aside.length, 1, 'moved aside as owned.json.corrupt-TIME');
    assert.equal(await readFile(join(stateDir, aside[0]!), 'utf8'), '{"version":1,"services":["tcp:1');
    assert.deepEqual(JSON.parse(await readFile(join(stateDir, 'owned.json'), 'utf8')), { version: 1, services: [] });
  });

  test('regression: lvsd plan no longer renames a corrupt owned.json aside (changes nothing on disk)', async () => {
    const stateDir = join(scratch, 'plan');
    await mkdir(stateDir);
    await writeFile(join(stateDir, 'owned.json'), 'garbage');
    const ipvs = await fakeIpvs(await mkdtemp(join(scratch, 'ipvs-')), FOREIGN);
    const cfg = await configWithState(stateDir);
    try {
      const r = await runLvsd(['plan', '-c', cfg.dir], ipvs.env);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /-A -t 192\.0\.2\.10:80 -s wlc/);
      assert.match(r.stderr, /LVSD_STATE_IO/);
      assert.deepEqual(await readdir(stateDir), ['owned.json']);
      assert.equal(await readFile(join(stateDir, 'owned.json'), 'utf8'), 'garbage');
      assert.equal(ipvs.save(), FOREIGN);
    } finally {
      await cfg.remove();
    }
  });
});
