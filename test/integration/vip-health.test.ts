// `lvsd run --dry-run` with reals on 127.0.0.1: GET /health/vip/ADDRESS follows the quorum of every
// service on the VIP (200 -> 503 when the reals' server dies, back to 200 when it returns), 404 for
// an address lvsd does not serve, 400 for one that is not an IP, and the gdnsd state file follows.
// 192.0.2.x are VIP names only (dry run): no packet goes to them.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { configDir, eventually, freePort, startDaemon, tcpListener } from '../helpers/daemon-process.js';
import type { ConfigDir, DaemonProcess, TcpListener } from '../helpers/daemon-process.js';

const CHECK = 'check: { type: tcp, interval: 200ms, timeout: 150ms, rise: 1, fall: 1 }';

function service(name: string, address: string, real: string): string {
  return `name: ${name}\naddress: "${address}"\nprotocol: tcp\nforwarding: masq\n${CHECK}\nreals:\n  - address: "${real}"\n`;
}

describe('lvsd run: /health/vip and dns_state_file', () => {
  let cfg: ConfigDir;
  let daemon: DaemonProcess;
  let realPort: number;
  let real: TcpListener | null = null;
  let real6: TcpListener | null = null;
  let base: string;
  let stateFile: string;

  const get = async (address: string): Promise<{ status: number; body: unknown }> => {
    const res = await fetch(`${base}/health/vip/${address}`);
    return { status: res.status, body: await res.json() };
  };
  const statusBecomes = (address: string, status: number): Promise<unknown> =>
    eventually(async () => {
      const r = await get(address);
      return r.status === status ? r.body : undefined;
    }, `${address} answering ${status}`);
  const stateBecomes = (text: string): Promise<string> =>
    eventually(async () => {
      const t = await readFile(stateFile, 'utf8').catch(() => '');
      return t === text ? t : undefined;
    }, `state file ${JSON.stringify(text)}`);

  before(async () => {
    realPort = await freePort();
    real = await tcpListener(realPort);
    const deadPort = await freePort();
    real6 = await tcpListener(0, '::1');
    const port6 = real6.port;
    cfg = await configDir(
      {
        'web.yaml': service('web', '192.0.2.10:80', `127.0.0.1:${realPort}`),
        'tls.yaml': service('tls', '192.0.2.10:443', `127.0.0.1:${realPort}`),
        'other.yaml': service('other', '192.0.2.20:80', `127.0.0.1:${deadPort}`),
        'v6.yaml': service('v6', '[2001:db8::10]:80', `[::1]:${port6}`),
      },
      'dns_state_file: run/vips.state\n',
    );
    stateFile = join(cfg.dir, 'run', 'vips.state');
    base = `http://${cfg.listen}`;
    daemon = startDaemon(cfg.dir, ['--dry-run']);
    await daemon.waitForLog((l) => l.event === 'started', 'daemon started');
  });

  after(async () => {
    await daemon?.stop();
    if (real) await real.close();
    if (real6) await real6.close();
    await cfg?.remove();
  });

  it('answers 200 for a healthy VIP with every service on it, 503 for one without quorum', async () => {
    assert.deepEqual(await statusBecomes('192.0.2.10', 200), {
      vip: '192.0.2.10',
      healthy: true,
      services: [
        { name: 'tls', quorum: true },
        { name: 'web', quorum: true },
      ],
    });
    const other = await get('192.0.2.20');
    assert.equal(other.status, 503);
    assert.deepEqual(other.body, { vip: '192.0.2.20', healthy: false, services: [{ name: 'other', quorum: false }] });
  });

  it('maps IPv6 in any textual form to the VIP', async () => {
    for (const form of ['2001:db8::10', '2001:0db8:0000:0000:0000:0000:0000:0010', '2001:DB8::10']) {
      const r = await get(form);
      assert.equal(r.status, 200, form);
      assert.equal((r.body as { vip: string }).vip, '2001:db8::10');
    }
  });

  it('answers 404 for an address lvsd does not serve and 400 for one that is not an IP', async () => {
    const unknown = await get('192.0.2.99');
    assert.equal(unknown.status, 404);
    assert.equal((unknown.body as { vip: string }).vip, '192.0.2.99');
    assert.equal((await get('www.example.com')).status, 400);
    assert.equal((await fetch(`${base}/health/vip/`)).status, 404);
    assert.equal((await fetch(`${base}/health/vip/192.0.2.10/x`)).status, 404);
    assert.equal((await fetch(`${base}/health/vip/192.0.2.10`, { method: 'POST' })).status, 405);
  });

  it('writes the gdnsd state file once the first results are in', async () => {
    await stateBecomes('192.0.2.10 => UP\n192.0.2.20 => DOWN\n2001:db8::10 => UP\n');
  });

  it('flips to 503 when the reals\' server dies and back to 200 when it returns; the state file follows', async () => {
    await real!.close();
    real = null;
    const down = (await statusBecomes('192.0.2.10', 503)) as { healthy: boolean; services: { quorum: boolean }[] };
    assert.equal(down.healthy, false);
    assert.ok(down.services.every((s) => !s.quorum));
    await stateBecomes('192.0.2.10 => DOWN\n192.0.2.20 => DOWN\n2001:db8::10 => UP\n');
    real = await tcpListener(realPort);
    await statusBecomes('192.0.2.10', 200);
    await stateBecomes('192.0.2.10 => UP\n192.0.2.20 => DOWN\n2001:db8::10 => UP\n');
  });

  it('a clean stop writes every VIP DOWN before it exits', async () => {
    assert.equal(await daemon.stop(), 0);
    assert.equal(await readFile(stateFile, 'utf8'), '192.0.2.10 => DOWN\n192.0.2.20 => DOWN\n2001:db8::10 => DOWN\n');
  });
});
