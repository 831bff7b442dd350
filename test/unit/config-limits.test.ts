// Oversized and hostile config input is refused before it is built, each as a positioned issue, and
// the other files are still checked; honest big configs and linear alias reuse pass.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIssue, loadConfig } from '../../src/config/load.js';
import { LIMITS } from '../../src/config/limits.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function configDir(files: Record<string, string | Buffer>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lvsd-limits-'));
  dirs.push(dir);
  await mkdir(join(dir, 'conf.d'));
  for (const [rel, text] of Object.entries(files)) await writeFile(join(dir, rel), text);
  return dir;
}

async function issuesOf(dir: string): Promise<string[]> {
  const r = await loadConfig(dir);
  assert.equal(r.ok, false, 'expected the config to be rejected');
  return r.ok ? [] : r.issues.map((i) => formatIssue(i).replaceAll(`${dir}/`, ''));
}

const OK_FILE = 'address: 192.0.2.2:80\nreals: [{ address: 10.0.0.1:80, weigth: 1 }]\n';
const OK_FILE_ISSUE = 'conf.d/z-other.yaml:2:33: unknown key "weigth" in reals (did you mean "weight"?)';

/** A 10-level alias bomb: 10^10 nodes once expanded, 200 bytes written. */
function aliasBomb(): string {
  let text = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
  for (let i = 1; i < 10; i++) text += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
  return `${text}address: 192.0.2.1:80\nreals: *a9\n`;
}

describe('config limits: refused before being built', () => {
  it('regression: a 50 MB file in conf.d is refused by its size before it is read (was: 4.35 GB heap, OOM abort)', async () => {
    const dir = await configDir({ 'conf.d/z-other.yaml': OK_FILE });
    // Sparse: 50 MB by fstat without writing 50 MB.
    const fh = await open(join(dir, 'conf.d/big.yaml'), 'w');
    await fh.truncate(50 * 1024 * 1024);
    await fh.close();
    assert.deepEqual(await issuesOf(dir), [
      'conf.d/big.yaml: too large: 50.0 MiB, the limit is 4.0 MiB per file (see README "Limits")',
      OK_FILE_ISSUE,
    ]);
  });

  it('a file just under the byte limit but past the node limit is refused at the line where the limit is crossed', async () => {
    const row = '  - [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]\n';
    const rows = Math.ceil(LIMITS.nodesPerFile / 11) + 10;
    const dir = await configDir({ 'conf.d/nodes.yaml': `address: 192.0.2.4:80\nreals:\n${row.repeat(rows)}`, 'conf.d/z-other.yaml': OK_FILE });
    const issues = await issuesOf(dir);
    assert.equal(issues.length, 2);
    assert.match(issues[0]!, /^conf\.d\/nodes\.yaml:\d+:\d+: too large: more than 250,000 YAML nodes in one file/);
    assert.equal(issues[1], OK_FILE_ISSUE);
  });

  it('files that together pass the total byte limit are refused at the file that crosses it', async () => {
    const filler = `# ${'x'.repeat(78)}\n`.repeat(Math.floor((3.9 * 1024 * 1024) / 81));
    const files: Record<string, string> = {};
    for (let i = 0; i < 5; i++) files[`conf.d/${i}.yaml`] = `${filler}address: 192.0.2.${i + 1}:80\nreals: []\n`;
    const issues = await issuesOf(await configDir(files));
    assert.deepEqual(issues, ['conf.d/4.yaml: too large: with this file the configuration exceeds 16.0 MiB in all files (see README "Limits")']);
  });

  it('more documents than the limit in one file is refused, positioned', async () => {
    const dir = await configDir({ 'conf.d/docs.yaml': '---\n{}\n'.repeat(LIMITS.documentsPerFile + 1) });
    const issues = await issuesOf(dir);
    assert.equal(issues.length, 1);
    assert.match(issues[0]!, /^conf\.d\/docs\.yaml:20001:1: too large: more than 10,000 YAML documents in one file/);
  });

  it('flow collections nested past the limit are refused without exhausting the stack', async () => {
    const dir = await configDir({ 'conf.d/deep.yaml': `a: ${'['.repeat(100_000)}` });
    assert.deepEqual(await issuesOf(dir), ['conf.d/deep.yaml:1:68: too deeply nested: more than 64 levels of [ ] or { }']);
  });

  it('a binary file is a positioned error, and the other files are still checked', async () => {
    const dir = await configDir({ 'conf.d/bin.yaml': Buffer.from('name: x\nreals:\n  \0\x01\x02\xff'), 'conf.d/z-other.yaml': OK_FILE });
    assert.deepEqual(await issuesOf(dir), [
      'conf.d/bin.yaml:3:3: not a text file: a NUL byte at byte 17 (binary data or another encoding; lvsd reads UTF-8 YAML)',
      OK_FILE_ISSUE,
    ]);
  });

  it('a file in another encoding (Latin-1) is refused at the first byte that is not UTF-8', async () => {
    const dir = await configDir({ 'conf.d/latin.yaml': Buffer.from('# caf\xe9\naddress: 192.0.2.1:80\nreals: []\n', 'latin1') });
    assert.deepEqual(await issuesOf(dir), ['conf.d/latin.yaml:1:6: not a text file: bytes that are not UTF-8 at byte 5 (binary data or another encoding; lvsd reads UTF-8 YAML)']);
  });

  it('an honest big config passes: 10,000 reals with comments, anchors and per-real overrides in one file', async () => {
    let text = '';
    for (let s = 0; s < 100; s++) {
      text += `---\n# service ${s}: the web farm of customer ${s}, checked over HTTP\nname: web-${s}\naddress: 192.0.${s >> 8}.${s & 255}:80\nforwarding: masq\n`;
      text += `check: &chk${s}\n  type: http\n  path: /healthz\n  host: www${s}.example.org\n  interval: 2s\n  timeout: 1s\n  headers: { X-Check: lvsd }\nreals:\n`;
      for (let r = 0; r < 100; r++) {
        text += `  # rack ${r % 8}\n  - address: 10.${s}.${r >> 8}.${(r & 255) + 1}:8080\n    weight: ${r + 1}\n    check: *chk${s}\n`;
      }
    }
    const dir = await configDir({ 'conf.d/big.yaml': text });
    const r = await loadConfig(dir);
    assert.ok(r.ok, r.ok ? '' : r.issues.slice(0, 3).map(formatIssue).join('\n'));
    assert.equal(r.snapshot.services.reduce((n, s) => n + s.reals.length, 0), 10_000);
  });
});

