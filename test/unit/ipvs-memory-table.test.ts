// MemoryTable against what real ipvsadm 1.31 + Linux 6.1 did with the same input (captured cases).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IpvsTable } from '../../src/ipvs/model.js';
import { MemoryTable } from '../../src/ipvs/memory-table.js';
import { parseSave, parseThresholds } from '../../src/ipvs/parse.js';
import { fixturesDir } from '../helpers/paths.js';

const dir = join(fixturesDir, 'ipvs');
const read = (...p: string[]): string => readFileSync(join(dir, ...p), 'utf8');
const lines = (text: string): string[] => text.split('\n').filter((l, i, a) => !(l === '' && i === a.length - 1));
const errLines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

/** Where the memory table knowingly differs from ipvsadm, and what it does instead. */
const DIVERGENCES: Readonly<Record<string, { errors: string[]; status: number; after: string }>> = {
  // ipvsadm resolves port names ("198.51.100.1:http") through /etc/services; lvsd only ever writes
  // numbers, so the memory table takes numbers only.
  'address-forms': {
    errors: ['illegal virtual server address[:port] specified'],
    status: 2,
    after: '-A -t [2001:db8::10]:80 -s rr\n-a -t [2001:db8::10]:80 -r [2001:db8::11]:80 -m -w 1\n',
  },
};

describe('MemoryTable: every captured ipvsadm -R case', () => {
  for (const name of readdirSync(join(dir, 'restore')).sort()) {
    const has = (f: string): boolean => existsSync(join(dir, 'restore', name, f));
    if (!has('input')) continue;
    it(name, async () => {
      const memory = new MemoryTable();
      if (has('setup') && read('restore', name, 'setup') !== '') {
        assert.equal(memory.restore(lines(read('restore', name, 'setup'))).status, 0);
      }
      const input = lines(read('restore', name, 'input'));
      // restoreInTurns (what the daemon's model uses, 2 lines a turn here) gives restore()'s result.
      const inTurns = new MemoryTable();
      if (has('setup') && read('restore', name, 'setup') !== '') inTurns.restore(lines(read('restore', name, 'setup')));
      const t = await inTurns.restoreInTurns(input, 2);
      const r = memory.restore(input);
      assert.deepEqual(t, r, 'restoreInTurns: errors and status');
      assert.equal(inTurns.save(), memory.save(), 'restoreInTurns: the table');
      const expected = DIVERGENCES[name] ?? {
        errors: errLines(read('restore', name, 'stderr')),
        status: Number(read('restore', name, 'status')),
        after: read('restore', name, 'after'),
      };
      assert.deepEqual(r.errors, expected.errors, 'stderr');
      assert.equal(r.status, expected.status, 'exit status');
      assert.equal(memory.save(), expected.after, 'ipvsadm -Sn afterwards');
      if (has('after-thresholds')) {
        const expected = parseThresholds(read('restore', name, 'after-thresholds'));
        for (const [key, svc] of memory.table().services) {
          for (const [rk, real] of svc.reals) {
            const t = expected.get(key)?.get(rk);
            assert.deepEqual({ upper: real.upperThreshold, lower: real.lowerThreshold }, t, `${key} ${rk}`);
          }
        }
      }
    });
  }
});

describe('MemoryTable: captured single commands', () => {
  // Only the table commands; the fake ipvsadm test covers the others (-Sn --bogus).
  const tableCommand = /^-[AEDaed] /;
  for (const name of readdirSync(join(dir, 'cmd')).sort()) {
    const args = read('cmd', name, 'args').trim();
    if (!tableCommand.test(args)) continue;
    it(name, () => {
      const memory = new MemoryTable();
      const setup = read('cmd', name, 'setup');
      if (setup !== '') memory.restore(lines(setup));
      const r = memory.exec(args.split(' '));
      assert.deepEqual(r.errors, errLines(read('cmd', name, 'stderr')));
      assert.equal(r.status, Number(read('cmd', name, 'status')));
      assert.equal(memory.save(), read('cmd', name, 'after'));
    });
  }
});

describe('MemoryTable: the captured table', () => {
  it('restoring `ipvsadm -Sn` output saves it back byte for byte (order, flags, signed marks)', () => {
    const memory = new MemoryTable();
    assert.deepEqual(memory.restore(lines(read('save.txt'))), { errors: [], status: 0 });
    assert.equal(memory.save(), read('save.txt'));
  });

  it('the rules of the big table give the status and errors ipvsadm gave', () => {
    const memory = new MemoryTable();
    const out = errLines(read('table-restore.out'));
    const r = memory.restore(lines(read('table.rules')));
    assert.deepEqual([...r.errors, String(r.status)], out);
  });

  it('starts from a given table, thresholds and all', () => {
    const table = parseSave(read('save.txt'));
    const memory = new MemoryTable(table);
    assert.deepEqual(memory.table(), table);
    assert.equal(memory.save(), read('save.txt'));
  });
});

