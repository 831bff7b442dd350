// A real PowerDNS with a LUA ifurlextup record whose health URLs are lvsd's /health/vip: it answers
// with only the sites whose VIP is healthy, and follows when the reals behind a VIP die or return.
// Two VIPs of one `lvsd run --dry-run` stand for two sites; 192.0.2.x are only names in the DNS
// answer and the URL path, no packet goes to them. PowerDNS checks the URLs asynchronously (every
// second here): the test polls the answer until it changes, bounded, never a blind sleep.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { configDir, eventually, freePort, startDaemon, tcpListener } from '../helpers/daemon-process.js';
import type { ConfigDir, DaemonProcess, TcpListener } from '../helpers/daemon-process.js';
import { queryUdp, startPowerDns } from '../helpers/powerdns.js';
import type { PowerDns } from '../helpers/powerdns.js';

const CHECK = 'check: { type: tcp, interval: 200ms, timeout: 150ms, rise: 1, fall: 1 }';
const ZONE = 'example.test';

function service(name: string, address: string, realPort: number): string {
  return `name: ${name}\naddress: "${address}"\nprotocol: tcp\nforwarding: masq\n${CHECK}\nreals:\n  - address: 127.0.0.1:${realPort}\n`;
}

/** The README's record, with the test's listen address. */
function luaZone(listen: string): string {
  return [
    `$ORIGIN ${ZONE}.`,
    '@   60 IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 60',
    '@   60 IN NS  ns.example.test.',
    'ns  60 IN A   127.0.0.1',
    `www 5  IN LUA A "ifurlextup({{['192.0.2.10']='http://${listen}/health/vip/192.0.2.10', ['192.0.2.20']='http://${listen}/health/vip/192.0.2.20'}}, {selector='all'})"`,
    '',
  ].join('\n');
}

describe('PowerDNS ifurlextup on /health/vip', () => {
  let cfg: ConfigDir;
  let daemon: DaemonProcess;
  let pdns: PowerDns;
  let portA: number;
  let portB: number;
  let realA: TcpListener | null = null;
  let realB: TcpListener | null = null;

  /** Poll www.example.test A until it is exactly `want` (sorted). */
  const answerBecomes = (want: readonly string[]): Promise<readonly string[]> =>
    eventually(async () => {
      const r = await queryUdp(pdns.port, `www.${ZONE}`, 'A');
      return r.rcode === 0 && r.addresses.join() === [...want].sort().join() ? r.addresses : undefined;
    }, `PowerDNS answering ${want.join(', ')}`, 60_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\npdns log:\n${pdns.log()}`);
    });

  before(async () => {
    portA = await freePort();
    portB = await freePort();
    realA = await tcpListener(portA);
    cfg = await configDir({ 'site-a.yaml': service('site-a', '192.0.2.10:80', portA), 'site-b.yaml': service('site-b', '192.0.2.20:80', portB) });
    daemon = startDaemon(cfg.dir, ['--dry-run']);
    // lvsd's first results are in before PowerDNS asks (its first answer is then final).
    await daemon.waitForLog((l) => l.event === 'reconcile_applied', 'first reconcile pass applied');
    pdns = await startPowerDns(ZONE, luaZone(cfg.listen));
  });

  after(async () => {
    await pdns?.stop();
    await daemon?.stop();
    if (realA) await realA.close();
    if (realB) await realB.close();
    await cfg?.remove();
  });

  it('answers with only the site whose VIP is healthy', async () => {
    // PowerDNS starts checking a URL at the first query that needs it and, until each check has run
    // once, answers its all-down fallback (one random candidate): wait for both first verdicts in
    // its log ("declaring ... UP/DOWN for URL ..."), then the answer must be the healthy site only.
    await queryUdp(pdns.port, `www.${ZONE}`, 'A');
    const url = (vip: string): string => `http://${cfg.listen}/health/vip/${vip}`;
    await eventually(
      async () => (pdns.log().includes(`UP for URL ${url('192.0.2.10')}!`) && pdns.log().includes(`DOWN for URL ${url('192.0.2.20')},`) ? true : undefined),
      'PowerDNS\'s first verdict on both URLs',
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\npdns log:\n${pdns.log()}`);
    });
    assert.deepEqual(await answerBecomes(['192.0.2.10']), ['192.0.2.10']);
    // Not PowerDNS's all-down fallback (one random candidate): the answer stays the healthy site.
    for (let i = 0; i < 5; i++) assert.deepEqual((await queryUdp(pdns.port, `www.${ZONE}`, 'A')).addresses, ['192.0.2.10']);
  });

  it('adds the second site once its reals are up', async () => {
    realB = await tcpListener(portB);
    assert.deepEqual(await answerBecomes(['192.0.2.10', '192.0.2.20']), ['192.0.2.10', '192.0.2.20']);
  });

  it('drops the first site when its reals die (quorum lost)', async () => {
    await realA!.close();
    realA = null;
    assert.deepEqual(await answerBecomes(['192.0.2.20']), ['192.0.2.20']);
  });
});