describe('config limits: YAML aliases', () => {
  it('regression: an anchor reused on 150 reals is accepted (was: refused by yaml\'s alias limit of 100)', async () => {
    let text = 'address: 192.0.2.3:80\ncheck: &c { type: http, path: /h }\nreals:\n';
    for (let i = 0; i < 150; i++) text += `  - { address: 10.0.1.${i}:80, check: *c }\n`;
    const r = await loadConfig(await configDir({ 'conf.d/lin.yaml': text }));
    assert.ok(r.ok, r.ok ? '' : r.issues.map(formatIssue).join('\n'));
    assert.equal(r.snapshot.services[0]!.reals.length, 150);
    assert.equal(r.snapshot.services[0]!.reals[149]!.check.type, 'http');
  });

  it('regression: an alias bomb is refused at its alias, and the other files\' errors are still reported (was: one error with no file or position, hiding the rest)', async () => {
    const dir = await configDir({ 'conf.d/bomb.yaml': aliasBomb(), 'conf.d/z-other.yaml': OK_FILE });
    assert.deepEqual(await issuesOf(dir), [
      'conf.d/bomb.yaml:6:15: too large: more than 250,000 YAML nodes in one file (aliases counted as expanded); alias *a4 crosses the limit',
      OK_FILE_ISSUE,
    ]);
  });

  it('an alias bomb in one document does not hide the next document of the same file', async () => {
    const dir = await configDir({ 'conf.d/bomb.yaml': `${aliasBomb()}---\naddress: 192.0.2.9:80\nreals: nope\n` });
    const issues = await issuesOf(dir);
    assert.equal(issues.length, 2);
    assert.match(issues[0]!, /^conf\.d\/bomb\.yaml:6:15: too large/);
    assert.equal(issues[1], 'conf.d/bomb.yaml:15:8: reals: expected a list, got "nope"');
  });

  it('an alias inside the node it names (infinite data) is refused at the alias', async () => {
    const dir = await configDir({ 'conf.d/loop.yaml': 'address: 192.0.2.1:80\nreals: &r\n  - address: 10.0.0.1:80\n  - *r\n' });
    const issues = await issuesOf(dir);
    assert.deepEqual(issues, ['conf.d/loop.yaml:4:5: YAML: alias *r refers to a node that contains it (the data would be infinite)']);
  });

  it('an error inside an aliased mapping is placed at the anchor\'s text', async () => {
    const dir = await configDir({ 'conf.d/a.yaml': 'address: 192.0.2.1:80\ncheck: &c { type: http, rise: 0 }\nreals:\n  - { address: 10.0.0.1:80, check: *c }\n' });
    assert.deepEqual(await issuesOf(dir), ['conf.d/a.yaml:2:31: check.rise: must be at least 1; got 0']);
  });
});

describe('config files: links and odd entries', () => {
  it('regression: a *.yaml symlink whose target disappeared is an error, not a silently deleted service', async () => {
    const dir = await configDir({ 'conf.d/z-other.yaml': OK_FILE });
    await symlink(join(dir, 'gone.yaml'), join(dir, 'conf.d/web.yaml'));
    assert.deepEqual(await issuesOf(dir), [
      'conf.d/web.yaml: broken symbolic link: its target gone.yaml does not exist; fix or remove the link',
      OK_FILE_ISSUE,
    ]);
  });

  it('a symlink loop is an error naming the link', async () => {
    const dir = await configDir({});
    await symlink('b.yaml', join(dir, 'conf.d/a.yaml'));
    await symlink('a.yaml', join(dir, 'conf.d/b.yaml'));
    assert.deepEqual(await issuesOf(dir), [
      'conf.d/a.yaml: symbolic link loop (-> b.yaml); fix or remove the link',
      'conf.d/b.yaml: symbolic link loop (-> a.yaml); fix or remove the link',
    ]);
  });

  it('a symlink to a file is followed and a symlink to a directory is skipped like a directory', async () => {
    const dir = await configDir({ 'shared.yaml': 'address: 192.0.2.1:80\nreals: []\n' });
    await mkdir(join(dir, 'sub.yaml'));
    await symlink(join(dir, 'shared.yaml'), join(dir, 'conf.d/web.yaml'));
    await symlink(join(dir, 'sub.yaml'), join(dir, 'conf.d/dir.yaml'));
    const r = await loadConfig(dir);
    assert.ok(r.ok);
    assert.deepEqual(r.snapshot.services.map((s) => s.name), ['web']);
  });
});
