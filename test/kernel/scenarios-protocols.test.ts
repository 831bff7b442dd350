// lvsd against the real kernel IPVS, beyond TCP on IPv4: a UDP DNS service (dnsmasq realservers,
// dns checks over UDP), a firewall-mark service (packets marked by nftables), an IPv6 service with
// HTTP checks. One daemon runs all three; each scenario asserts its part of the kernel table, the
// lines the daemon applied, and the client's requests through the VIP. One daemon for the file:
// a start costs 15-45 s of emulated CPU.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { httpUrl } from './lib/client.js';
import { Daemon, startDaemon } from './lib/daemon.js';
import { skipOutsideVm } from './lib/exec.js';
import { deleteService, readTable, waitForTable } from './lib/ipvsadm.js';
import { addMark } from './lib/netns.js';
import { appliedLines, assertNoErrors, globalConfig, hasReals, linesFor, START_WAIT, stopDaemon, waitForTransition } from './lib/scenario.js';
import type { ManagedProcess } from './lib/servers.js';
import { Topology } from './lib/topology.js';

const TIMEOUT = { timeout: 240_000 };
const WAIT = 60_000;

const DNS_VIP = '10.20.0.32';
const MARK_VIP = '10.20.0.33';
const MARK = 33;
const V6_VIP = 'fd00:20::34';
const KEYS = { dns: `udp:${DNS_VIP}:53`, mark: `fwmark:${MARK}:v4`, v6: `tcp:[${V6_VIP}]:80` } as const;

const v4 = (n: number, port: number): string => `10.10.${n}.2:${port}`;
const v6 = (n: number, port: number): string => `[fd00:10:${n}::2]:${port}`;

describe('lvsd scenarios: UDP DNS, fwmark, IPv6 (kernel IPVS)', { skip: skipOutsideVm }, () => {
  let topo: Topology;
  let daemon: Daemon;
  const dns = new Map<string, ManagedProcess>();

  before(async () => {
    topo = await Topology.create({ reals: 3 });
    const [, dns1, dns2] = await Promise.all([topo.startHttpOnAll(), topo.startDns('rs1'), topo.startDns('rs2')]);
    dns.set('rs1', dns1).set('rs2', dns2);
    for (const vip of [DNS_VIP, MARK_VIP, V6_VIP]) await topo.addVip(vip);
    await addMark({ daddr: MARK_VIP, protocol: 'tcp', dport: 80, mark: MARK });
    daemon = await startDaemon({
      global: globalConfig(),
      services: {
        dns: {
          name: 'dns',
          address: `${DNS_VIP}:53`,
          protocol: 'udp',
          // transport: udp, from the service's protocol.
          check: { type: 'dns', query: 'whoami.test', query_type: 'TXT', expect_answer: 'rs[0-9]' },
          reals: [{ address: v4(1, 53) }, { address: v4(2, 53) }],
        },
        mark: { name: 'mark', fwmark: MARK, reals: [{ address: v4(1, 80) }, { address: v4(3, 80) }] },
        v6: {
          name: 'v6',
          address: `[${V6_VIP}]:80`,
          check: { type: 'http', path: '/health', timeout: '800ms' },
          reals: [{ address: v6(1, 80) }, { address: v6(2, 80) }],
        },
      },
    });
  }, { timeout: 300_000 });

  after(async () => {
    try {
      if (daemon?.running) await daemon.kill();
      for (const key of Object.values(KEYS)) await deleteService(key);
    } finally {
      await topo?.teardown();
    }
  }, TIMEOUT);

  it('balances a UDP DNS service checked over UDP; a dead DNS server leaves at once', { timeout: 300_000 }, async () => {
    await daemon.waitForMessage('first check round in', START_WAIT);
    await waitForTable((t) => hasReals(t, KEYS.dns, [[v4(1, 53), 1], [v4(2, 53), 1]]), WAIT);
    const names: string[] = [];
    for (let i = 0; i < 4; i++) names.push(await topo.client.dnsWhoAnswers(DNS_VIP));
    assert.deepEqual(new Set(names), new Set(['rs1', 'rs2']), `answers: ${names.join(' ')}`);

    const killedAt = daemon.mark();
    await dns.get('rs2')?.kill();
    const down = await waitForTransition(daemon, { service: 'dns', real: v4(2, 53), from: 'up', to: 'down' }, WAIT, killedAt);
    assert.match(String(down.line['reason']), /fall 2/);
    await waitForTable((t) => hasReals(t, KEYS.dns, [[v4(1, 53), 1]]), WAIT);
    // UDP: no drain at weight 0, the real is deleted in one step.
    // (Other services of this daemon may have changes in the same pass: look at this one's lines.)
    assert.deepEqual(linesFor(appliedLines(daemon, killedAt), `${DNS_VIP}:53`), [`-d -u ${DNS_VIP}:53 -r ${v4(2, 53)}`]);
    for (let i = 0; i < 2; i++) assert.equal(await topo.client.dnsWhoAnswers(DNS_VIP), 'rs1');
  });

  it('routes nftables-marked packets through a fwmark service', TIMEOUT, async () => {
    await waitForTable((t) => hasReals(t, KEYS.mark, [[v4(1, 80), 1], [v4(3, 80), 1]]), WAIT);
    assert.ok(appliedLines(daemon).includes(`-A -f ${MARK} -s rr`), 'the fwmark service was created by lvsd');
    const names = await topo.client.whoAnswersMany(httpUrl(MARK_VIP), 4);
    assert.deepEqual(new Set(names), new Set(['rs1', 'rs3']), `answers: ${names.join(' ')}`);
  });

  it('serves an IPv6 VIP from IPv6 realservers checked over HTTP', TIMEOUT, async () => {
    await waitForTable((t) => hasReals(t, KEYS.v6, [[v6(1, 80), 1], [v6(2, 80), 1]]), WAIT);
    assert.deepEqual(
      [...linesFor(appliedLines(daemon), `[${V6_VIP}]:80`)].sort(),
      [`-A -t [${V6_VIP}]:80 -s rr`, `-a -t [${V6_VIP}]:80 -r ${v6(1, 80)} -m -w 1`, `-a -t [${V6_VIP}]:80 -r ${v6(2, 80)} -m -w 1`].sort(),
    );
    const names = await topo.client.whoAnswersMany(httpUrl(V6_VIP), 4);
    assert.deepEqual(new Set(names), new Set(['rs1', 'rs2']), `answers: ${names.join(' ')}`);
  });

  it('removes all three services on a clean stop', TIMEOUT, async () => {
    assertNoErrors(daemon);
    await stopDaemon(daemon);
    const table = await readTable();
    for (const key of Object.values(KEYS)) assert.equal(table.byKey.has(key), false, `${key} removed`);
  });
});
