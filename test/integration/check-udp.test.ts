// UDP checker against real loopback sockets (IPv4 and IPv6): echo with expect, payload bytes,
// a closed port (ICMP port unreachable -> ECONNREFUSED on the connected socket), a silent port.

import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { checkUdp } from '../../src/checks/udp.js';
import type { CheckTarget } from '../../src/checks/types.js';
import type { Family, UdpCheckSpec } from '../../src/config/model.js';

const never = new AbortController().signal;

function target(host: string, family: Family, port: number, over: Partial<UdpCheckSpec> = {}): CheckTarget {
  const spec: UdpCheckSpec = { type: 'udp', intervalMs: 2000, timeoutMs: 1000, rise: 1, fall: 1, port, send: 'PING', expect: null, ...over };
  return { address: { host, family, port }, spec, context: { serviceName: 't', vip: null, fwmark: null, protocol: 'udp' } };
}

async function bound(type: 'udp4' | 'udp6', host: string): Promise<{ socket: Socket; port: number }> {
  const socket = createSocket(type);
  socket.bind(0, host);
  await once(socket, 'listening');
  return { socket, port: socket.address().port };
}

for (const fam of [{ host: '127.0.0.1', family: 4 as const, type: 'udp4' as const }, { host: '::1', family: 6 as const, type: 'udp6' as const }]) {
  describe(`checkUdp over IPv${fam.family}`, () => {
    let echo: Socket;
    let echoPort = 0;
    let silent: Socket;
    let silentPort = 0;
    let closedPort = 0;
    const seen: Buffer[] = [];

    before(async () => {
      ({ socket: echo, port: echoPort } = await bound(fam.type, fam.host));
      echo.on('message', (m, r) => {
        seen.push(m);
        echo.send(Buffer.concat([Buffer.from('PONG '), m]), r.port, r.address);
      });
      ({ socket: silent, port: silentPort } = await bound(fam.type, fam.host));
      silent.on('message', (m) => seen.push(m));
      // A port nothing is bound to: bind one, then close it.
      const tmp = await bound(fam.type, fam.host);
      closedPort = tmp.port;
      tmp.socket.close();
    });
    after(() => {
      echo.close();
      silent.close();
    });

    test('a reply matching expect is up; the payload arrives byte for byte', async () => {
      seen.length = 0;
      const r = await checkUdp(target(fam.host, fam.family, echoPort, { send: 'PING\x00\xff', expect: '^PONG PING' }), never);
      assert.equal(r.up, true, r.reason);
      assert.deepEqual(seen[0], Buffer.from([0x50, 0x49, 0x4e, 0x47, 0x00, 0xff]));
    });

    test('a reply not matching expect is down (banner_mismatch)', async () => {
      const r = await checkUdp(target(fam.host, fam.family, echoPort, { expect: '^NOPE' }), never);
      assert.deepEqual([r.up, r.code], [false, 'banner_mismatch']);
      assert.match(r.reason, /reply does not match \/\^NOPE\/: "PONG PING"/);
    });

    test('a closed port answers ICMP port unreachable: down (refused), with and without expect', async () => {
      for (const expect of [null, '^x']) {
        const r = await checkUdp(target(fam.host, fam.family, closedPort, { expect }), never);
        assert.deepEqual([r.up, r.code], [false, 'refused'], r.reason);
        assert.match(r.reason, /port unreachable \(ICMP\)/);
      }
    });

    test('without expect, a port that stays silent is up once the timeout passes; with expect it is down', async () => {
      const r = await checkUdp(target(fam.host, fam.family, silentPort, { timeoutMs: 300 }), never);
      assert.equal(r.up, true, r.reason);
      assert.match(r.reason, /no ICMP port unreachable within 300 ms/);
      const e = await checkUdp(target(fam.host, fam.family, silentPort, { timeoutMs: 300, expect: 'x' }), never);
      assert.deepEqual([e.up, e.code], [false, 'timeout']);
    });

    test('an empty payload is a zero-length datagram; any reply is up without expect', async () => {
      seen.length = 0;
      const r = await checkUdp(target(fam.host, fam.family, echoPort, { send: '' }), never);
      assert.equal(r.up, true, r.reason);
      assert.equal(seen[0]!.length, 0);
    });

    test('cancellation ends the check at once', async () => {
      const ac = new AbortController();
      const p = checkUdp(target(fam.host, fam.family, silentPort, { timeoutMs: 60_000, expect: 'x' }), ac.signal);
      ac.abort();
      const r = await p;
      assert.deepEqual([r.up, r.code], [false, 'error']);
      assert.match(r.reason, /cancelled/);
    });
  });
}
