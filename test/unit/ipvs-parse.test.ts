// parseSave / parseListing / parseCounters / parseThresholds on real ipvsadm 1.31 output.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCounters, parseListing, parseSave, parseThresholds, withThresholds } from '../../src/ipvs/parse.js';
import { LvsdError } from '../../src/errors.js';
import type { IpvsReal, IpvsServiceHead } from '../../src/ipvs/model.js';
import { fixturesDir } from '../helpers/paths.js';
import type { RealKey, ServiceKey } from '../../src/model/keys.js';

const dir = join(fixturesDir, 'ipvs');
const read = (...p: string[]): string => readFileSync(join(dir, ...p), 'utf8');
const ep = (host: string, port: number) => ({ host, family: host.includes(':') ? 6 as const : 4 as const, port });
const real = (key: string, host: string, port: number, forwarding: IpvsReal['forwarding'], weight: number): IpvsReal =>
  ({ key: key as RealKey, address: ep(host, port), forwarding, weight, upperThreshold: 0, lowerThreshold: 0 });
const isParseError = (e: unknown): boolean => e instanceof LvsdError && e.code === 'LVSD_IPVS_PARSE';

describe('parseSave on the captured table (save.txt)', () => {
  const table = parseSave(read('save.txt'));

  it('reads every service, keyed like the config, in ipvsadm order', () => {
    assert.deepEqual([...table.services.keys()], [
      'tcp:192.0.2.10:80', 'tcp:192.0.2.10:443', 'tcp:192.0.2.10:8443', 'tcp:192.0.2.11:80', 'tcp:192.0.2.11:81',
      'tcp:192.0.2.12:0', 'tcp:192.0.2.100:80', 'tcp:192.0.2.100:8080', 'udp:192.0.2.13:5060', 'udp:192.0.2.14:5060',
      'udp:192.0.2.53:53', 'sctp:192.0.2.10:3868', 'tcp:[2001:db8::10]:80', 'tcp:[2001:db8::20]:443',
      'udp:[2001:db8::10]:53', 'sctp:[2001:db8::30]:3868', 'fwmark:12:v4', 'fwmark:13:v6', 'fwmark:14:v4',
    ]);
  });

  const cases: [string, IpvsServiceHead & { reals: IpvsReal[] }][] = [
    ['tcp:192.0.2.10:80', {
      kind: 'address', key: 'tcp:192.0.2.10:80' as ServiceKey, family: 4, protocol: 'tcp', vip: ep('192.0.2.10', 80), scheduler: 'wlc',
      persistence: null, extraArgs: [], reals: [
        real('10.0.0.11:80', '10.0.0.11', 80, 'masq', 100), real('10.0.0.12:8080', '10.0.0.12', 8080, 'masq', 0),
        real('10.0.0.13:80', '10.0.0.13', 80, 'gate', 5), real('10.0.0.14:80', '10.0.0.14', 80, 'ipip', 1),
      ] }],
    ['tcp:192.0.2.10:443', {
      kind: 'address', key: 'tcp:192.0.2.10:443' as ServiceKey, family: 4, protocol: 'tcp', vip: ep('192.0.2.10', 443), scheduler: 'rr',
      persistence: { timeoutS: 300, netmask: '255.255.255.255' }, extraArgs: [], reals: [real('10.0.0.11:443', '10.0.0.11', 443, 'gate', 1)] }],
    ['tcp:192.0.2.10:8443', {
      kind: 'address', key: 'tcp:192.0.2.10:8443' as ServiceKey, family: 4, protocol: 'tcp', vip: ep('192.0.2.10', 8443), scheduler: 'wlc',
      persistence: { timeoutS: 600, netmask: '255.255.255.0' }, extraArgs: [], reals: [real('10.0.0.11:8443', '10.0.0.11', 8443, 'masq', 2)] }],
    ['tcp:192.0.2.11:81', {
      kind: 'address', key: 'tcp:192.0.2.11:81' as ServiceKey, family: 4, protocol: 'tcp', vip: ep('192.0.2.11', 81), scheduler: 'sh',
      persistence: null, extraArgs: ['-b', 'sh-fallback,sh-port'], reals: [real('10.0.0.41:81', '10.0.0.41', 81, 'gate', 1)] }],
    ['tcp:192.0.2.12:0', {
      kind: 'address', key: 'tcp:192.0.2.12:0' as ServiceKey, family: 4, protocol: 'tcp', vip: ep('192.0.2.12', 0), scheduler: 'rr',
      persistence: { timeoutS: 300, netmask: '255.255.255.255' }, extraArgs: [], reals: [real('10.0.0.15', '10.0.0.15', 0, 'gate', 1)] }],
    ['udp:192.0.2.13:5060', {
      kind: 'address', key: 'udp:192.0.2.13:5060' as ServiceKey, family: 4, protocol: 'udp', vip: ep('192.0.2.13', 5060), scheduler: 'rr',
      persistence: null, extraArgs: ['-o'], reals: [] }],
    ['udp:192.0.2.14:5060', {
      kind: 'address', key: 'udp:192.0.2.14:5060' as ServiceKey, family: 4, protocol: 'udp', vip: ep('192.0.2.14', 5060), scheduler: 'rr',
      persistence: { timeoutS: 60, netmask: '255.255.255.255' }, extraArgs: ['--pe', 'sip'], reals: [] }],
    ['sctp:192.0.2.10:3868', {
      kind: 'address', key: 'sctp:192.0.2.10:3868' as ServiceKey, family: 4, protocol: 'sctp', vip: ep('192.0.2.10', 3868), scheduler: 'rr',
      persistence: null, extraArgs: [], reals: [real('10.0.0.31:3868', '10.0.0.31', 3868, 'masq', 1)] }],
    ['tcp:[2001:db8::20]:443', {
      kind: 'address', key: 'tcp:[2001:db8::20]:443' as ServiceKey, family: 6, protocol: 'tcp', vip: ep('2001:db8::20', 443), scheduler: 'rr',
      persistence: { timeoutS: 120, netmask: '64' }, extraArgs: [], reals: [] }],
    ['udp:[2001:db8::10]:53', {
      kind: 'address', key: 'udp:[2001:db8::10]:53' as ServiceKey, family: 6, protocol: 'udp', vip: ep('2001:db8::10', 53), scheduler: 'sh',
      persistence: null, extraArgs: ['-b', 'sh-port'], reals: [real('[2001:db8::21]:53', '2001:db8::21', 53, 'ipip', 3)] }],
    ['fwmark:12:v4', {
      kind: 'fwmark', key: 'fwmark:12:v4' as ServiceKey, family: 4, fwmark: 12, scheduler: 'rr', persistence: null, extraArgs: [],
      reals: [real('10.0.0.51', '10.0.0.51', 0, 'gate', 1), real('10.0.0.52:80', '10.0.0.52', 80, 'masq', 4)] }],
    ['fwmark:13:v6', {
      kind: 'fwmark', key: 'fwmark:13:v6' as ServiceKey, family: 6, fwmark: 13, scheduler: 'wlc', persistence: { timeoutS: 300, netmask: '64' },
      extraArgs: [], reals: [real('[2001:db8::41]', '2001:db8::41', 0, 'gate', 1), real('[2001:db8::42]:8080', '2001:db8::42', 8080, 'masq', 2)] }],
    ['fwmark:14:v4', {
      kind: 'fwmark', key: 'fwmark:14:v4' as ServiceKey, family: 4, fwmark: 14, scheduler: 'lc', persistence: { timeoutS: 300, netmask: '255.255.0.0' },
      extraArgs: [], reals: [] }],
  ];
  for (const [key, expected] of cases) {
    it(key, () => {
      const svc = table.services.get(key);
      assert.ok(svc, key);
      const { reals, ...head } = svc;
      const { reals: expectedReals, ...expectedHead } = expected;
      assert.deepEqual(head, expectedHead);
      assert.deepEqual([...reals.values()], expectedReals);
      assert.deepEqual([...reals.keys()], expectedReals.map((r) => r.key));
    });
  }
});

