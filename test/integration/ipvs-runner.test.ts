// The ipvsadm runner against the fake ipvsadm (test/fixtures/bin first on PATH), and the dry-run runner.

import { after, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkIpvsadm, createDryRunRunner, createIpvsadmRunner } from '../../src/ipvs/runner.js';
import { parseSave } from '../../src/ipvs/parse.js';
import { LvsdError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { fixturesDir } from '../helpers/paths.js';

const binDir = join(fixturesDir, 'bin');
const fake = join(binDir, 'ipvsadm');
process.env.PATH = `${binDir}:${process.env.PATH ?? ''}`;
const savedTable = readFileSync(join(fixturesDir, 'ipvs', 'save.txt'), 'utf8');

const work = mkdtempSync(join(tmpdir(), 'lvsd-ipvs-runner-'));
after(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
let logFile = '';
let stateFile = '';

/** A logger whose JSON lines land in `lines`. */
function captureLogger(): { logger: ReturnType<typeof createLogger>; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('info', { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}
const { logger } = captureLogger();
const runner = () => createIpvsadmRunner({ path: 'ipvsadm', logger });

/** The invocations the fake logged. */
function invocations(): { argv: string[]; stdin: string | null; pid: number }[] {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { argv: string[]; stdin: string | null; pid: number });
}
const code = (c: string) => (e: unknown): boolean => e instanceof LvsdError && e.code === c;

beforeEach(() => {
  n++;
  stateFile = join(work, `state-${n}`);
  logFile = join(work, `log-${n}`);
  process.env.LVSD_FAKE_IPVS_STATE = stateFile;
  process.env.LVSD_FAKE_IPVS_LOG = logFile;
  delete process.env.LVSD_FAKE_IPVS_FAIL;
});

describe('createIpvsadmRunner', () => {
  it('read(): the -Sn table with thresholds from -Ln --thresholds', async () => {
    writeFileSync(stateFile, savedTable);
    execFileSync(fake, ['-e', '-t', '192.0.2.10:80', '-r', '10.0.0.13:80', '-g', '-w', '5', '-x', '100', '-y', '50']);
    writeFileSync(logFile, '');
    const table = await runner().read();
    const expected = parseSave(savedTable);
    const svc = expected.services.get('tcp:192.0.2.10:80')!;
    (svc.reals as Map<string, unknown>).set('10.0.0.13:80', { ...svc.reals.get('10.0.0.13:80')!, upperThreshold: 100, lowerThreshold: 50 });
    assert.deepEqual(table, expected);
    assert.deepEqual(invocations().map((i) => i.argv), [['-Sn'], ['-Ln', '--thresholds', '--exact']]);
  });

  it('read() of an empty table runs only -Sn', async () => {
    assert.equal((await runner().read()).services.size, 0);
    assert.deepEqual(invocations().map((i) => i.argv), [['-Sn']]);
  });

  it('apply(): all lines go to one ipvsadm -R on stdin', async () => {
    const lines = ['-A -t 192.0.2.10:80 -s wlc -p 300 -M 255.255.255.255', '-a -t 192.0.2.10:80 -r 10.0.0.11:80 -m -w 100',
      '-A -f 13 -6 -s rr', '-a -f 13 -6 -r [2001:db8::41]:0 -g -w 1'];
    assert.deepEqual(await runner().apply(lines), { errors: [] });
    assert.deepEqual(invocations(), [{ argv: ['-R'], stdin: `${lines.join('\n')}\n`, pid: invocations()[0]!.pid }]);
    const table = await runner().read();
    assert.deepEqual([...table.services.keys()], ['tcp:192.0.2.10:80', 'fwmark:13:v6']);
    assert.equal(table.services.get('tcp:192.0.2.10:80')?.reals.get('10.0.0.11:80')?.weight, 100);
  });

  it('apply(): failing lines are reported, the lines after them still run', async () => {
    writeFileSync(stateFile, '-A -t 192.0.2.10:80 -s rr\n');
    const r = await runner().apply(['-A -t 192.0.2.10:80 -s rr', '-d -t 192.0.2.10:80 -r 10.0.0.9:80',
      '-a -t 192.0.2.10:80 -r 10.0.0.11:80 -m -w 3']);
    assert.deepEqual(r, { errors: ['Service already exists', 'No such destination'] });
    assert.equal(invocations().length, 1);
    const table = await runner().read();
    assert.deepEqual([...table.services.get('tcp:192.0.2.10:80')!.reals.keys()], ['10.0.0.11:80']);
  });

  it('apply(): an argument error stops ipvsadm -R; the caller learns it by re-reading', async () => {
    const r = await runner().apply(['-A -t 192.0.2.10:80 -s rr', '-a -t 192.0.2.10:80 -r 10.0.0.11:80 -m -w -1',
      '-A -t 192.0.2.11:80 -s rr']);
    assert.deepEqual(r, { errors: ['illegal weight specified'] });
    assert.deepEqual([...(await runner().read()).services.keys()], ['tcp:192.0.2.10:80']);
  });

  it('apply(): a kernel failure on one line (LVSD_FAKE_IPVS_FAIL=line:...)', async () => {
    process.env.LVSD_FAKE_IPVS_FAIL = 'line:10.0.0.12';
    const r = await runner().apply(['-A -t 192.0.2.10:80 -s rr', '-a -t 192.0.2.10:80 -r 10.0.0.12:80 -m -w 1',
      '-a -t 192.0.2.10:80 -r 10.0.0.13:80 -m -w 1']);
    assert.deepEqual(r, { errors: ['Memory allocation problem'] });
  });

  it('apply([]) runs nothing', async () => {
    assert.deepEqual(await runner().apply([]), { errors: [] });
    assert.deepEqual(invocations(), []);
  });

  it('apply() refuses a flush and a line with a line break, before running anything', async () => {
    await assert.rejects(runner().apply(['-A -t 192.0.2.10:80 -s rr', '-C']), /refusing to flush/);
    await assert.rejects(runner().apply(['--clear']), /refusing to flush/);
    await assert.rejects(runner().apply(['-A -t 192.0.2.10:80 -s rr\n-C']), /line break/);
    assert.deepEqual(invocations(), []);
  });

  it('counters(): ActiveConn, InActConn and PersistConn from one -Ln --persistent-conn --exact', async () => {
    writeFileSync(stateFile, savedTable);
    execFileSync(fake, ['--fake-counters', 'tcp:192.0.2.100:80', '10.10.2.2:80', '1', '4', '1']);
    execFileSync(fake, ['--fake-counters', 'fwmark:13:v6', '[2001:db8::41]', '7', '0']);
    writeFileSync(logFile, '');
    const c = await runner().counters();
    assert.deepEqual(c.get('tcp:192.0.2.100:80')?.get('10.10.2.2:80'), { activeConns: 1, inactiveConns: 4, persistentConns: 1 });
    assert.deepEqual(c.get('fwmark:13:v6')?.get('[2001:db8::41]'), { activeConns: 7, inactiveConns: 0, persistentConns: 0 });
    assert.deepEqual(c.get('tcp:192.0.2.10:80')?.get('10.0.0.11:80'), { activeConns: 0, inactiveConns: 0, persistentConns: 0 });
    assert.deepEqual(invocations().map((i) => i.argv), [['-Ln', '--persistent-conn', '--exact']]);
  });

  it('stats(): traffic of every service and real from one -Ln --stats --exact', async () => {
    writeFileSync(stateFile, savedTable);
    writeFileSync(logFile, '');
    const stats = await runner().stats();
    const table = await runner().read();
    assert.deepEqual([...stats.keys()].sort(), [...table.services.keys()].sort());
    for (const [key, svc] of table.services) assert.deepEqual([...stats.get(key)!.reals.keys()].sort(), [...svc.reals.keys()].sort());
    assert.deepEqual(invocations()[0]!.argv, ['-Ln', '--stats', '--exact']);
  });

  it('a missing ipvsadm is LVSD_IPVSADM_MISSING naming the path', async () => {
    const missing = createIpvsadmRunner({ path: join(work, 'no', 'ipvsadm'), logger });
    await assert.rejects(missing.read(), (e: unknown) => code('LVSD_IPVSADM_MISSING')(e) && (e as Error).message.includes(join(work, 'no', 'ipvsadm')));
    await assert.rejects(missing.apply(['-A -t 192.0.2.10:80 -s rr']), code('LVSD_IPVSADM_MISSING'));
    await assert.rejects(createIpvsadmRunner({ path: 'ipvsadm-not-installed', logger }).counters(), code('LVSD_IPVSADM_MISSING'));
  });

  it('no IPVS in the kernel is LVSD_IPVSADM_FAILED with ipvsadm\'s words and a modprobe hint', async () => {
    process.env.LVSD_FAKE_IPVS_FAIL = 'not-loaded';
    const check = (e: unknown): boolean => code('LVSD_IPVSADM_FAILED')(e)
      && /Protocol not available/.test((e as Error).message) && /modprobe ip_vs/.test((e as Error).message);
    await assert.rejects(runner().read(), check);
    await assert.rejects(runner().counters(), check);
    await assert.rejects(runner().apply(['-A -t 192.0.2.10:80 -s rr']), check);
  });

  it('no privilege is LVSD_IPVSADM_FAILED with a CAP_NET_ADMIN hint', async () => {
    process.env.LVSD_FAKE_IPVS_FAIL = 'permission';
    await assert.rejects(runner().read(), (e: unknown) => code('LVSD_IPVSADM_FAILED')(e)
      && /Permission denied \(you must be root\)/.test((e as Error).message) && /CAP_NET_ADMIN/.test((e as Error).message));
  });

  it('a hung ipvsadm is killed (its whole process group) and reported', async () => {
    process.env.LVSD_FAKE_IPVS_FAIL = 'hang';
    const slow = createIpvsadmRunner({ path: 'ipvsadm', logger, readTimeoutMs: 500, applyTimeoutMs: 500 });
    await assert.rejects(slow.read(), (e: unknown) => code('LVSD_IPVSADM_FAILED')(e) && /timed out/.test((e as Error).message));
    await assert.rejects(slow.apply(['-A -t 192.0.2.10:80 -s rr']), /timed out/);
    for (const { pid } of invocations()) assert.throws(() => process.kill(pid, 0), /ESRCH/);
  });

  /** Kill the processes the fake left outside its group (they hold the pipes until then). */
  const killOrphans = (): void => {
    const orphans = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { orphan?: number }) : [];
    for (const { orphan } of orphans) if (orphan) try { process.kill(orphan, 'SIGKILL'); } catch { /* gone */ }
  };

  it('regression: a child that left the process group holding the pipes no longer wedges a killed -R (no second deadline after SIGKILL)', { timeout: 60_000 }, async () => {
    process.env.LVSD_FAKE_IPVS_FAIL = 'hang-setsid@restore';
    try {
      const r = createIpvsadmRunner({ path: 'ipvsadm', logger, pipeGraceMs: 300 });
      const ac = new AbortController();
      const pending = r.apply(['-A -t 192.0.2.10:80 -s rr'], { signal: ac.signal });
      // Kill it once the pipe holder is there (the deadline does the same; an abort does not race start-up).
      const orphans = (): number[] => (existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { orphan?: number }).orphan ?? 0).filter(Boolean) : []);
      for (let i = 0; i < 1000 && orphans().length === 0; i++) await new Promise((res) => setTimeout(res, 20));
      assert.equal(orphans().length, 1, 'the fake started a pipe holder');
      ac.abort(new Error('test'));
      await assert.rejects(pending, code('LVSD_IPVSADM_ABORTED'));
      process.kill(orphans()[0]!, 0); // still alive and holding the pipes: only the bounded wait ended the run
    } finally {
      killOrphans();
    }
  });

  it('an ipvsadm that exits while a child holds its pipes: the read completes with what it printed, and a warning', async () => {
    writeFileSync(stateFile, savedTable);
    process.env.LVSD_FAKE_IPVS_FAIL = 'leak-pipes@read';
    const { logger: l, lines } = captureLogger();
    try {
      const table = await createIpvsadmRunner({ path: 'ipvsadm', logger: l, pipeGraceMs: 300 }).read();
      assert.deepEqual([...table.services.keys()], [...parseSave(savedTable).services.keys()]);
      assert.ok(lines.some((x) => /still holds its output open/.test(String(x.msg))));
    } finally {
      killOrphans();
    }
  });

  it('an AbortSignal kills a running ipvsadm (its group) and rejects LVSD_IPVSADM_ABORTED', async () => {
    process.env.LVSD_FAKE_IPVS_FAIL = 'hang';
    const ac = new AbortController();
    const pending = runner().apply(['-A -t 192.0.2.10:80 -s rr'], { signal: ac.signal });
    // Abort once the fake is running (it logs first).
    for (let i = 0; i < 500 && invocations().length === 0; i++) await new Promise((res) => setTimeout(res, 10));
    ac.abort(new Error('lvsd stopping'));
    await assert.rejects(pending, (e: unknown) => code('LVSD_IPVSADM_ABORTED')(e) && /lvsd stopping/.test((e as Error).message));
    for (const { pid } of invocations()) assert.throws(() => process.kill(pid, 0), /ESRCH/);
    await assert.rejects(runner().read({ signal: ac.signal }), code('LVSD_IPVSADM_ABORTED'), 'an aborted signal runs nothing');
    assert.equal(invocations().length, 1);
  });

  it('apply(): a failing status with nothing on stderr still counts as an error', async () => {
    process.env.LVSD_FAKE_IPVS_FAIL = 'exit:1@restore';
    assert.deepEqual(await runner().apply(['-A -t 192.0.2.10:80 -s rr']), { errors: ['fake ipvsadm: forced failure'] });
  });

  it('output that is not ipvsadm\'s is LVSD_IPVS_PARSE', async () => {
    process.env.LVSD_FAKE_IPVS_FAIL = 'garbage';
    await assert.rejects(runner().read(), code('LVSD_IPVS_PARSE'));
    await assert.rejects(runner().counters(), code('LVSD_IPVS_PARSE'));
  });
});

