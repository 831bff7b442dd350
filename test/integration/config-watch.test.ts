// Keep-last-good reloads against a real directory and a running watcher: edits, invalid edits,
// deletions, editors' atomic saves, no-op saves, and reload() as SIGHUP uses it.

import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log.js';
import { formatIssue, loadConfig } from '../../src/config/load.js';
import type { Snapshot } from '../../src/config/model.js';
import type { ConfigIssue } from '../../src/config/issues.js';
import type { ReloadOutcome } from '../../src/config/watch.js';
import { ConfigWatcher, IN_PROCESS_MAX_BYTES } from '../../src/config/watch.js';

/** Generous: a slow CI machine must not fail a test that has no timing to prove. */
const WAIT_MS = 20_000;

const web = (vip: string): string => `address: ${vip}\nreals:\n  - address: 10.0.0.1:80\n`;

interface Harness {
  dir: string;
  watcher: ConfigWatcher;
  logs: Record<string, unknown>[];
  snapshots: Snapshot[];
  invalids: (readonly ConfigIssue[])[];
  reloads: ReloadOutcome[];
  /** Resolves with the first event (recorded from now on) that satisfies `pred`. */
  waitFor<T>(what: string, pick: () => T | undefined): Promise<T>;
}

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function start(files: Record<string, string>, debounceMs = 50): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'lvsd-watch-'));
  await mkdir(join(dir, 'conf.d'));
  for (const [rel, text] of Object.entries(files)) await writeFile(join(dir, rel), text);
  const r = await loadConfig(dir);
  if (!r.ok) assert.fail(r.issues.map(formatIssue).join('\n'));

  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const watcher = new ConfigWatcher({ configDir: dir, logger: createLogger('debug', sink), initial: r.snapshot, debounceMs });
  const h: Harness = {
    dir,
    watcher,
    logs,
    snapshots: [],
    invalids: [],
    reloads: [],
    waitFor: (what, pick) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          watcher.off('reloaded', check);
          reject(new Error(`timed out waiting for ${what}`));
        }, WAIT_MS);
        function check(): void {
          const v = pick();
          if (v === undefined) return;
          clearTimeout(timer);
          watcher.off('reloaded', check);
          resolve(v);
        }
        // 'reloaded' follows every 'snapshot' and 'invalid', so re-checking on it sees them all.
        watcher.on('reloaded', check);
        check();
      }),
  };
  watcher.on('snapshot', (s) => h.snapshots.push(s));
  watcher.on('invalid', (i) => h.invalids.push(i));
  watcher.on('reloaded', (o) => h.reloads.push(o));
  await watcher.start();
  cleanups.push(async () => {
    await watcher.close();
    await rm(dir, { recursive: true, force: true });
  });
  return h;
}

const names = (s: Snapshot): string[] => s.services.map((x) => x.name);

/**
 * Make a distinct valid change and wait for its snapshot: everything the earlier change caused has
 * been seen by then, so counting events before the marker counts them exactly.
 */
async function barrier(h: Harness): Promise<number> {
  const before = h.snapshots.length;
  // Written atomically: a reload that read the marker half-written would be one more snapshot.
  const tmp = join(h.dir, 'conf.d', `.zz-marker.tmp${before}`);
  await writeFile(tmp, web(`192.0.2.${200 + before}:80`));
  await rename(tmp, join(h.dir, 'conf.d', 'zz-marker.yaml'));
  await h.waitFor('the marker snapshot', () => h.snapshots.find((s) => names(s).includes('zz-marker') && s === h.watcher.current));
  return h.snapshots.length - 1;
}

