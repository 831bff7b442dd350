// The fake ipvsadm (test/fixtures/bin/ipvsadm) against the real ipvsadm's captured behaviour, so
// tests that run the daemon against it meet the same texts, statuses and layouts as on a director.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCounters, parseSave, parseThresholds } from '../../src/ipvs/parse.js';
import { formatOp } from '../../src/ipvs/format.js';
import { fixturesDir } from '../helpers/paths.js';

const fake = join(fixturesDir, 'bin', 'ipvsadm');
const dir = join(fixturesDir, 'ipvs');
const read = (...p: string[]): string => readFileSync(join(dir, ...p), 'utf8');
const work = mkdtempSync(join(tmpdir(), 'lvsd-ipvs-fake-'));
after(() => rmSync(work, { recursive: true, force: true }));
let n = 0;

/** A fake ipvsadm with its own fresh state file. */
function fresh(extraEnv: Record<string, string> = {}) {
  const state = join(work, `state-${++n}`);
  const log = join(work, `log-${n}`);
  const env = { ...process.env, LVSD_FAKE_IPVS_STATE: state, LVSD_FAKE_IPVS_LOG: log, ...extraEnv };
  const run = (args: string[], input?: string) => {
    const r = spawnSync(fake, args, { env, input: input ?? '', encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  return { run, state, log };
}
const errLines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

/** The captured table with the captured thresholds and connection counters put back. */
function seed(f: ReturnType<typeof fresh>): void {
  writeFileSync(f.state, read('save.txt'));
  const table = parseSave(read('save.txt'));
  const edits: string[] = [];
  for (const [key, reals] of parseThresholds(read('list-thresholds-exact.txt'))) {
    for (const [rk, t] of reals) {
      if (t.upper === 0 && t.lower === 0) continue;
      const { reals: all, ...service } = table.services.get(key)!;
      edits.push(formatOp({ op: 'edit-real', service, real: { ...all.get(rk)!, upperThreshold: t.upper, lowerThreshold: t.lower } }));
    }
  }
  assert.equal(f.run(['-R'], edits.join('\n')).status, 0);
  for (const [key, reals] of parseCounters(read('list-persistent-conn-exact.txt'))) {
    for (const [rk, c] of reals) {
      if (c.activeConns || c.inactiveConns || c.persistentConns) {
        f.run(['--fake-counters', key, rk, String(c.activeConns), String(c.inactiveConns), String(c.persistentConns)]);
      }
    }
  }
}

// The memory table shares this one divergence: port names are not resolved (lvsd writes numbers).
const DIVERGENT = new Set(['address-forms']);

describe('fake ipvsadm -R: every captured case', () => {
  for (const name of readdirSync(join(dir, 'restore')).sort()) {
    if (!existsSync(join(dir, 'restore', name, 'input')) || DIVERGENT.has(name)) continue;
    it(name, () => {
      const f = fresh();
      const setup = existsSync(join(dir, 'restore', name, 'setup')) ? read('restore', name, 'setup') : '';
      if (setup !== '') assert.equal(f.run(['-R'], `${setup}\n`).status, 0);
      const r = f.run(['-R'], read('restore', name, 'input'));
      assert.deepEqual(errLines(r.stderr), errLines(read('restore', name, 'stderr')), 'stderr');
      assert.equal(r.status, Number(read('restore', name, 'status')), 'exit status');
      assert.equal(f.run(['-Sn']).stdout, read('restore', name, 'after'), 'ipvsadm -Sn afterwards');
    });
  }

  it('address-forms: port names are refused, as in the memory table', () => {
    const f = fresh();
    const r = f.run(['-R'], read('restore', 'address-forms', 'input'));
    assert.deepEqual([errLines(r.stderr), r.status], [['illegal virtual server address[:port] specified'], 2]);
  });
});

describe('fake ipvsadm: every captured single command', () => {
  for (const name of readdirSync(join(dir, 'cmd')).sort()) {
    it(name, () => {
      const f = fresh();
      const setup = read('cmd', name, 'setup');
      if (setup !== '') f.run(['-R'], `${setup}\n`);
      const r = f.run(read('cmd', name, 'args').trim().split(' '));
      assert.deepEqual(errLines(r.stderr), errLines(read('cmd', name, 'stderr')));
      assert.equal(r.status, Number(read('cmd', name, 'status')));
      assert.equal(r.stdout, read('cmd', name, 'stdout'));
      assert.equal(f.run(['-Sn']).stdout, read('cmd', name, 'after'));
    });
  }
});

describe('fake ipvsadm: listings are laid out like the real ones', () => {
  const f = fresh();
  before(() => seed(f));


  const same: [string[], string][] = [
    [['-Sn'], 'save.txt'],
    [['-Ln'], 'list.txt'],
    [['-Ln', '--exact'], 'list-exact.txt'],
    [['-Ln', '--persistent-conn', '--exact'], 'list-persistent-conn-exact.txt'],
    [['-Ln', '--thresholds', '--exact'], 'list-thresholds-exact.txt'],
    [['-Ln', '--thresholds', '--persistent-conn', '--exact'], 'list-thresholds-persistent-conn.txt'],
    [['-Ln', '-t', '192.0.2.100:80', '--exact'], 'list-one-service.txt'],
  ];
  for (const [args, file] of same) {
    it(`ipvsadm ${args.join(' ')} = ${file}`, () => {
      assert.equal(f.run(args).stdout, read(file));
    });
  }

  it('ipvsadm -Ln --stats / --rate: same layout (traffic counters are not simulated)', () => {
    for (const [args, file] of [[['-Ln', '--stats', '--exact'], 'list-stats-exact.txt'], [['-Ln', '--rate', '--exact'], 'list-rate-exact.txt']] as const) {
      const got = f.run([...args]).stdout.split('\n');
      const want = read(file).split('\n');
      assert.deepEqual(got.slice(0, 3), want.slice(0, 3));
      assert.deepEqual(got.map((l) => l.slice(0, 33)), want.map((l) => l.slice(0, 33)));
      assert.deepEqual(got.map((l) => l.length), want.map((l) => l.length));
    }
  });

  it('scheduler flags, persistence, pe and ops in the listing (list-flags.txt)', () => {
    const g = fresh();
    // The lines the capture script restored before listing list-flags.txt.
    g.run(['-R'], '-A -u 198.51.100.1:5060 -s sh -b sh-port,sh-fallback -p 60 -M 255.255.255.0 --pe sip -o\n'
      + '-A -u [2001:db8::1]:5060 -s mh -b mh-fallback -p 60 -M 64 -o\n-A -f 5 -s rr -o\n');
    assert.equal(g.run(['-Ln']).stdout, read('list-flags.txt'));
  });

  it('an empty table', () => {
    const g = fresh();
    assert.equal(g.run(['-Sn']).stdout, read('save-empty.txt'));
    assert.equal(g.run(['-Ln']).stdout, read('list-empty.txt'));
    assert.equal(g.run(['-Ln', '--exact']).stdout, read('list-exact-empty.txt'));
  });
});

describe('fake ipvsadm: the rest of its contract', () => {
  it('--version prints what ipvsadm 1.31 prints', () => {
    assert.equal(fresh().run(['--version']).stdout, read('version.txt'));
  });

  it('LVSD_FAKE_IPVS_FAIL=not-loaded prints ipvsadm\'s words (host capture), status 2', () => {
    const r = fresh({ LVSD_FAKE_IPVS_FAIL: 'not-loaded' }).run(['-Sn']);
    const host = errLines(read('host', 'not-loaded.stderr')).filter((l) => !l.startsWith('modprobe:'));
    assert.deepEqual([errLines(r.stderr), r.status], [host, Number(read('host', 'not-loaded.status'))]);
  });

  it('LVSD_FAKE_IPVS_FAIL=permission prints what an unprivileged ipvsadm printed, status 2', () => {
    const r = fresh({ LVSD_FAKE_IPVS_FAIL: 'permission' }).run(['-Sn']);
    assert.deepEqual([r.stderr, r.status], [read('cmd-unprivileged.stderr'), Number(read('cmd-unprivileged.status'))]);
  });

  it('refuses -C and leaves the table alone', () => {
    const f = fresh();
    f.run(['-A', '-t', '192.0.2.1:80', '-s', 'rr']);
    assert.equal(f.run(['-C']).status, 99);
    assert.equal(f.run(['-R'], '-C\n').status, 99);
    assert.equal(f.run(['-Sn']).stdout, '-A -t 192.0.2.1:80 -s rr\n');
  });

  it('logs every invocation with its stdin', () => {
    const f = fresh();
    f.run(['-R'], '-A -t 192.0.2.1:80 -s rr\n');
    f.run(['-Sn']);
    const log = readFileSync(f.log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { argv: string[]; stdin: string | null });
    assert.deepEqual(log.map(({ argv, stdin }) => ({ argv, stdin })), [
      { argv: ['-R'], stdin: '-A -t 192.0.2.1:80 -s rr\n' },
      { argv: ['-Sn'], stdin: null },
    ]);
  });
});

describe('fake ipvsadm: fault switches (LVSD_FAKE_IPVS_FAIL) for the fault suite', () => {
  /** The log's entries once it has `count` lines (the fake appends them as it goes). */
  async function logEntries(file: string, count: number): Promise<Record<string, unknown>[]> {
    for (let i = 0; i < 500; i++) {
      const lines = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : [];
      if (lines.length >= count) return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`${file}: fewer than ${count} lines`);
  }
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('exit:N@restore fails -R with status N and changes nothing; other runs are unaffected', () => {
    const f = fresh({ LVSD_FAKE_IPVS_FAIL: 'exit:3@restore' });
    assert.equal(f.run(['-A', '-t', '192.0.2.1:80', '-s', 'rr']).status, 0);
    const r = f.run(['-R'], '-D -t 192.0.2.1:80\n');
    assert.deepEqual([r.status, r.stderr], [3, 'fake ipvsadm: forced failure\n']);
    assert.equal(f.run(['-Sn']).stdout, '-A -t 192.0.2.1:80 -s rr\n');
  });

  it('sleep:MS@version still answers --version; garbage@read spoils listings only', () => {
    const f = fresh({ LVSD_FAKE_IPVS_FAIL: 'sleep:200@version,garbage@read' });
    assert.equal(f.run(['--version']).stdout, read('version.txt'));
    assert.equal(f.run(['-R'], '-A -t 192.0.2.1:80 -s rr\n').status, 0);
    assert.equal(f.run(['-Sn']).stdout, 'this is not ipvsadm output\n');
  });

  it('leak-pipes: ipvsadm exits 0 but a child outside its process group keeps stdout open', async () => {
    const f = fresh({ LVSD_FAKE_IPVS_FAIL: 'leak-pipes' });
    const child = spawn(fake, ['-Sn'], { env: { ...process.env, LVSD_FAKE_IPVS_STATE: f.state, LVSD_FAKE_IPVS_LOG: f.log, LVSD_FAKE_IPVS_FAIL: 'leak-pipes' }, detached: true });
    let closed = false;
    child.on('close', () => (closed = true));
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 0);
    const orphan = (await logEntries(f.log, 2)).find((e) => 'orphan' in e)!.orphan as number;
    try {
      assert.ok(alive(orphan), 'the child outlives ipvsadm');
      assert.equal(closed, false, 'its pipes are still open');
      assert.notEqual(Number(execFileSync('ps', ['-o', 'pgid=', '-p', String(orphan)], { encoding: 'utf8' }).trim()), child.pid, 'in another process group');
    } finally {
      process.kill(orphan, 'SIGKILL');
    }
    if (!closed) await once(child, 'close');
  });

  it('hang-setsid: the process-group SIGKILL ends ipvsadm, not the child holding its pipes', async () => {
    const f = fresh();
    const child = spawn(fake, ['-R'], { env: { ...process.env, LVSD_FAKE_IPVS_STATE: f.state, LVSD_FAKE_IPVS_LOG: f.log, LVSD_FAKE_IPVS_FAIL: 'hang-setsid@restore' }, detached: true });
    child.stdin.end('-A -t 192.0.2.1:80 -s rr\n');
    let closed = false;
    child.on('close', () => (closed = true));
    const orphan = (await logEntries(f.log, 2)).find((e) => 'orphan' in e)!.orphan as number;
    try {
      process.kill(-child.pid!, 'SIGKILL');
      const [, signal] = (await once(child, 'exit')) as [number | null, string];
      assert.equal(signal, 'SIGKILL');
      assert.ok(alive(orphan), 'the child survived the group kill');
      assert.equal(closed, false, 'the pipes are still open');
    } finally {
      process.kill(orphan, 'SIGKILL');
    }
    if (!closed) await once(child, 'close');
    assert.equal(f.run(['-Sn']).stdout, '', 'nothing was applied');
  });
});
