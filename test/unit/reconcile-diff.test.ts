// diffTables: edits over delete+add, foreign services untouched, owned-but-unconfigured deleted, order (table-driven).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IpvsOp, IpvsTable } from '../../src/ipvs/model.js';
import { diffTables } from '../../src/reconcile/diff.js';
import { table } from '../helpers/reconcile-fixtures.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryTable } from '../../src/ipvs/memory-table.js';
import { parseSave } from '../../src/ipvs/parse.js';
import { formatOp } from '../../src/ipvs/format.js';
import { fixturesDir } from '../helpers/paths.js';
import type { KernelServiceSpec } from '../helpers/reconcile-fixtures.js';

const WEB = 'tcp:192.0.2.10:80';
const DNS = 'udp:192.0.2.53:53';
const V6 = 'tcp:[2001:db8::10]:443';
const FW = 'fwmark:12:v4';
const FOREIGN = 'tcp:198.51.100.1:443';
const R1 = '10.0.0.1:80';
const R2 = '10.0.0.2:80';
const R3 = '10.0.0.3:80';

/** One line per op, enough to see kind, target and the values an edit sets. */
function show(op: IpvsOp): string {
  const s = op.service;
  const head = `${op.op} ${s.key}`;
  if (op.op === 'add-real' || op.op === 'edit-real' || op.op === 'delete-real') {
    return `${head} ${op.real.key} w=${op.real.weight} ${op.real.forwarding}`;
  }
  const p = s.persistence ? ` p=${s.persistence.timeoutS}/${s.persistence.netmask}` : '';
  return `${head} ${s.scheduler}${p}`;
}

interface Case {
  readonly name: string;
  readonly desired: readonly KernelServiceSpec[];
  readonly actual: readonly KernelServiceSpec[];
  readonly owned?: readonly string[];
  readonly expect: readonly string[];
}

