// The ownership record: atomic replace, reload, missing file, corrupt file (coded error, moved aside).

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LvsdError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { OWNED_FILE, Ownership, readOwnedFile, writeOwnedFile } from '../../src/reconcile/ownership.js';
import { captureLog } from '../helpers/log-capture.js';

describe('ownership record', () => {
  let root: string;
  let n = 0;
  const freshDir = async (): Promise<string> => {
    const dir = join(root, `case-${++n}`);
    await mkdir(dir);
    return dir;
  };
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'lvsd-owned-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('a missing file is an empty set', async () => {
    const dir = await freshDir();
    assert.deepEqual(await readOwnedFile(join(dir, OWNED_FILE)), new Set());
    const { logger, lines } = captureLog();
    const o = await Ownership.load(dir, logger);
    assert.equal(o.keys().size, 0);
    assert.equal(lines.length, 0, 'first start is not an error');
  });

  it('saves sorted JSON and loads it back', async () => {
    const dir = await freshDir();
    const o = await Ownership.load(dir, createLogger('silent'));
    await o.save(['udp:192.0.2.53:53', 'fwmark:1:v4', 'tcp:[2001:db8::1]:80']);
    const json = JSON.parse(await readFile(join(dir, OWNED_FILE), 'utf8')) as unknown;
    assert.deepEqual(json, { version: 1, services: ['fwmark:1:v4', 'tcp:[2001:db8::1]:80', 'udp:192.0.2.53:53'] });
    const again = await Ownership.load(dir, createLogger('silent'));
    assert.deepEqual(again.keys(), new Set(['fwmark:1:v4', 'tcp:[2001:db8::1]:80', 'udp:192.0.2.53:53']));
  });

  it('creates the state directory when it does not exist', async () => {
    const dir = join(await freshDir(), 'var', 'lib', 'lvsd');
    const o = await Ownership.load(dir, createLogger('silent'));
    await o.save(['tcp:192.0.2.10:80']);
    assert.deepEqual(await readOwnedFile(join(dir, OWNED_FILE)), new Set(['tcp:192.0.2.10:80']));
  });

  it('replaces the file by rename (a new inode), leaving no temporary file behind', async () => {
    const dir = await freshDir();
    const file = join(dir, OWNED_FILE);
    await writeOwnedFile(file, dir, ['tcp:192.0.2.10:80']);
    const first = await stat(file);
    await writeOwnedFile(file, dir, ['tcp:192.0.2.11:80']);
    const second = await stat(file);
    assert.notEqual(second.ino, first.ino, 'written in place would keep the inode');
    assert.deepEqual(await readdir(dir), [OWNED_FILE]);
    assert.deepEqual(await readOwnedFile(file), new Set(['tcp:192.0.2.11:80']));
  });

  it('does not rewrite an unchanged set', async () => {
    const dir = await freshDir();
    const o = await Ownership.load(dir, createLogger('silent'));
    await o.save(['tcp:192.0.2.10:80']);
    const first = await stat(join(dir, OWNED_FILE));
    await o.save(['tcp:192.0.2.10:80']);
    assert.equal((await stat(join(dir, OWNED_FILE))).ino, first.ino);
  });

  for (const [name, body] of [
    ['not JSON', '{"version":1,"services":["tcp:1'],
    ['wrong shape', '{"version":1,"services":"tcp:192.0.2.10:80"}'],
    ['unknown version', '{"version":2,"services":[]}'],
    ['null', 'null'],
  ] as const) {
    it(`a corrupt file (${name}) is LVSD_STATE_IO for the reader`, async () => {
      const dir = await freshDir();
      await writeFile(join(dir, OWNED_FILE), body);
      await assert.rejects(readOwnedFile(join(dir, OWNED_FILE)), (err: unknown) => {
        assert.ok(err instanceof LvsdError);
        assert.equal(err.code, 'LVSD_STATE_IO');
        assert.match(err.message, /owned\.json/);
        return true;
      });
    });
  }

  it('load of a corrupt file logs LVSD_STATE_IO, moves it aside and starts empty', async () => {
    const dir = await freshDir();
    await writeFile(join(dir, OWNED_FILE), 'garbage');
    const { logger, lines } = captureLog();
    const o = await Ownership.load(dir, logger);
    assert.equal(o.keys().size, 0);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.level, 'error');
    assert.equal(lines[0]?.code, 'LVSD_STATE_IO');
    const aside = (await readdir(dir)).filter((f) => f.startsWith(`${OWNED_FILE}.corrupt-`));
    assert.equal(aside.length, 1, 'moved aside as owned.json.corrupt-TIME');
    assert.equal(await readFile(join(dir, aside[0]!), 'utf8'), 'garbage');
    assert.equal(lines[0]?.movedTo, join(dir, aside[0]!));
    // The next save writes a good record even though the (empty) set did not change.
    await o.save([]);
    assert.deepEqual(await readOwnedFile(join(dir, OWNED_FILE)), new Set());
  });

  it('a failed write throws LVSD_STATE_IO, keeps the in-memory set and is retried on the next save', async () => {
    const dir = await freshDir();
    const stateDir = join(dir, 'state');
    await writeFile(stateDir, 'a file where the directory should be');
    const o = await Ownership.load(stateDir, createLogger('silent'));
    await assert.rejects(o.save(['tcp:192.0.2.10:80']), { code: 'LVSD_STATE_IO' });
    assert.deepEqual(o.keys(), new Set(['tcp:192.0.2.10:80']));
    await rm(stateDir);
    await o.save(['tcp:192.0.2.10:80']);
    assert.deepEqual(await readOwnedFile(join(stateDir, OWNED_FILE)), new Set(['tcp:192.0.2.10:80']));
  });

  it('regression: state_dir that is a regular file no longer stops start-up with a bare EEXIST: logged LVSD_STATE_IO, record in memory', async () => {
    const stateDir = join(await freshDir(), 'state');
    await writeFile(stateDir, 'not a directory');
    const { logger, lines } = captureLog();
    const o = await Ownership.load(stateDir, logger);
    assert.equal(o.keys().size, 0);
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.equal(lines[0]?.level, 'error');
    assert.equal(lines[0]?.code, 'LVSD_STATE_IO');
    assert.match(String(lines[0]?.err), /exists and is not a directory/);
    // The file is left as it was: lvsd does not delete what it did not write.
    assert.equal(await readFile(stateDir, 'utf8'), 'not a directory');
  });

  it('regression: a read-only load (lvsd plan) leaves a corrupt owned.json where it is', async () => {
    const dir = await freshDir();
    await writeFile(join(dir, OWNED_FILE), 'garbage');
    const { logger, lines } = captureLog();
    const o = await Ownership.load(dir, logger, { readOnly: true });
    assert.equal(o.keys().size, 0);
    assert.equal(lines[0]?.level, 'warn');
    assert.equal(lines[0]?.code, 'LVSD_STATE_IO');
    assert.deepEqual(await readdir(dir), [OWNED_FILE]);
    assert.equal(await readFile(join(dir, OWNED_FILE), 'utf8'), 'garbage');
    // And it never writes either.
    await o.save(['tcp:192.0.2.10:80']);
    assert.equal(await readFile(join(dir, OWNED_FILE), 'utf8'), 'garbage');
  });

  it('a read-only load creates no directory', async () => {
    const stateDir = join(await freshDir(), 'missing');
    const o = await Ownership.load(stateDir, createLogger('silent'), { readOnly: true });
    assert.equal(o.keys().size, 0);
    await assert.rejects(stat(stateDir), { code: 'ENOENT' });
  });

  it('an in-memory record never touches the disk', async () => {
    const o = Ownership.inMemory(['tcp:192.0.2.10:80']);
    await o.save(['tcp:192.0.2.11:80']);
    assert.deepEqual(o.keys(), new Set(['tcp:192.0.2.11:80']));
  });
});