describe('parseSave on every captured -Sn output', () => {
  const outputs: string[] = ['save-roundtrip.txt', 'save-empty.txt', 'save-after-delete.txt'];
  for (const kind of ['restore', 'cmd']) {
    for (const name of readdirSync(join(dir, kind)).sort()) {
      for (const f of ['after', 'after-delete']) if (existsSync(join(dir, kind, name, f))) outputs.push(join(kind, name, f));
    }
  }
  for (const file of outputs) {
    it(file, () => {
      const text = read(file);
      const table = parseSave(text);
      assert.equal(table.services.size, text.split('\n').filter((l) => l.startsWith('-A ')).length);
    });
  }

  it('the restored save equals the original', () => {
    assert.deepEqual(parseSave(read('save-roundtrip.txt')), parseSave(read('save.txt')));
  });

  it('reads the negative numbers ipvsadm prints for marks of 2^31 and up', () => {
    const table = parseSave(read('restore', 'fwmark-high', 'after'));
    const svc = table.services.get('fwmark:4000000000:v4');
    assert.ok(svc && svc.kind === 'fwmark');
    assert.equal(svc.fwmark, 4000000000);
    assert.deepEqual([...svc.reals.keys()], ['10.9.9.1']);
  });

  it('reads the tunnel types of ipip reals as plain ipip', () => {
    const table = parseSave(read('restore', 'tunnel-types', 'after'));
    const reals = [...table.services.get('tcp:198.51.100.1:80')!.reals.values()];
    assert.deepEqual(reals.map((r) => [r.key, r.forwarding, r.weight]), [
      ['10.9.9.1:80', 'ipip', 1], ['10.9.9.2:80', 'ipip', 1], ['10.9.9.3:80', 'ipip', 1], ['10.9.9.4:80', 'ipip', 1],
    ]);
  });
});

