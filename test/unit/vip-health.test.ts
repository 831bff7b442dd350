// VIP health for DNS load balancers: every address service on the VIP must have quorum; fwmark
// services do not count; addresses in any textual form; the gdnsd extfile rendering.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseVipAddress, renderExtfile, vipHealthAll, vipHealthOf } from '../../src/observe/vip-health.js';
import { serviceConfig } from '../helpers/reconcile-fixtures.js';

const services = [
  serviceConfig({ key: 'tcp:192.0.2.10:80' }),
  serviceConfig({ key: 'tcp:192.0.2.10:443' }),
  serviceConfig({ key: 'udp:192.0.2.10:53' }),
  serviceConfig({ key: 'tcp:192.0.2.20:80' }),
  serviceConfig({ key: 'tcp:[2001:db8::10]:80' }),
  serviceConfig({ key: 'fwmark:7:v4' }),
];

describe('vipHealthOf', () => {
  const cases: { name: string; vip: string; up: readonly string[]; want: boolean | null; services?: number }[] = [
    { name: 'every service on the VIP has quorum', vip: '192.0.2.10', up: ['tcp:192.0.2.10:80', 'tcp:192.0.2.10:443', 'udp:192.0.2.10:53'], want: true, services: 3 },
    { name: 'one port without quorum makes the VIP unhealthy', vip: '192.0.2.10', up: ['tcp:192.0.2.10:80', 'tcp:192.0.2.10:443'], want: false, services: 3 },
    { name: 'another VIP\'s quorum does not count', vip: '192.0.2.20', up: ['tcp:192.0.2.10:80', 'tcp:192.0.2.10:443', 'udp:192.0.2.10:53'], want: false, services: 1 },
    { name: 'a single-service VIP with quorum', vip: '192.0.2.20', up: ['tcp:192.0.2.20:80'], want: true, services: 1 },
    { name: 'a fwmark service never makes a VIP unhealthy', vip: '192.0.2.20', up: ['tcp:192.0.2.20:80'], want: true, services: 1 },
    { name: 'no results yet (quorum false everywhere): not healthy', vip: '2001:db8::10', up: [], want: false, services: 1 },
    { name: 'IPv6 VIP with quorum', vip: '2001:db8::10', up: ['tcp:[2001:db8::10]:80'], want: true, services: 1 },
    { name: 'an address lvsd does not serve', vip: '192.0.2.99', up: ['tcp:192.0.2.10:80'], want: null },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const up = new Set(c.up);
      const h = vipHealthOf(services, c.vip, (k) => up.has(k));
      if (c.want === null) return assert.equal(h, null);
      assert.ok(h);
      assert.equal(h.vip, c.vip);
      assert.equal(h.healthy, c.want);
      assert.equal(h.services.length, c.services);
    });
  }
});

describe('parseVipAddress', () => {
  const cases: [string, string | null][] = [
    ['192.0.2.10', '192.0.2.10'],
    ['2001:db8::10', '2001:db8::10'],
    ['2001:0db8:0000:0000:0000:0000:0000:0010', '2001:db8::10'],
    ['2001:DB8::10', '2001:db8::10'],
    ['[2001:db8::10]', '2001:db8::10'],
    ['192.0.2.010', null],
    ['www.example.com', null],
    ['192.0.2.10:80', null],
    ['%31%39%32.0.2.10', null],
    ['fe80::1%eth0', null],
    ['', null],
  ];
  for (const [text, want] of cases) it(`${JSON.stringify(text)} -> ${want}`, () => assert.equal(parseVipAddress(text), want));
});

describe('vipHealthAll and renderExtfile', () => {
  it('one line per VIP, sorted, fwmark services left out', () => {
    const up = new Set(['tcp:192.0.2.20:80', 'tcp:[2001:db8::10]:80', 'tcp:192.0.2.10:80']);
    const all = vipHealthAll(services, (k) => up.has(k));
    assert.deepEqual(all.map((v) => [v.vip, v.healthy]), [['192.0.2.10', false], ['192.0.2.20', true], ['2001:db8::10', true]]);
    assert.deepEqual(all[0]!.services, [
      { name: 'tcp:192.0.2.10:80', quorum: true },
      { name: 'tcp:192.0.2.10:443', quorum: false },
      { name: 'udp:192.0.2.10:53', quorum: false },
    ]);
    assert.equal(renderExtfile(all), '192.0.2.10 => DOWN\n192.0.2.20 => UP\n2001:db8::10 => UP\n');
  });
  it('no services: an empty file', () => assert.equal(renderExtfile(vipHealthAll([], () => true)), ''));
});
