// formatOp: one ipvsadm -R line per operation, and the round trip through parseSave.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { addOps, formatOp, serviceArgs } from '../../src/ipvs/format.js';
import { parseSave } from '../../src/ipvs/parse.js';
import { MemoryTable } from '../../src/ipvs/memory-table.js';
import type { IpvsOp, IpvsReal, IpvsServiceHead, IpvsTable } from '../../src/ipvs/model.js';
import { fixturesDir } from '../helpers/paths.js';
import { parseNetmask } from '../../src/config/resolve-service.js';
import { parseCommandLine } from '../../src/ipvs/args.js';
import type { RealKey, ServiceKey } from '../../src/model/keys.js';

const web: IpvsServiceHead = {
  kind: 'address', key: 'tcp:192.0.2.10:80' as ServiceKey, family: 4, protocol: 'tcp',
  vip: { host: '192.0.2.10', family: 4, port: 80 }, scheduler: 'wlc',
  persistence: { timeoutS: 300, netmask: '255.255.255.255' }, extraArgs: [],
};
const dns6: IpvsServiceHead = {
  kind: 'address', key: 'udp:[2001:db8::10]:53' as ServiceKey, family: 6, protocol: 'udp',
  vip: { host: '2001:db8::10', family: 6, port: 53 }, scheduler: 'sh', persistence: null, extraArgs: ['-b', 'sh-port'],
};
const sctp: IpvsServiceHead = {
  kind: 'address', key: 'sctp:192.0.2.10:3868' as ServiceKey, family: 4, protocol: 'sctp',
  vip: { host: '192.0.2.10', family: 4, port: 3868 }, scheduler: 'rr', persistence: null, extraArgs: [],
};
const mark4: IpvsServiceHead = {
  kind: 'fwmark', key: 'fwmark:12:v4' as ServiceKey, family: 4, fwmark: 12, scheduler: 'rr', persistence: null, extraArgs: [],
};
const mark6: IpvsServiceHead = {
  kind: 'fwmark', key: 'fwmark:13:v6' as ServiceKey, family: 6, fwmark: 13, scheduler: 'wlc',
  persistence: { timeoutS: 600, netmask: '64' }, extraArgs: [],
};
const real = (host: string, port: number, over: Partial<IpvsReal> = {}): IpvsReal => {
  const family = host.includes(':') ? 6 : 4;
  const key = port === 0 ? (family === 6 ? `[${host}]` : host) : family === 6 ? `[${host}]:${port}` : `${host}:${port}`;
  return { key: key as RealKey, address: { host, family, port }, forwarding: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0, ...over };
};

describe('formatOp', () => {
  const cases: [string, IpvsOp, string][] = [
    ['add service with persistence', { op: 'add-service', service: web },
      '-A -t 192.0.2.10:80 -s wlc -p 300 -M 255.255.255.255'],
    ['edit service restates everything', { op: 'edit-service', service: { ...web, scheduler: 'rr', persistence: null } },
      '-E -t 192.0.2.10:80 -s rr'],
    ['delete service', { op: 'delete-service', service: web }, '-D -t 192.0.2.10:80'],
    ['add real, masq', { op: 'add-real', service: web, real: real('10.0.0.11', 80, { weight: 100 }) },
      '-a -t 192.0.2.10:80 -r 10.0.0.11:80 -m -w 100'],
    ['edit real keeps thresholds', { op: 'edit-real', service: web, real: real('10.0.0.13', 80, { forwarding: 'gate', weight: 5, upperThreshold: 100, lowerThreshold: 50 }) },
      '-e -t 192.0.2.10:80 -r 10.0.0.13:80 -g -w 5 -x 100 -y 50'],
    ['edit real to weight 0 (quiescent)', { op: 'edit-real', service: web, real: real('10.0.0.11', 80, { weight: 0 }) },
      '-e -t 192.0.2.10:80 -r 10.0.0.11:80 -m -w 0'],
    ['delete real', { op: 'delete-real', service: web, real: real('10.0.0.11', 80) },
      '-d -t 192.0.2.10:80 -r 10.0.0.11:80'],
    ['IPv6 service with scheduler flags', { op: 'add-service', service: dns6 },
      '-A -u [2001:db8::10]:53 -s sh -b sh-port'],
    ['IPv6 real, ipip', { op: 'add-real', service: dns6, real: real('2001:db8::21', 53, { forwarding: 'ipip', weight: 3, upperThreshold: 10 }) },
      '-a -u [2001:db8::10]:53 -r [2001:db8::21]:53 -i -w 3 -x 10'],
    ['sctp service', { op: 'add-service', service: sctp }, '-A --sctp-service 192.0.2.10:3868 -s rr'],
    ['fwmark service', { op: 'add-service', service: mark4 }, '-A -f 12 -s rr'],
    ['fwmark real without port', { op: 'add-real', service: mark4, real: real('10.0.0.51', 0, { forwarding: 'gate' }) },
      '-a -f 12 -r 10.0.0.51:0 -g -w 1'],
    ['IPv6 fwmark service, prefix-length netmask', { op: 'add-service', service: mark6 },
      '-A -f 13 -6 -s wlc -p 600 -M 64'],
    ['IPv6 fwmark real without port needs ":0"', { op: 'add-real', service: mark6, real: real('2001:db8::41', 0, { forwarding: 'gate' }) },
      '-a -f 13 -6 -r [2001:db8::41]:0 -g -w 1'],
    ['IPv6 fwmark delete', { op: 'delete-service', service: mark6 }, '-D -f 13 -6'],
    ['preserved flags follow persistence', { op: 'edit-service', service: { ...web, extraArgs: ['--pe', 'sip', '-o'] } },
      '-E -t 192.0.2.10:80 -s wlc -p 300 -M 255.255.255.255 --pe sip -o'],
  ];
  for (const [name, op, line] of cases) {
    it(name, () => assert.equal(formatOp(op), line));
  }

  it('serviceArgs names every kind of service', () => {
    assert.deepEqual([web, dns6, sctp, mark4, mark6].map(serviceArgs),
      ['-t 192.0.2.10:80', '-u [2001:db8::10]:53', '--sctp-service 192.0.2.10:3868', '-f 12', '-f 13 -6']);
  });

  it('refuses values that would split the -R line', () => {
    assert.throws(() => formatOp({ op: 'add-service', service: { ...web, scheduler: 'rr\n-C' } }), TypeError);
    assert.throws(() => formatOp({ op: 'add-service', service: { ...web, extraArgs: ['a b'] } }), TypeError);
  });

  it('every formatted line is accepted by ipvsadm rules (memory table) without error', () => {
    const lines = cases.filter(([, op]) => op.op.startsWith('add')).map(([, op]) => formatOp(op));
    const r = new MemoryTable().restore(lines);
    assert.deepEqual(r, { errors: [], status: 0 });
  });
});

