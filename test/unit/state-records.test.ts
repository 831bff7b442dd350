// State records read as input (issue 18): admin.json and sync-daemon.json are checked with ranges
// (a time a Date can hold, known roles, IP addresses, bounded text), a file that is not a regular
// file or is too large is unusable, and the sync daemon keeper's safe default for an unusable
// record is lvsd.yaml's role with the record moved aside (NAME.corrupt-TIME).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAdminFile } from '../../src/control/admin-file.js';
import { readSyncDaemonFile } from '../../src/sync-daemon/record.js';
import { SyncDaemonKeeper } from '../../src/sync-daemon/keeper.js';
import { MemoryDaemons } from '../../src/sync-daemon/ipvsadm.js';
import type { SyncDaemonRunner } from '../../src/sync-daemon/ipvsadm.js';
import { MAX_DATE_MS, STATE_FILE_MAX_BYTES, StateRecordError, corruptName, setAsideUnusable } from '../../src/json-state-file.js';
import { captureLog } from '../helpers/log-capture.js';

const entry = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  target: { kind: 'real', service: 'web', real: { host: '10.0.0.11', family: 4, port: 80 } },
  state: 'drain',
  by: 'socket uid 0 (root)',
  since: 1_765_000_000_000,
  ...over,
});
const runtime = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ role: 'master', by: 'socket uid 0 (root)', since: 1_765_000_000_000, ...over });