describe('ConfigWatcher', () => {
  it('a valid change gives exactly one new snapshot', async () => {
    const h = await start({ 'conf.d/a.yaml': web('192.0.2.1:80') });
    const initial = h.watcher.current;
    await writeFile(join(h.dir, 'conf.d/a.yaml'), web('192.0.2.2:80'));
    const s = await h.waitFor('a snapshot', () => h.snapshots[0]);
    assert.equal(s.services[0]!.key, 'tcp:192.0.2.2:80');
    assert.notEqual(s.hash, initial.hash);
    assert.equal(h.watcher.current, s);
    assert.equal(h.watcher.lastReload.ok, true);
    assert.equal(h.watcher.lastReload.changed, true);
    assert.equal(await barrier(h), 1);
  });

  it('an invalid change keeps the running snapshot and logs every issue with file, line and col', async () => {
    const h = await start({ 'conf.d/a.yaml': web('192.0.2.1:80') });
    const initial = h.watcher.current;
    await writeFile(join(h.dir, 'conf.d/a.yaml'), 'address: 192.0.2.1:80\nreals:\n  - address: 10.0.0.1:80\n    wieght: 3\n  - address: 10.0.0.300:80\n');
    const issues = await h.waitFor('an invalid outcome', () => h.invalids[0]);
    assert.deepEqual(issues.map((i) => [i.line, i.col]), [[4, 5], [5, 14]]);
    assert.equal(h.watcher.current, initial);
    assert.equal(h.snapshots.length, 0);
    const outcome = h.watcher.lastReload;
    assert.deepEqual([outcome.ok, outcome.changed, outcome.issues.length], [false, false, 2]);

    const file = join(h.dir, 'conf.d/a.yaml');
    // Same shape as at start: level error, FILE:LINE:COL: in msg, code/file/line/col fields.
    const perIssue = h.logs.filter((l) => l.level === 'error' && l.code === 'LVSD_CONFIG_INVALID' && typeof l.line === 'number');
    assert.deepEqual(perIssue.map((l) => [l.file, l.line, l.col]), [[file, 4, 5], [file, 5, 14]]);
    assert.match(String(perIssue[0]!.msg), new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:5: .*unknown key "wieght"`));
    const summary = h.logs.filter((l) => l.level === 'error' && l.code === 'LVSD_CONFIG_INVALID' && typeof l.issues === 'number');
    assert.equal(summary.length, 1);
    assert.equal(summary[0]!.issues, 2);

    // Fixing the file brings the new config in.
    await writeFile(join(h.dir, 'conf.d/a.yaml'), web('192.0.2.3:80'));
    const s = await h.waitFor('a snapshot after the fix', () => h.snapshots[0]);
    assert.equal(s.services[0]!.key, 'tcp:192.0.2.3:80');
    assert.equal(h.watcher.lastReload.ok, true);
  });

  it('a new file adds its services; deleting a file removes them', async () => {
    const h = await start({ 'conf.d/a.yaml': web('192.0.2.1:80') });
    await writeFile(join(h.dir, 'conf.d/b.yaml'), web('192.0.2.2:80'));
    await h.waitFor('b added', () => h.snapshots.find((s) => names(s).join() === 'a,b'));
    await unlink(join(h.dir, 'conf.d/a.yaml'));
    const s = await h.waitFor('a removed', () => h.snapshots.find((x) => names(x).join() === 'b'));
    assert.equal(h.watcher.current, s);
  });

  it('an editor\'s atomic save (write a temp file, rename it over) is picked up exactly once', async () => {
    const h = await start({ 'conf.d/a.yaml': web('192.0.2.1:80') });
    const tmp = join(h.dir, 'conf.d', '.a.yaml.tmp-1234');
    await writeFile(tmp, web('192.0.2.9:80'));
    await rename(tmp, join(h.dir, 'conf.d/a.yaml'));
    const s = await h.waitFor('the saved snapshot', () => h.snapshots[0]);
    assert.equal(s.services[0]!.key, 'tcp:192.0.2.9:80');
    assert.equal(await barrier(h), 1);
    // No snapshot ever lacked the service (no moment without the file was seen).
    assert.ok(h.snapshots.every((x) => names(x).includes('a')));
  });

  it('saving unchanged content or touching an ignored file emits no snapshot', async () => {
    const h = await start({ 'conf.d/a.yaml': web('192.0.2.1:80') });
    const initial = h.watcher.current;
    await writeFile(join(h.dir, 'conf.d/a.yaml'), web('192.0.2.1:80'));
    const outcome = await h.waitFor('a reload', () => h.reloads[0]);
    assert.deepEqual([outcome.ok, outcome.changed], [true, false]);
    assert.equal(h.watcher.current, initial);
    await writeFile(join(h.dir, 'conf.d/a.yaml.bak'), 'not: [valid');
    assert.equal(await barrier(h), 0);
  });

  it('a reload changing more than it parses in place loads in a loader thread; later reloads reuse its parse', async () => {
    const h = await start({ 'conf.d/a.yaml': web('192.0.2.1:80'), 'conf.d/b.yaml': web('192.0.2.2:80') });
    // A comment past IN_PROCESS_MAX_BYTES: the changed text goes to a thread of its own.
    await writeFile(join(h.dir, 'conf.d/b.yaml'), `${web('192.0.2.3:80')}# ${'x'.repeat(IN_PROCESS_MAX_BYTES)}\n`);
    await h.watcher.reload('SIGHUP');
    const big = h.logs.filter((l) => l.msg === 'configuration reloaded').at(-1)!;
    assert.equal(big.parsed_in, 'thread');
    assert.deepEqual(big.changed, [join(h.dir, 'conf.d/b.yaml')]);
    const threaded = h.watcher.current;
    assert.equal(threaded.services[1]!.key, 'tcp:192.0.2.3:80');
    assert.ok(Object.isFrozen(threaded.services[1]!.reals[0]), 'the snapshot from the thread is frozen like any other');

    await writeFile(join(h.dir, 'conf.d/a.yaml'), web('192.0.2.4:80'));
    await h.watcher.reload('SIGHUP');
    const small = h.logs.filter((l) => l.msg === 'configuration reloaded').at(-1)!;
    assert.equal(small.parsed_in, 'event loop');
    assert.deepEqual(small.changed, [join(h.dir, 'conf.d/a.yaml')]);
    // The thread's parse of b.yaml came back with its cache: reused, not parsed again.
    assert.equal(h.watcher.current.services[1], threaded.services[1]);
  });

  it('reload() (what SIGHUP calls) loads on request; a second reload is a no-op', async () => {
    // A debounce far beyond the test: only reload() can pick the change up.
    const h = await start({ 'conf.d/a.yaml': web('192.0.2.1:80') }, 3_600_000);
    await writeFile(join(h.dir, 'conf.d/a.yaml'), web('192.0.2.5:80'));
    const first = await h.watcher.reload('SIGHUP');
    assert.deepEqual([first.ok, first.changed, first.reason], [true, true, 'SIGHUP']);
    assert.equal(h.watcher.current.services[0]!.key, 'tcp:192.0.2.5:80');
    assert.equal(h.snapshots.length, 1);
    const second = await h.watcher.reload('SIGHUP');
    assert.deepEqual([second.ok, second.changed], [true, false]);
    assert.equal(h.snapshots.length, 1);
  });

  it('reload() of an invalid config resolves with the issues and keeps the snapshot', async () => {
    const h = await start({ 'conf.d/a.yaml': web('192.0.2.1:80') }, 3_600_000);
    const initial = h.watcher.current;
    await writeFile(join(h.dir, 'lvsd.yaml'), 'log_level: loud\n');
    const outcome = await h.watcher.reload('SIGHUP');
    assert.equal(outcome.ok, false);
    assert.deepEqual(outcome.issues.map(formatIssue), [`${join(h.dir, 'lvsd.yaml')}:1:12: log_level: must be one of trace, debug, info, warn, error, fatal (any case); got "loud"`]);
    assert.equal(h.watcher.current, initial);
    assert.equal(h.invalids.length, 1);
  });
});