const cases: readonly Case[] = [
  {
    name: 'equal tables: no ops',
    desired: [{ key: WEB, reals: [[R1, 1], [R2, 2]] }],
    actual: [{ key: WEB, reals: [[R2, 2], [R1, 1]] }],
    expect: [],
  },
  {
    name: 'new service: add-service, then its reals in key order',
    desired: [{ key: WEB, reals: [[R2, 2], [R1, 1]] }],
    actual: [],
    expect: [`add-service ${WEB} wlc`, `add-real ${WEB} ${R1} w=1 masq`, `add-real ${WEB} ${R2} w=2 masq`],
  },
  {
    name: 'scheduler change is one -E, reals untouched',
    desired: [{ key: WEB, scheduler: 'rr', reals: [[R1, 1]] }],
    actual: [{ key: WEB, scheduler: 'wlc', reals: [[R1, 1]] }],
    expect: [`edit-service ${WEB} rr`],
  },
  {
    name: 'persistence added is -E',
    desired: [{ key: WEB, persistence: { timeoutS: 300, netmask: '255.255.255.0' } }],
    actual: [{ key: WEB }],
    expect: [`edit-service ${WEB} wlc p=300/255.255.255.0`],
  },
  {
    name: 'persistence timeout change is -E',
    desired: [{ key: WEB, persistence: { timeoutS: 600, netmask: '255.255.255.255' } }],
    actual: [{ key: WEB, persistence: { timeoutS: 300, netmask: '255.255.255.255' } }],
    expect: [`edit-service ${WEB} wlc p=600/255.255.255.255`],
  },
  {
    name: 'persistence removed is -E',
    desired: [{ key: WEB }],
    actual: [{ key: WEB, persistence: { timeoutS: 300, netmask: '255.255.255.255' } }],
    expect: [`edit-service ${WEB} wlc`],
  },
  {
    name: 'a default netmask read as empty equals the explicit default',
    desired: [
      { key: WEB, persistence: { timeoutS: 300, netmask: '255.255.255.255' } },
      { key: V6, persistence: { timeoutS: 300, netmask: '128' } },
    ],
    actual: [
      { key: WEB, persistence: { timeoutS: 300, netmask: '' } },
      { key: V6, persistence: { timeoutS: 300, netmask: '' } },
    ],
    expect: [],
  },
  {
    name: 'weight change is -e, not delete+add',
    desired: [{ key: WEB, reals: [[R1, 0], [R2, 2]] }],
    actual: [{ key: WEB, reals: [[R1, 10], [R2, 2]] }],
    expect: [`edit-real ${WEB} ${R1} w=0 masq`],
  },
  {
    name: 'forwarding change is -e',
    desired: [{ key: WEB, reals: [[R1, 1, 'gate']] }],
    actual: [{ key: WEB, reals: [[R1, 1, 'masq']] }],
    expect: [`edit-real ${WEB} ${R1} w=1 gate`],
  },
  {
    name: 'threshold differences alone are not lvsd business',
    desired: [{ key: WEB, reals: [[R1, 1, 'masq', 0, 0]] }],
    actual: [{ key: WEB, reals: [[R1, 1, 'masq', 100, 10]] }],
    expect: [],
  },
  {
    name: 'flags lvsd does not manage (extraArgs) alone cause no edit',
    desired: [{ key: WEB, extraArgs: [] }],
    actual: [{ key: WEB, extraArgs: ['-b', 'sh-port'] }],
    expect: [],
  },
  {
    name: 'reals added and removed inside a managed service (unknown ones removed)',
    desired: [{ key: WEB, reals: [[R1, 1], [R3, 3]] }],
    actual: [{ key: WEB, reals: [[R1, 1], [R2, 2], ['10.9.9.9:80', 1]] }],
    expect: [
      `add-real ${WEB} ${R3} w=3 masq`,
      `delete-real ${WEB} ${R2} w=2 masq`,
      `delete-real ${WEB} 10.9.9.9:80 w=1 masq`,
    ],
  },
  {
    name: 'foreign services are never touched, whatever they hold',
    desired: [{ key: WEB, reals: [[R1, 1]] }],
    actual: [
      { key: FOREIGN, scheduler: 'sh', reals: [[R1, 7]] },
      { key: 'tcp:192.0.2.10:8080', reals: [[R2, 1]] },
      { key: WEB, reals: [[R1, 1]] },
    ],
    expect: [],
  },
  {
    name: 'an empty desired table with nothing owned changes nothing',
    desired: [],
    actual: [{ key: FOREIGN, reals: [[R1, 1]] }, { key: WEB, reals: [[R1, 1]] }],
    expect: [],
  },
  {
    name: 'owned but no longer desired: one delete-service (its reals go with it)',
    desired: [],
    actual: [{ key: WEB, reals: [[R1, 1], [R2, 1]] }, { key: FOREIGN }],
    owned: [WEB, 'tcp:192.0.2.99:80'],
    expect: [`delete-service ${WEB} wlc`],
  },
  {
    name: 'phases: service adds/edits, real adds/edits, real deletes, service deletes; keys sorted in each',
    desired: [
      { key: WEB, scheduler: 'rr', reals: [[R1, 5], [R3, 1]] },
      { key: DNS, reals: [['10.0.0.53:53', 1]] },
      { key: FW, reals: [['10.0.0.1', 1, 'gate']] },
    ],
    actual: [
      { key: WEB, reals: [[R1, 1], [R2, 1]] },
      { key: 'tcp:192.0.2.20:80', reals: [[R1, 1]] },
      { key: 'tcp:192.0.2.11:80', reals: [[R1, 1]] },
      { key: FW, reals: [['10.0.0.1', 1, 'gate'], ['10.0.0.2', 1, 'gate']] },
    ],
    owned: ['tcp:192.0.2.20:80', 'tcp:192.0.2.11:80', FW],
    expect: [
      `edit-service ${WEB} rr`,
      `add-service ${DNS} wlc`,
      `edit-real ${WEB} ${R1} w=5 masq`,
      `add-real ${WEB} ${R3} w=1 masq`,
      `add-real ${DNS} 10.0.0.53:53 w=1 masq`,
      `delete-real ${FW} 10.0.0.2 w=1 gate`,
      `delete-real ${WEB} ${R2} w=1 masq`,
      'delete-service tcp:192.0.2.11:80 wlc',
      'delete-service tcp:192.0.2.20:80 wlc',
    ],
  },
  {
    name: 'IPv6 service and reals',
    desired: [{ key: V6, reals: [['[2001:db8::1]:443', 2], ['[2001:db8::2]:443', 1]] }],
    actual: [{ key: V6, reals: [['[2001:db8::1]:443', 1], ['[2001:db8::3]:443', 1]] }],
    expect: [
      `edit-real ${V6} [2001:db8::1]:443 w=2 masq`,
      `add-real ${V6} [2001:db8::2]:443 w=1 masq`,
      `delete-real ${V6} [2001:db8::3]:443 w=1 masq`,
    ],
  },
  {
    name: 'fwmark service with port-less reals',
    desired: [{ key: FW, scheduler: 'sh', reals: [['10.0.0.1', 1, 'gate']] }],
    actual: [],
    expect: [`add-service ${FW} sh`, `add-real ${FW} 10.0.0.1 w=1 gate`],
  },
  {
    name: 'a desired service is managed even when not (yet) recorded as owned',
    desired: [{ key: WEB, reals: [[R1, 1]] }],
    actual: [{ key: WEB, reals: [[R2, 1]] }],
    owned: [],
    expect: [`add-real ${WEB} ${R1} w=1 masq`, `delete-real ${WEB} ${R2} w=1 masq`],
  },
];