describe('parseSave keeps what it does not manage, rejects what it cannot read', () => {
  it('keeps unknown service flags (with their value) in extraArgs', () => {
    const t = parseSave('-A -u 192.0.2.1:80 -s rr --future-flag 7 -o --another\n');
    assert.deepEqual(t.services.get('udp:192.0.2.1:80')?.extraArgs, ['-o', '--future-flag', '7', '--another']);
  });

  const bad: [string, string, RegExp][] = [
    ['port names (ipvsadm -S without -n)', read('save-not-numeric.txt'), /line 1: illegal virtual server address/],
    ['a real before its service', '-a -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 1\n', /line 1: real server before its service/],
    ['a delete rule', '-A -t 192.0.2.1:80 -s rr\n-D -t 192.0.2.1:80\n', /line 2: expected an -A or -a rule/],
    ['garbage', '-A -t 192.0.2.1:80 -s rr\nhello\n', /line 2: .*"hello"/],
    ['a service twice', '-A -t 192.0.2.1:80 -s rr\n-A -t 192.0.2.1:80 -s wlc\n', /line 2: service listed twice/],
    ['a real twice', '-A -f 1 -s rr\n-a -f 1 -r 10.0.0.1:0 -g -w 1\n-a -f 1 -r 10.0.0.1 -g -w 1\n', /line 3: real server listed twice/],
    ['ipvsadm error text', "Can't initialize ipvs: Protocol not available\n", /line 1/],
  ];
  for (const [name, text, message] of bad) {
    it(`throws LVSD_IPVS_PARSE on ${name}`, () => {
      assert.throws(() => parseSave(text), (e: unknown) => isParseError(e) && message.test((e as Error).message));
    });
  }
});

