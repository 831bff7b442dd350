// Proves the kernel-test harness against the real IPVS with ipvsadm alone (no daemon): TCP masq
// over IPv4 and IPv6 VIPs, UDP DNS, a fwmark service, a realserver killed and revived, a held
// connection counted by the kernel. Each test deletes exactly the services it created (never -C).

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { parseCounters } from '../../src/ipvs/parse.js';
import { parseProcIpVs } from '../../src/ipvs/proc-conns.js';
import { httpUrl } from './lib/client.js';
import { skipOutsideVm } from './lib/exec.js';
import { deleteService, ipvsadm, ipvsadmRestore, readCounters, readTable, waitForTable } from './lib/ipvsadm.js';
import { addMark } from './lib/netns.js';
import type { ManagedProcess } from './lib/servers.js';
import { Topology } from './lib/topology.js';

const TIMEOUT = { timeout: 180_000 };

describe('kernel IPVS through the harness (ipvsadm only)', { skip: skipOutsideVm }, () => {
  let topo: Topology;
  let http: Map<string, ManagedProcess>;

  before(async () => {
    topo = await Topology.create({ reals: 3 });
    http = await topo.startHttpOnAll();
  }, TIMEOUT);

  after(async () => {
    await topo?.teardown();
  }, TIMEOUT);

  it('spreads a masq TCP service on an IPv4 VIP over all three realservers', TIMEOUT, async () => {
    const vip = await topo.addVip('10.20.0.10');
    const key = `tcp:${vip}:80`;
    try {
      await ipvsadmRestore([
        `-A -t ${vip}:80 -s rr`,
        ...topo.reals.map((rs) => `-a -t ${vip}:80 -r ${rs.ipv4}:80 -m -w 1`),
      ]);

      const service = (await readTable()).byKey.get(key);
      assert.ok(service, `service ${key} in the table`);
      assert.equal(service.scheduler, 'rr');
      assert.deepEqual(
        service.reals.map((r) => [r.address, r.forwarding, r.weight]),
        topo.reals.map((rs) => [`${rs.ipv4}:80`, 'masq', 1]),
      );

      const names = await topo.client.whoAnswersMany(httpUrl(vip), 6);
      assert.deepEqual(new Set(names), new Set(['rs1', 'rs2', 'rs3']), `answers: ${names.join(' ')}`);
    } finally {
      await deleteService(key);
    }
  });

  it('forwards an IPv6 VIP to an IPv6 realserver', TIMEOUT, async () => {
    const vip = await topo.addVip('fd00:20::10');
    const rs = topo.real('rs2');
    const key = `tcp:[${vip}]:80`;
    try {
      await ipvsadm('-A', '-t', `[${vip}]:80`, '-s', 'wlc');
      await ipvsadm('-a', '-t', `[${vip}]:80`, '-r', `[${rs.ipv6}]:80`, '-m');
      const table = await readTable();
      assert.deepEqual(
        table.byKey.get(key)?.reals.map((r) => r.address),
        [`[${rs.ipv6}]:80`],
      );
      assert.deepEqual(await topo.client.whoAnswersMany(httpUrl(vip), 2), ['rs2', 'rs2']);
    } finally {
      await deleteService(key);
    }
  });

  it('balances a UDP DNS service over two dnsmasq realservers', TIMEOUT, async () => {
    const vip = await topo.addVip('10.20.0.11');
    const key = `udp:${vip}:53`;
    for (const name of ['rs1', 'rs2']) await topo.startDns(name, { records: { 'svc.test': '10.99.0.1' } });
    try {
      await ipvsadm('-A', '-u', `${vip}:53`, '-s', 'rr');
      for (const name of ['rs1', 'rs2']) {
        await ipvsadm('-a', '-u', `${vip}:53`, '-r', `${topo.real(name).ipv4}:53`, '-m');
      }
      const names: string[] = [];
      for (let i = 0; i < 4; i++) names.push(await topo.client.dnsWhoAnswers(vip));
      assert.deepEqual(new Set(names), new Set(['rs1', 'rs2']), `answers: ${names.join(' ')}`);

      const reply = await topo.client.dns({ server: vip, name: 'svc.test', type: 'A' });
      assert.equal(reply.rcode, 'NOERROR');
      assert.deepEqual(reply.answers.map((a) => a.data), ['10.99.0.1']);
    } finally {
      await deleteService(key);
    }
  });

  it('routes packets marked by nftables through a fwmark service', TIMEOUT, async () => {
    const vip = await topo.addVip('10.20.0.12');
    const mark = 7;
    await addMark({ daddr: vip, protocol: 'tcp', dport: 80, mark });
    const key = `fwmark:${mark}:v4`;
    try {
      await ipvsadm('-A', '-f', String(mark), '-s', 'rr');
      for (const name of ['rs2', 'rs3']) await ipvsadm('-a', '-f', String(mark), '-r', `${topo.real(name).ipv4}:80`, '-m');
      await waitForTable((t) => t.byKey.get(key)?.reals.length === 2, 10_000);

      const names = await topo.client.whoAnswersMany(httpUrl(vip), 4);
      assert.deepEqual(new Set(names), new Set(['rs2', 'rs3']), `answers: ${names.join(' ')}`);
    } finally {
      await deleteService(key);
    }
  });

  it('sees a killed realserver refuse and a revived one answer again', TIMEOUT, async () => {
    const vip = await topo.addVip('10.20.0.13');
    const key = `tcp:${vip}:80`;
    const rs3 = http.get('rs3');
    assert.ok(rs3);
    try {
      await ipvsadm('-A', '-t', `${vip}:80`, '-s', 'rr');
      await ipvsadm('-a', '-t', `${vip}:80`, '-r', `${topo.real('rs3').ipv4}:80`, '-m');
      assert.equal(await topo.client.whoAnswers(httpUrl(vip)), 'rs3');

      await rs3.kill();
      const down = await topo.client.tryWhoAnswers(httpUrl(vip), 3000);
      assert.ok('error' in down, `a request to a dead realserver failed: ${JSON.stringify(down)}`);

      await rs3.revive();
      assert.equal(await topo.client.whoAnswers(httpUrl(vip)), 'rs3');
    } finally {
      await deleteService(key);
    }
  });

  it('counts a held connection as active on the realserver that took it', TIMEOUT, async () => {
    const vip = await topo.addVip('10.20.0.14');
    const key = `tcp:${vip}:80`;
    const rs1 = topo.real('rs1');
    try {
      await ipvsadm('-A', '-t', `${vip}:80`, '-s', 'rr');
      await ipvsadm('-a', '-t', `${vip}:80`, '-r', `${rs1.ipv4}:80`, '-m');
      const hold = await topo.client.hold(httpUrl(vip, 80, '/hold'));
      assert.equal(hold.servedBy, 'rs1');
      try {
        const counters = (await readCounters()).get(key)?.get(`${rs1.ipv4}:80`);
        assert.equal(counters?.activeConns, 1, `counters: ${JSON.stringify(counters)}`);
        // The same counters straight from /proc/net/ip_vs, as /metrics and /status read them.
        const proc = parseProcIpVs(await readFile('/proc/net/ip_vs', 'utf8'));
        assert.deepEqual(proc.get(key)?.get(`${rs1.ipv4}:80`), { ...counters, persistentConns: 0 });
      } finally {
        await topo.client.release(hold);
      }
    } finally {
      await deleteService(key);
    }
  });

  it('/proc/net/ip_vs parses to the same services, reals and counters as ipvsadm -Ln (IPv6, fwmark of both families)', TIMEOUT, async () => {
    // Table entries only (documentation addresses, no traffic): the formats of every kind of line.
    const lines = [
      '-A -t [2001:db8::10]:443 -s wlc',
      '-a -t [2001:db8::10]:443 -r [2001:db8::11]:8443 -g -w 2',
      '-A -f 41 -s rr',
      '-a -f 41 -r 10.99.0.1:0 -g -w 1',
      '-A -f 42 -6 -s rr',
      '-a -f 42 -6 -r [2001:db8::12]:0 -g -w 1',
      '-A -u 10.99.0.10:53 -s rr -p 300',
    ];
    await ipvsadmRestore(lines);
    try {
      // lvsd's own reading of the ipvsadm listing (what runner.counters() gives) is the reference.
      const fromIpvsadm = parseCounters(await ipvsadm('-Ln', '--exact'));
      const fromProc = parseProcIpVs(await readFile('/proc/net/ip_vs', 'utf8'));
      for (const k of ['tcp:[2001:db8::10]:443', 'fwmark:41:v4', 'fwmark:42:v6', 'udp:10.99.0.10:53']) {
        const want = new Map([...(fromIpvsadm.get(k) ?? new Map())].map(([r, c]) => [r, { ...c, persistentConns: 0 }]));
        assert.deepEqual(fromProc.get(k), want, `${k}: /proc ${JSON.stringify([...(fromProc.get(k) ?? [])])}`);
      }
    } finally {
      for (const k of ['tcp:[2001:db8::10]:443', 'fwmark:41:v4', 'fwmark:42:v6', 'udp:10.99.0.10:53']) await deleteService(k);
    }
  });
});