describe('diffTables', () => {
  for (const c of cases) {
    it(c.name, () => {
      const ops = diffTables(table(c.desired), table(c.actual), new Set(c.owned ?? []));
      assert.deepEqual(ops.map(show), c.expect);
    });
  }

  it('keeps kernel extraArgs on -E (same scheduler) and kernel thresholds on -e', () => {
    const ops = diffTables(
      table([{ key: WEB, scheduler: 'sh', persistence: { timeoutS: 60, netmask: '255.255.255.255' }, reals: [[R1, 5, 'gate']] }]),
      table([{ key: WEB, scheduler: 'sh', extraArgs: ['-b', 'sh-port'], reals: [[R1, 1, 'masq', 100, 20]] }]),
      new Set(),
    );
    assert.equal(ops.length, 2);
    const [edit, real] = ops;
    assert.equal(edit?.op, 'edit-service');
    assert.deepEqual(edit.service.extraArgs, ['-b', 'sh-port']);
    assert.equal(real?.op, 'edit-real');
    assert.equal(real.op === 'edit-real' && real.real.upperThreshold, 100);
    assert.equal(real.op === 'edit-real' && real.real.lowerThreshold, 20);
    assert.deepEqual(real.service.extraArgs, ['-b', 'sh-port']);
    assert.equal('reals' in real.service, false, 'op heads carry no reals');
  });

  it('is deterministic: kernel order of services and reals does not change the ops', () => {
    const desired = table([
      { key: WEB, reals: [[R1, 2], [R2, 2], [R3, 2]] },
      { key: V6, reals: [['[2001:db8::1]:443', 1]] },
    ]);
    const a = table([
      { key: WEB, reals: [[R1, 1], [R2, 1], ['10.0.0.4:80', 1]] },
      { key: 'tcp:192.0.2.30:80' },
      { key: 'tcp:192.0.2.31:80' },
    ]);
    const b: IpvsTable = {
      services: new Map(
        [...a.services.values()].reverse().map((s) => {
          const rev = { ...s, reals: new Map([...s.reals].reverse()) };
          return [s.key, rev] as const;
        }),
      ),
    };
    const owned = new Set(['tcp:192.0.2.30:80', 'tcp:192.0.2.31:80']);
    assert.deepEqual(diffTables(desired, b, owned).map(show), diffTables(desired, a, owned).map(show));
  });

  it('applying the ops to actual yields desired for the managed part and leaves foreign ones as they were', () => {
    const desired = table([
      { key: WEB, scheduler: 'rr', reals: [[R1, 5], [R3, 1, 'gate']] },
      { key: DNS, reals: [['10.0.0.53:53', 1]] },
    ]);
    const actual = table([
      { key: WEB, reals: [[R1, 1], [R2, 1]] },
      { key: FOREIGN, reals: [[R1, 1]] },
      { key: 'tcp:192.0.2.20:80', reals: [[R1, 1]] },
    ]);
    const owned = new Set(['tcp:192.0.2.20:80']);
    const after = applyOps(actual, diffTables(desired, actual, owned));
    assert.deepEqual(diffTables(desired, after, owned), []);
    assert.deepEqual([...after.services.keys()].sort(), [DNS, FOREIGN, WEB].sort());
    assert.equal(after.services.get(FOREIGN), actual.services.get(FOREIGN));
  });
});

