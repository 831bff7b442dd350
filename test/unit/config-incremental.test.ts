// Incremental loads: a reload reuses the parse of every service file whose text (and lvsd.yaml) did
// not change, and still validates the whole config (names, addresses, programs) as a fresh load does.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changedFiles, formatIssue, loadConfig } from '../../src/config/load.js';
import type { LoadOptions } from '../../src/config/load.js';
import type { Snapshot } from '../../src/config/model.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const service = (name: string, octet: number, weight = 1): string =>
  `name: ${name}\naddress: 192.0.2.${octet}:80\nreals:\n  - address: 10.0.0.${octet}:80\n    weight: ${weight}\n`;

async function configDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lvsd-incremental-'));
  dirs.push(dir);
  await mkdir(join(dir, 'conf.d'));
  for (const [rel, text] of Object.entries(files)) await writeFile(join(dir, rel), text);
  return dir;
}

async function load(dir: string, options: LoadOptions = {}): Promise<Snapshot> {
  const r = await loadConfig(dir, options);
  assert.ok(r.ok, r.ok ? '' : r.issues.map(formatIssue).join('\n'));
  return r.snapshot;
}

const byName = (s: Snapshot, name: string) => s.services.find((x) => x.name === name)!;

describe('incremental config loads', () => {
  it('reuses the services of unchanged files (same objects) and parses the changed one', async () => {
    const dir = await configDir({ 'conf.d/a.yaml': service('a', 1), 'conf.d/b.yaml': service('b', 2) });
    const first = await load(dir);
    await writeFile(join(dir, 'conf.d', 'b.yaml'), service('b', 2, 5));
    const second = await load(dir, { previous: first });
    assert.equal(byName(second, 'a'), byName(first, 'a'));
    assert.notEqual(byName(second, 'b'), byName(first, 'b'));
    assert.equal(byName(second, 'b').reals[0]!.weight, 5);
    // The same as a fresh load, apart from object identity.
    assert.deepEqual(second, await load(dir));
    assert.deepEqual(changedFiles(first, second), [join(dir, 'conf.d', 'b.yaml')]);
  });

  it('parses every file again when lvsd.yaml changed (its defaults shape every service)', async () => {
    const dir = await configDir({ 'lvsd.yaml': 'defaults:\n  check: { type: tcp }\n', 'conf.d/a.yaml': service('a', 1) });
    const first = await load(dir);
    await writeFile(join(dir, 'lvsd.yaml'), 'defaults:\n  check: { type: tcp, interval: 7s }\n');
    const second = await load(dir, { previous: first });
    assert.equal(byName(second, 'a').reals[0]!.check.intervalMs, 7000);
    assert.deepEqual(changedFiles(first, second), [join(dir, 'lvsd.yaml')]);
  });

  it('still rejects a name taken by an unchanged file, at the changed file', async () => {
    const dir = await configDir({ 'conf.d/a.yaml': service('a', 1), 'conf.d/b.yaml': service('b', 2) });
    const first = await load(dir);
    await writeFile(join(dir, 'conf.d', 'b.yaml'), service('a', 2));
    const r = await loadConfig(dir, { previous: first });
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : formatIssue(r.issues[0]!), /conf\.d\/b\.yaml:1:7: service name "a" is already used/);
  });

  it('still checks the program of an unchanged file (it may have been removed since)', async () => {
    const dir = await configDir({});
    const program = join(dir, 'probe.sh');
    await writeFile(program, '#!/bin/sh\nexit 0\n');
    await chmod(program, 0o755);
    await writeFile(join(dir, 'conf.d', 'a.yaml'), `${service('a', 1)}check:\n  type: misc\n  command: [${program}]\n`);
    await writeFile(join(dir, 'conf.d', 'b.yaml'), service('b', 2));
    const first = await load(dir);
    await unlink(program);
    await writeFile(join(dir, 'conf.d', 'b.yaml'), service('b', 2, 3));
    const r = await loadConfig(dir, { previous: first });
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : formatIssue(r.issues[0]!), /conf\.d\/a\.yaml:\d+:\d+: command: .*probe\.sh/);
  });

  it('drops the services of a removed file and names it as changed', async () => {
    const dir = await configDir({ 'conf.d/a.yaml': service('a', 1), 'conf.d/b.yaml': service('b', 2) });
    const first = await load(dir);
    await unlink(join(dir, 'conf.d', 'b.yaml'));
    const second = await load(dir, { previous: first });
    assert.deepEqual(second.services.map((s) => s.name), ['a']);
    assert.deepEqual(changedFiles(first, second), [join(dir, 'conf.d', 'b.yaml')]);
  });

  it('answers tooMuch without parsing when the changes exceed maxParseBytes', async () => {
    const dir = await configDir({ 'conf.d/a.yaml': service('a', 1), 'conf.d/b.yaml': service('b', 2) });
    const first = await load(dir);
    await writeFile(join(dir, 'conf.d', 'b.yaml'), `${service('b', 2, 4)}# ${'x'.repeat(200)}\n`);
    const r = await loadConfig(dir, { previous: first, maxParseBytes: 100 });
    assert.deepEqual(r, { ok: false, issues: [], tooMuch: true });
    // Unchanged files do not count: the same edit fits once it is the previous snapshot.
    const second = await load(dir, { previous: first });
    assert.ok((await loadConfig(dir, { previous: second, maxParseBytes: 100 })).ok);
  });
});