describe('checkIpvsadm', () => {
  it('reports the version', async () => {
    assert.deepEqual(await checkIpvsadm('ipvsadm'), { ok: true, version: 'v1.31' });
  });

  it('reports a missing binary', async () => {
    const r = await checkIpvsadm(join(work, 'nope'));
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.error.code === 'LVSD_IPVSADM_MISSING');
  });

  it('reports a kernel without IPVS (ipvsadm opens IPVS even for --version)', async () => {
    process.env.LVSD_FAKE_IPVS_FAIL = 'not-loaded';
    const r = await checkIpvsadm('ipvsadm');
    assert.ok(!r.ok && r.error.code === 'LVSD_IPVSADM_FAILED' && /modprobe ip_vs/.test(r.error.message));
  });
});

describe('createDryRunRunner', () => {
  it('starts empty, applies to memory, logs each line, never runs ipvsadm', async () => {
    const { logger: dryLogger, lines: logged } = captureLogger();
    const dry = createDryRunRunner({ logger: dryLogger });
    assert.equal((await dry.read()).services.size, 0);
    const lines = ['-A -t 192.0.2.10:80 -s wlc', '-a -t 192.0.2.10:80 -r 10.0.0.11:80 -m -w 100', '-A -t 192.0.2.10:80 -s rr'];
    assert.deepEqual(await dry.apply(lines), { errors: ['Service already exists'] });
    assert.deepEqual(logged.filter((l) => l.msg === 'dry-run: ipvsadm -R line').map((l) => l.line), lines);
    const table = await dry.read();
    assert.equal(table.services.get('tcp:192.0.2.10:80')?.reals.get('10.0.0.11:80')?.weight, 100);
    assert.deepEqual(await dry.counters(), new Map([['tcp:192.0.2.10:80',
      new Map([['10.0.0.11:80', { activeConns: 0, inactiveConns: 0, persistentConns: 0 }]])]]));
    await assert.rejects(dry.apply(['-C']), /refusing to flush/);
    assert.deepEqual(invocations(), []);
  });
});