describe('MemoryTable: semantics', () => {
  it('goes on after kernel errors; the status is that of the last line', () => {
    const m = new MemoryTable();
    const r = m.restore(['-D -t 192.0.2.1:80', '-A -t 192.0.2.1:80 -s rr', '-A -t 192.0.2.1:80 -s rr', '-a -t 192.0.2.1:80 -r 10.0.0.1:80 -m']);
    assert.deepEqual(r, { errors: ['No such service', 'Service already exists'], status: 0 });
    assert.equal(m.save(), '-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 1\n');
  });

  it('stops at an argument error of its own, status 2', () => {
    const m = new MemoryTable();
    const r = m.restore(['-A -t 192.0.2.1:80 -s rr', '-a -t 192.0.2.1:80 -r 10.0.0.1:80 -w -1', '-A -t 192.0.2.2:80 -s rr']);
    assert.deepEqual(r, { errors: ['illegal weight specified'], status: 2 });
    assert.equal(m.save(), '-A -t 192.0.2.1:80 -s rr\n');
  });

  it('edits replace every option (what ipvsadm -E/-e do)', () => {
    const m = new MemoryTable();
    m.restore(['-A -t 192.0.2.1:80 -s sh -b sh-port -p 60', '-a -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 5 -x 9',
      '-E -t 192.0.2.1:80 -s rr', '-e -t 192.0.2.1:80 -r 10.0.0.1:80 -w 2']);
    const svc = m.table().services.get('tcp:192.0.2.1:80');
    assert.ok(svc);
    assert.deepEqual([svc.scheduler, svc.persistence, svc.extraArgs], ['rr', null, []]);
    assert.deepEqual(svc.reals.get('10.0.0.1:80'), {
      key: '10.0.0.1:80', address: { host: '10.0.0.1', family: 4, port: 80 },
      forwarding: 'gate', weight: 2, upperThreshold: 0, lowerThreshold: 0,
    });
  });

  it('deleting a service takes its reals; deleting a real leaves the service', () => {
    const m = new MemoryTable();
    const r = m.restore(['-A -f 7 -6 -s rr', '-a -f 7 -6 -r [2001:db8::1]:0 -g', '-a -f 7 -6 -r [2001:db8::2]:0 -g',
      '-d -f 7 -6 -r [2001:db8::1]:0', '-d -f 7 -6 -r [2001:db8::1]:0', '-D -f 7', '-A -t 192.0.2.1:80', '-D -t 192.0.2.1:80']);
    assert.deepEqual(r, { errors: ['No such destination', 'No such service'], status: 0 });
    assert.equal(m.save(), '-A -f 7 -6 -s rr\n-a -f 7 -6 -r [2001:db8::2]:0 -g -w 1\n');
  });

  it('never flushes: -C is an error, the table stays', () => {
    const m = new MemoryTable();
    m.restore(['-A -t 192.0.2.1:80 -s rr']);
    const r = m.restore(['-C']);
    assert.equal(r.status, 255);
    assert.equal(m.save(), '-A -t 192.0.2.1:80 -s rr\n');
  });
});

describe('MemoryTable.view(): the reconciler model, kept per touched service', () => {
  it('after every kind of change it holds what table() holds, and earlier views stay as they were', () => {
    const m = new MemoryTable();
    m.restore(['-A -t 192.0.2.1:80 -s rr', '-a -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 1', '-A -u 192.0.2.2:53 -s wlc']);
    const first = m.view();
    const steps = [
      ['-a -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 2'],
      ['-e -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 7'],
      ['-E -t 192.0.2.1:80 -s wlc -p 60'],
      ['-d -t 192.0.2.1:80 -r 10.0.0.2:80'],
      ['-D -u 192.0.2.2:53', '-A -f 5 -s rr', '-a -f 5 -r 10.0.0.9:0 -g -w 1'],
      // Several lines for one service in one restore: its view is rebuilt once, from the last state.
      ['-e -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 3', '-a -t 192.0.2.1:80 -r 10.0.0.3:80 -m -w 1', '-e -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 4'],
      ['-D -f 5', '-A -f 5 -s wlc', '-A -t 192.0.2.3:80 -s rr', '-D -t 192.0.2.3:80'],
    ];
    for (const lines of steps) {
      assert.deepEqual(m.restore(lines).errors, []);
      const sorted = (t: IpvsTable) => [...t.services.values()].map((s) => ({ ...s, reals: [...s.reals.values()].sort((a, b) => (a.key < b.key ? -1 : 1)) })).sort((a, b) => (a.key < b.key ? -1 : 1));
      assert.deepEqual(sorted(m.view()), sorted(m.table()), lines.join(' / '));
    }
    assert.deepEqual([...first.services.keys()], ['tcp:192.0.2.1:80', 'udp:192.0.2.2:53']);
    assert.equal(first.services.get('tcp:192.0.2.1:80')!.reals.get('10.0.0.1:80')!.weight, 1);
  });
});