describe('state records as input', () => {
  let root: string;
  let n = 0;
  const file = async (name: string, body: string): Promise<string> => {
    const dir = join(root, `case-${++n}`);
    await mkdir(dir);
    const path = join(dir, name);
    await writeFile(path, body);
    return path;
  };
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'lvsd-records-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const badAdmin: readonly [string, unknown, RegExp][] = [
    ['since 1e300 (issue 18: /status 500 "Invalid time value")', entry({ since: 1e300 }), /entries\[0\]\.since/],
    ['since past what a Date holds', entry({ since: MAX_DATE_MS + 1 }), /entries\[0\]\.since/],
    ['since negative', entry({ since: -1 }), /entries\[0\]\.since/],
    ['since not an integer', entry({ since: 1.5 }), /entries\[0\]\.since/],
    ['since a string', entry({ since: '2026-12-06' }), /entries\[0\]\.since/],
    ['a host that is no IP address', entry({ target: { kind: 'host', real: { host: 'web01', family: 4, port: null } } }), /entries\[0\]\.target\.real\.host/],
    ['a host of the other family', entry({ target: { kind: 'host', real: { host: '2001:db8::1', family: 4, port: null } } }), /host/],
    ['an unknown state', entry({ state: 'down' }), /entries\[0\]\.state/],
    ['a 2,000-character by', entry({ by: 'x'.repeat(2000) }), /entries\[0\]\.by/],
    ['an unknown key', entry({ extra: 1 }), /entries\[0\]/],
  ];
  for (const [name, e, field] of badAdmin) {
    it(`admin.json refused: ${name}, naming the field`, async () => {
      const path = await file('admin.json', JSON.stringify({ version: 1, entries: [e] }));
      await assert.rejects(readAdminFile(path), (err: unknown) => {
        assert.ok(err instanceof StateRecordError);
        assert.equal(err.code, 'LVSD_STATE_IO');
        assert.equal(err.corrupt, true);
        assert.match(err.message, /admin\.json is not an lvsd admin record/);
        assert.match(err.message, field);
        return true;
      });
    });
  }

  it('admin.json at the edges of the ranges is read', async () => {
    const path = await file('admin.json', JSON.stringify({ version: 1, entries: [entry({ since: 0 }), entry({ since: MAX_DATE_MS, target: { kind: 'host', real: { host: '2001:db8::1', family: 6, port: null } } })] }));
    const entries = await readAdminFile(path);
    assert.deepEqual(entries.map((e) => new Date(e.since).toISOString()), ['1970-01-01T00:00:00.000Z', '+275760-09-13T00:00:00.000Z']);
  });

  const badSync: readonly [string, unknown, RegExp][] = [
    ['since -1e20 (issue 18: the master daemon started against lvsd.yaml)', { version: 1, runtime: runtime({ since: -1e20 }), started: ['master'] }, /runtime\.since/],
    ['an unknown role', { version: 1, runtime: runtime({ role: 'primary' }), started: [] }, /runtime\.role/],
    ['an unknown started daemon', { version: 1, runtime: null, started: ['slave'] }, /started\[0\]/],
    ['more started daemons than there are', { version: 1, runtime: null, started: ['master', 'backup', 'master'] }, /started/],
    ['another version', { version: 2, runtime: null, started: [] }, /version/],
  ];
  for (const [name, record, field] of badSync) {
    it(`sync-daemon.json refused: ${name}, naming the field`, async () => {
      const path = await file('sync-daemon.json', JSON.stringify(record));
      await assert.rejects(readSyncDaemonFile(path), (err: unknown) => err instanceof StateRecordError && err.corrupt && field.test(err.message));
    });
  }

  it('a directory, a FIFO or a file over the size limit in place of a record is unusable (corrupt), never read or waited on', async () => {
    const dirPath = join(root, `case-${++n}`, 'admin.json');
    await mkdir(dirPath, { recursive: true });
    await assert.rejects(readAdminFile(dirPath), (err: unknown) => err instanceof StateRecordError && err.corrupt && /not a regular file/.test(err.message));
    const fifo = join(root, `case-${++n}`);
    await mkdir(fifo);
    execFileSync('mkfifo', [join(fifo, 'admin.json')]);
    await assert.rejects(readAdminFile(join(fifo, 'admin.json')), (err: unknown) => err instanceof StateRecordError && err.corrupt && /not a regular file/.test(err.message));
    const big = await file('admin.json', '');
    await truncate(big, STATE_FILE_MAX_BYTES + 1);
    await assert.rejects(readAdminFile(big), (err: unknown) => err instanceof StateRecordError && err.corrupt && /too large/.test(err.message));
  });

  it('setAsideUnusable renames a corrupt record to NAME.corrupt-TIME and leaves other errors in place', async () => {
    const path = await file('admin.json', 'garbage');
    const at = Date.UTC(2026, 11, 6, 13, 15, 0, 123);
    assert.equal(corruptName(path, at), `${path}.corrupt-20261206T131500123Z`);
    assert.equal(await setAsideUnusable(path, new StateRecordError('unreadable', false), at), null);
    assert.equal(await readFile(path, 'utf8'), 'garbage');
    assert.equal(await setAsideUnusable(path, new StateRecordError('not JSON', true), at), `${path}.corrupt-20261206T131500123Z`);
    assert.equal(await readFile(`${path}.corrupt-20261206T131500123Z`, 'utf8'), 'garbage');
  });

  it('regression: the sync daemon keeper no longer takes the role of a record it logged as unusable: lvsd.yaml\'s role, record moved aside, one line', async () => {
    const body = JSON.stringify({ version: 1, runtime: runtime({ since: -1e20 }), started: ['master'] });
    const path = await file('sync-daemon.json', body);
    const mem = new MemoryDaemons([]);
    const runner: SyncDaemonRunner = {
      daemons: async () => mem.list(),
      startDaemon: async (state, spec) => void mem.exec({ cmd: 'start', state, spec }),
      stopDaemon: async (state) => void mem.exec({ cmd: 'stop', state }),
    };
    const { logger, lines } = captureLog();
    const keeper = new SyncDaemonKeeper({ runner, logger, file: path, now: () => 1_765_000_000_000 });
    await keeper.load();
    keeper.setConfig({ role: 'backup', interface: 'eth1', syncid: 10, maxlen: null, group: null, port: null, ttl: null, pos: { file: 'lvsd.yaml', line: 1, col: 1 } }, 30_000);
    assert.deepEqual(keeper.role(), { role: 'backup', source: 'config' });
    await keeper.start();
    assert.deepEqual([...mem.list().keys()], ['backup']);
    assert.equal(keeper.status().runtime, null, 'status formats without throwing');
    assert.equal(lines.filter((l) => l.code === 'LVSD_STATE_IO').length, 1);
    const dir = join(path, '..');
    const aside = (await readdir(dir)).filter((f) => f.startsWith('sync-daemon.json.corrupt-'));
    assert.equal(aside.length, 1);
    assert.equal(await readFile(join(dir, aside[0]!), 'utf8'), body);
    await keeper.stop();
  });
});