describe('round trip', () => {
  const captured = parseSave(readFileSync(join(fixturesDir, 'ipvs', 'save.txt'), 'utf8'));

  it('parseSave of the formatted add ops of a table equals the table (captured table)', () => {
    const lines = addOps(captured).map(formatOp);
    assert.deepEqual(parseSave(lines.join('\n')), captured);
  });

  it('the same lines restored into an empty table save back to the same table', () => {
    const memory = new MemoryTable();
    assert.deepEqual(memory.restore(addOps(captured).map(formatOp)), { errors: [], status: 0 });
    assert.deepEqual(parseSave(memory.save()), captured);
  });

  it('keeps thresholds, IPv6 fwmark persistence and port-0 reals', () => {
    const table: IpvsTable = {
      services: new Map([
        [mark6.key, { ...mark6, reals: new Map([[real('2001:db8::41', 0).key, real('2001:db8::41', 0, { forwarding: 'gate' })]]) }],
        [web.key, { ...web, reals: new Map([[real('10.0.0.13', 80).key, real('10.0.0.13', 80, { upperThreshold: 7, lowerThreshold: 3 })]]) }],
      ]),
    };
    const back = parseSave(addOps(table).map(formatOp).join('\n'));
    assert.deepEqual(back, table);
  });
});

describe('formatOp and the config agree on persistence netmasks', () => {
  /** The -A line lvsd would write for this netmask, as ipvsadm parses it. */
  const accepted = (family: 4 | 6, netmask: string): boolean => {
    const head: IpvsServiceHead = family === 4
      ? { kind: 'address', key: 'tcp:192.0.2.10:80' as ServiceKey, family, protocol: 'tcp', vip: { host: '192.0.2.10', family, port: 80 }, scheduler: 'wlc', persistence: { timeoutS: 300, netmask }, extraArgs: [] }
      : { kind: 'address', key: 'tcp:[2001:db8::10]:80' as ServiceKey, family, protocol: 'tcp', vip: { host: '2001:db8::10', family, port: 80 }, scheduler: 'wlc', persistence: { timeoutS: 300, netmask }, extraArgs: [] };
    const line = formatOp({ op: 'add-service', service: head });
    return parseCommandLine(line.split(' ')).cmd !== 'error';
  };

  it('every netmask check-config accepts is one ipvsadm takes from the formatter (IPv6 /0 refused by both)', () => {
    const candidates: [4 | 6, string][] = [
      ...Array.from({ length: 130 }, (_, n): [6, string] => [6, String(n)]),
      ...Array.from({ length: 34 }, (_, n): [4, string] => [4, String(n)]),
      [4, '255.255.255.0'], [4, '255.0.255.0'], [4, '0.0.0.0'], [6, 'ffff::'],
    ];
    for (const [family, value] of candidates) {
      const config = parseNetmask(value, family);
      if (config === null) continue;
      assert.ok(accepted(family, config), `config accepts ${value} for IPv${family} as ${config}, ipvsadm must too`);
    }
    assert.equal(parseNetmask('0', 6), null, 'check-config refuses IPv6 netmask 0');
    assert.equal(accepted(6, '0'), false, 'ipvsadm refuses -M 0 on an IPv6 service');
  });
});