/** A minimal op interpreter, only to check that the ops reach desired. */
function applyOps(t: IpvsTable, ops: readonly IpvsOp[]): IpvsTable {
  const services = new Map(t.services);
  for (const op of ops) {
    const cur = services.get(op.service.key);
    switch (op.op) {
      case 'add-service':
        services.set(op.service.key, { ...op.service, reals: new Map() } as never);
        break;
      case 'edit-service':
        services.set(op.service.key, { ...op.service, reals: cur?.reals ?? new Map() } as never);
        break;
      case 'delete-service':
        services.delete(op.service.key);
        break;
      default: {
        assert.ok(cur, `${op.op} on missing ${op.service.key}`);
        const reals = new Map(cur.reals);
        if (op.op === 'delete-real') reals.delete(op.real.key);
        else reals.set(op.real.key, op.real);
        services.set(cur.key, { ...cur, reals });
      }
    }
  }
  return { services };
}

describe('diffTables: options lvsd does not manage survive its edits', () => {
  const captured = (name: string): string => readFileSync(join(fixturesDir, 'ipvs', 'restore', name, 'after'), 'utf8');

  it('regression: an edit of a real with gue/gre tunnel options no longer turns it into plain ipip', () => {
    const actual = parseSave(captured('tunnel-types'));
    const svc = actual.services.get('tcp:198.51.100.1:80')!;
    // Desired: the same reals at weight 5 (desired builds reals from the config, without tunnel options).
    const reals = new Map([...svc.reals].map(([k, r]) => [k, { key: r.key, address: r.address, forwarding: r.forwarding, weight: 5, upperThreshold: 0, lowerThreshold: 0 }]));
    const ops = diffTables({ services: new Map([[svc.key, { ...svc, reals }]]) }, actual, new Set([svc.key]));
    const kernel = new MemoryTable(actual);
    assert.deepEqual(kernel.restore(ops.map(formatOp)), { errors: [], status: 0 });
    assert.equal(kernel.save(), captured('tunnel-types').replaceAll('-w 1', '-w 5'), 'gue port and checksum options and gre checksum kept');
  });

  it('a real that stops being tunnelled loses its tunnel options (ipvsadm refuses them without -i)', () => {
    const actual = parseSave(captured('tunnel-types'));
    const svc = actual.services.get('tcp:198.51.100.1:80')!;
    const reals = new Map([...svc.reals].map(([k, r]) => [k, { key: r.key, address: r.address, forwarding: 'gate' as const, weight: 1, upperThreshold: 0, lowerThreshold: 0 }]));
    const ops = diffTables({ services: new Map([[svc.key, { ...svc, reals }]]) }, actual, new Set([svc.key]));
    assert.ok(ops.every((o) => !formatOp(o).includes('--tun')));
    const kernel = new MemoryTable(actual);
    assert.deepEqual(kernel.restore(ops.map(formatOp)).errors, []);
  });

  it('regression: a scheduler change on a service with scheduler flags (-b sh-port) is no longer refused by ipvsadm forever', () => {
    const kernel = new MemoryTable();
    kernel.restore(['-A -t 192.0.2.10:80 -s sh -b sh-port', '-a -t 192.0.2.10:80 -r 10.0.0.1:80 -m -w 1']);
    const actual = kernel.table();
    const svc = actual.services.get(WEB)!;
    const ops = diffTables({ services: new Map([[WEB, { ...svc, scheduler: 'rr' }]]) }, actual, new Set([WEB]));
    assert.deepEqual(ops.map(formatOp), ['-E -t 192.0.2.10:80 -s rr']);
    assert.deepEqual(kernel.restore(ops.map(formatOp)).errors, []);
    const same = diffTables({ services: new Map([[WEB, { ...svc, persistence: { timeoutS: 60, netmask: '255.255.255.255' } }]]) }, actual, new Set([WEB]));
    assert.deepEqual(same.map(formatOp), ['-E -t 192.0.2.10:80 -s sh -p 60 -M 255.255.255.255 -b sh-port'], 'kept while the scheduler stays');
  });
});
