// `lvsd convert` as a process: the sample configs shipped by Debian's ldirectord and keepalived
// packages (read from their installed paths, never copied into the repository) convert with zero
// errors and the output passes `lvsd check-config` unchanged; errors, --out -, --keep-vrrp.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { runLvsd } from '../helpers/daemon-process.js';
import { convert, detectFormat } from '../../src/convert/index.js';
import { formatDiagnostic, formatParseError } from '../../src/convert/model.js';
import { formatIssue, loadConfig } from '../../src/config/load.js';
import { render } from '../../src/cli/convert.js';

const LDIRECTORD_SAMPLE = '/usr/share/doc/ldirectord/examples/ldirectord.cf';
const KEEPALIVED_SAMPLES = '/usr/share/doc/keepalived/samples';

function samples(): string[] {
  const k = existsSync(KEEPALIVED_SAMPLES)
    ? readdirSync(KEEPALIVED_SAMPLES).filter((n) => n.startsWith('keepalived.conf')).map((n) => join(KEEPALIVED_SAMPLES, n))
    : [];
  return [LDIRECTORD_SAMPLE, ...k];
}

describe('lvsd convert (CLI)', () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'lvsd-convert-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  test('the Debian packages ship the samples this suite converts (scripts/setup-system.sh installs them)', () => {
    assert.ok(existsSync(LDIRECTORD_SAMPLE), `${LDIRECTORD_SAMPLE} (package ldirectord)`);
    assert.ok(samples().length > 20, `keepalived samples in ${KEEPALIVED_SAMPLES} (package keepalived)`);
  });

  // In process (the same code `lvsd convert` and `lvsd check-config` run) to keep the tier lean;
  // two samples go through the real command line below.
  for (const sample of samples()) {
    test(`sample ${basename(sample)}: zero errors, check-config passes on the output`, async () => {
      const text = await readFile(sample, 'utf8');
      const format = detectFormat(text);
      assert.ok(format, 'format detected');
      const r = await convert(format, sample, text);
      assert.ok(r.ok, r.ok ? '' : r.errors.map(formatParseError).join('\n'));
      const out = join(tmp, basename(sample));
      await mkdir(join(out, 'conf.d'), { recursive: true });
      const files = render(r, sample);
      for (const [rel, body] of files) await writeFile(join(out, rel), body);
      const written = [...files.values()].join('\n');
      for (const d of r.diagnostics) {
        assert.ok(d.line > 0 && d.message.length > 20, formatDiagnostic(d));
        if (d.severity === 'warning') assert.ok(written.includes(`# lvsd convert: ${d.message}`), `comment for: ${formatDiagnostic(d)}`);
      }
      // Programs missing on this machine are written as they are (issue 19: no stand-in checks):
      // convert's own validation lets exactly those through, and check-config refuses only them.
      const check = await loadConfig(out, { allowMissingPrograms: new Set(r.missingPrograms) });
      assert.ok(check.ok, check.ok ? '' : check.issues.map(formatIssue).join('\n'));
      const onDirector = await loadConfig(out);
      if (r.missingPrograms.length === 0) assert.ok(onDirector.ok);
      else {
        assert.equal(onDirector.ok, false);
        if (!onDirector.ok) for (const i of onDirector.issues) assert.ok(r.missingPrograms.some((p) => i.message.includes(`${p} does not exist`)), formatIssue(i));
      }
    });
  }

  for (const sample of [LDIRECTORD_SAMPLE, join(KEEPALIVED_SAMPLES, 'keepalived.conf.virtual_server_group')]) {
    test(`lvsd convert ${basename(sample)} then lvsd check-config: both exit 0`, async () => {
      const out = join(tmp, `cli-${basename(sample)}`);
      const r = await runLvsd(['convert', sample, '--out', out]);
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /: error:/);
      assert.match(r.stdout, /\d+ services?, \d+ reals?, \d+ warnings?/);
      for (const line of r.stderr.split('\n').filter((l) => l.includes(': warning: '))) assert.match(line, /^\/\S+:\d+: warning: \S/);
      const check = await runLvsd(['check-config', '-c', out]);
      assert.equal(check.status, 0, check.stderr);
    });
  }

  test('the ldirectord sample becomes the service it describes', async () => {
    const out = join(tmp, 'ld-detail');
    const r = await runLvsd(['convert', '--from', 'ldirectord', LDIRECTORD_SAMPLE, '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    const files = await readdir(join(out, 'conf.d'));
    assert.deepEqual(files, ['tcp-192.168.6.240-80.yaml']);
    const text = await readFile(join(out, 'conf.d', files[0]!), 'utf8');
    assert.match(text, /^# converted by lvsd convert from \/usr\/share\/doc\/ldirectord\/examples\/ldirectord\.cf:25$/m);
    for (const re of [/^address: 192\.168\.6\.240:80$/m, /^scheduler: rr$/m, /^ {2}type: http$/m, /^ {2}path: \/index\.html$/m, /^ {2}host: www\.x\.y\.z$/m, /^ {2}expect_body: "Test Page"$/m, /^ {2}- address: 127\.0\.0\.1:80$/m, /^quiescent: false$/m]) {
      assert.match(text, re);
    }
  });

  test('every commented-out virtual of the ldirectord sample, uncommented, converts and passes check-config', async () => {
    // The sample keeps most of its services commented out; switch them all on. Two blocks are
    // errors for ldirectord as well and must be errors here, with their place: the range sample
    // repeats the active virtual 192.168.6.240:80, and the SIP sample writes "IP::PORT".
    const lines = (await readFile(LDIRECTORD_SAMPLE, 'utf8')).split('\n').map((l) => (/^#(virtual6?\s*=|\t)/.test(l) ? l.slice(1) : l));
    const all = join(tmp, 'ldirectord-all.cf');
    await writeFile(all, lines.join('\n'));
    const r = await convert('ldirectord', all, lines.join('\n'));
    assert.equal(r.ok, false);
    if (r.ok) return;
    const dup = lines.findIndex((l, i) => i > 30 && l.startsWith('virtual=192.168.6.240:80')) + 1;
    const sip = lines.findIndex((l) => l.includes('::5060')) + 1;
    assert.deepEqual(r.errors.map((e) => [e.line, e.message.replace(/ .*/, '')]), [[dup, 'tcp'], [sip, '":5060"']].sort((a, b) => Number(a[0]) - Number(b[0])));
    // Without those two blocks: zero errors, and the output passes check-config.
    const blockOf = (start: number): [number, number] => {
      let end = start;
      while (end < lines.length && /^\s/.test(lines[end] ?? '')) end++;
      return [start - 1, end];
    };
    const drop = new Set<number>();
    for (const at of [dup, sip]) {
      const start = at === sip ? lines.slice(0, sip).map((l) => l.startsWith('virtual=')).lastIndexOf(true) + 1 : at;
      const [a, b] = blockOf(start);
      for (let i = a; i < b; i++) drop.add(i);
    }
    const kept = lines.filter((_, i) => !drop.has(i)).join('\n');
    const ok = await convert('ldirectord', all, kept);
    assert.ok(ok.ok, ok.ok ? '' : ok.errors.map(formatParseError).join('\n'));
    if (!ok.ok) return;
    assert.ok(ok.services.length >= 15, `${ok.services.length} services`);
    const out = join(tmp, 'ldirectord-all');
    await mkdir(join(out, 'conf.d'), { recursive: true });
    for (const [rel, body] of render(ok, all)) await writeFile(join(out, rel), body);
    const check = await loadConfig(out);
    assert.ok(check.ok, check.ok ? '' : check.issues.map(formatIssue).join('\n'));
  });

  test('--out - prints every file and writes nothing', async () => {
    const r = await runLvsd(['convert', join(KEEPALIVED_SAMPLES, 'keepalived.conf.sample'), '--out', '-']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^# ==> lvsd\.yaml <==$/m);
    assert.match(r.stdout, /^# ==> conf\.d\/tcp-10\.10\.10\.2-1358\.yaml <==$/m);
    assert.match(r.stderr, /1 service, 1 real/);
  });

  test('unparseable input: FILE:LINE:COL: error, exit 1, nothing written', async () => {
    const bad = join(tmp, 'bad.conf');
    await writeFile(bad, 'virtual_server 192.0.2.10 80 {\n  delay_loop 5\n');
    const out = join(tmp, 'bad-out');
    const r = await runLvsd(['convert', bad, '--out', out]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`^${bad.replace(/[.]/g, '\\.')}:1:30: error: "\\{" is never closed$`, 'm'));
    assert.equal(existsSync(out), false);
  });

  test('a format that cannot be told apart asks for --from; a usage error exits 2', async () => {
    const odd = join(tmp, 'odd.txt');
    await writeFile(odd, 'hello\n');
    const r = await runLvsd(['convert', odd, '--out', join(tmp, 'odd-out')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /odd\.txt:1:1: error: .*--from/);
    assert.equal((await runLvsd(['convert', odd])).status, 2);
  });

  test('an existing output is not overwritten without --force', async () => {
    const out = join(tmp, 'twice');
    assert.equal((await runLvsd(['convert', LDIRECTORD_SAMPLE, '--out', out])).status, 0);
    const again = await runLvsd(['convert', LDIRECTORD_SAMPLE, '--out', out]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /exists; .*--force/);
    assert.equal((await runLvsd(['convert', LDIRECTORD_SAMPLE, '--out', out, '--force'])).status, 0);
  });

  test('--keep-vrrp writes the keepalived.conf without its virtual servers, which keepalived accepts', async () => {
    const src = join(tmp, 'vrrp-and-lvs.conf');
    // keepalived --config-test wants a real, non-loopback interface for the VRRP instance.
    const { networkInterfaces } = await import('node:os');
    const nic = Object.entries(networkInterfaces()).find(([, a]) => a?.some((x) => !x.internal))?.[0];
    await writeFile(src, `global_defs {\n  router_id lvsd_test\n}\nvrrp_instance VI_1 {\n  state BACKUP\n  interface ${nic ?? 'eth0'}\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {\n    192.0.2.10\n  }\n}\nvirtual_server 192.0.2.10 80 {\n  delay_loop 5\n  real_server 10.0.0.1 80 {\n    TCP_CHECK {\n      connect_timeout 2\n    }\n  }\n}\n`);
    const kept = join(tmp, 'kept.conf');
    const r = await runLvsd(['convert', src, '--out', join(tmp, 'vrrp-out'), '--keep-vrrp', kept]);
    assert.equal(r.status, 0, r.stderr);
    const text = await readFile(kept, 'utf8');
    assert.doesNotMatch(text, /^\s*virtual_server\b/m);
    assert.match(text, /vrrp_instance/);
    // keepalived's own parser: --config-test exits 0 on a config it accepts.
    if (existsSync('/usr/sbin/keepalived') && nic !== undefined) {
      const { spawnSync } = await import('node:child_process');
      const t = spawnSync('/usr/sbin/keepalived', ['--config-test', '-f', kept], { encoding: 'utf8' });
      assert.equal(t.status, 0, `${t.stdout}${t.stderr}`);
    }
  });
});