describe('parseListing and parseCounters', () => {
  const services = [...parseSave(read('save.txt')).services.keys()];

  for (const file of ['list.txt', 'list-exact.txt', 'list-persistent-conn-exact.txt', 'list-nosort-exact.txt', 'list-thresholds-exact.txt']) {
    it(`${file}: counters for every real of every service with reals`, () => {
      const counters = parseCounters(read(file));
      const withReals = services.filter((k) => parseSave(read('save.txt')).services.get(k)!.reals.size > 0);
      assert.deepEqual([...counters.keys()].sort(), withReals.sort());
      // The capture held 3 connections open and finished 8 (TIME_WAIT) through the 192.0.2.100 services.
      const traffic = [...counters].filter(([k]) => k.startsWith('tcp:192.0.2.100:')).flatMap(([, r]) => [...r.values()]);
      assert.equal(traffic.reduce((n, c) => n + c.activeConns, 0), 3);
      assert.equal(traffic.reduce((n, c) => n + c.inactiveConns, 0), 8);
    });
  }

  it('PersistConn comes only from --persistent-conn', () => {
    const persistent = parseCounters(read('list-persistent-conn-exact.txt'));
    const plain = parseCounters(read('list-exact.txt'));
    const sum = (c: typeof plain, key: string): number => [...c.get(key)!.values()].reduce((n, r) => n + r.persistentConns, 0);
    assert.equal(sum(persistent, 'tcp:192.0.2.100:80'), 1); // one client, one persistence template
    assert.equal(sum(persistent, 'tcp:192.0.2.100:8080'), 0); // not a persistent service
    assert.equal(sum(plain, 'tcp:192.0.2.100:80'), 0);
    for (const [key, reals] of plain) {
      for (const [rk, c] of reals) {
        const p = persistent.get(key)!.get(rk)!;
        assert.deepEqual([c.activeConns, c.inactiveConns], [p.activeConns, p.inactiveConns], `${key} ${rk}`);
      }
    }
  });

  it('reads FWM lines, IPv6 marks, negative marks and port-0 reals', () => {
    const c = parseCounters(read('list-exact.txt'));
    assert.deepEqual([...c.get('fwmark:12:v4')!.keys()], ['10.0.0.51', '10.0.0.52:80']);
    assert.deepEqual([...c.get('fwmark:13:v6')!.keys()], ['[2001:db8::41]', '[2001:db8::42]:8080']);
    assert.deepEqual([...parseCounters(read('restore', 'fwmark-high', 'list')).keys()], ['fwmark:4000000000:v4']);
  });

  it('parses every listing format into rows with its own columns', () => {
    const columns = (file: string): string[] => [...(parseListing(read(file))[0]?.columns.keys() ?? [])];
    assert.deepEqual(columns('list-exact.txt'), ['Weight', 'ActiveConn', 'InActConn']);
    assert.deepEqual(columns('list-persistent-conn-exact.txt'), ['Weight', 'PersistConn', 'ActiveConn', 'InActConn']);
    assert.deepEqual(columns('list-thresholds-exact.txt'), ['Uthreshold', 'Lthreshold', 'ActiveConn', 'InActConn']);
    assert.deepEqual(columns('list-stats-exact.txt'), ['Conns', 'InPkts', 'OutPkts', 'InBytes', 'OutBytes']);
    assert.deepEqual(columns('list-rate-exact.txt'), ['CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS']);
    assert.deepEqual(parseListing(read('list-flags.txt')), []);
    assert.deepEqual(parseListing(read('list-empty.txt')), []);
    assert.equal(parseListing(read('list-one-service.txt')).length, 2);
    const stats = parseListing(read('list-stats.txt')).find((r) => r.realKey === '10.10.2.2:80');
    assert.equal(stats?.columns.get('Conns'), 5);
  });

  it('abbreviated numbers (no --exact) are expanded', () => {
    const rows = parseListing('Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n'
      + '  -> RemoteAddress:Port\nTCP  192.0.2.1:80                  1        2        3        4        5\n'
      + '  -> 10.0.0.1:80                    12K      3M       1G       0        7\n');
    assert.deepEqual([...rows[0]!.columns.values()], [12000, 3000000, 1000000000, 0, 7]);
  });

  it('a listing without connection columns is not counters', () => {
    assert.throws(() => parseCounters(read('list-stats-exact.txt')), isParseError);
  });

  it('rejects lines it does not know', () => {
    assert.throws(() => parseListing('Prot LocalAddress:Port Scheduler Flags\nwhat is this\n'), isParseError);
    assert.throws(() => parseListing('  -> 10.0.0.1:80   Masq 1 0 0\n'), isParseError);
  });
});

describe('parseThresholds and withThresholds', () => {
  it('reads -x/-y, which -Sn leaves out', () => {
    const t = parseThresholds(read('list-thresholds-exact.txt'));
    assert.deepEqual(t.get('tcp:192.0.2.10:80')?.get('10.0.0.13:80'), { upper: 100, lower: 50 });
    assert.deepEqual(t.get('udp:[2001:db8::10]:53')?.get('[2001:db8::21]:53'), { upper: 10, lower: 0 });
    assert.deepEqual(t.get('tcp:192.0.2.10:80')?.get('10.0.0.11:80'), { upper: 0, lower: 0 });
  });

  it('fills them into the table read from -Sn', () => {
    const table = withThresholds(parseSave(read('save.txt')), parseThresholds(read('list-thresholds-exact.txt')));
    const r = table.services.get('tcp:192.0.2.10:80')!.reals.get('10.0.0.13:80')!;
    assert.deepEqual([r.upperThreshold, r.lowerThreshold], [100, 50]);
    const untouched = table.services.get('tcp:192.0.2.10:80')!.reals.get('10.0.0.11:80')!;
    assert.deepEqual([untouched.upperThreshold, untouched.lowerThreshold], [0, 0]);
  });

  it('a listing without threshold columns is refused', () => {
    assert.throws(() => parseThresholds(read('list-exact.txt')), isParseError);
  });
});
