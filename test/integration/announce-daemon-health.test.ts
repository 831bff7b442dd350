// announce follows the daemon's own health: once unhealthy_after reconcile passes in a row fail
// (ipvsadm broken: the table no longer follows health), every VIP is withdrawn (daemon_unhealthy),
// and a pass that succeeds again brings them back (daemon_recovered, hold_down 0 here). The daemon
// runs the fake ipvsadm behind a switch file; the exabgp socket's peer is a plain Unix socket
// client standing in for `lvsd exabgp-bridge`, acknowledging every line with "done" as ExaBGP does.

import assert from 'node:assert/strict';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { configDir, eventually, fakeIpvsadm, startDaemon, tcpListener } from '../helpers/daemon-process.js';
import type { ConfigDir, DaemonProcess, TcpListener } from '../helpers/daemon-process.js';
import { fakeIpvs } from '../helpers/faults.js';

const PREFIX = '192.0.2.10/32';

describe('announce: withdraw every VIP while reconcile passes keep failing', () => {
  let cfg: ConfigDir;
  let daemon: DaemonProcess;
  let real: TcpListener;
  let client: Socket;
  let flag: string;
  const received: string[] = [];

  before(async () => {
    real = await tcpListener();
    const port = real.port;
    cfg = await configDir(
      { 'web.yaml': `name: web\naddress: 192.0.2.10:80\nforwarding: masq\ncheck: { type: tcp, interval: 200ms, timeout: 150ms, rise: 1, fall: 1 }\nreals:\n  - address: 127.0.0.1:${port}\n` },
      `ipvsadm: ${join('IPVSADM_DIR', 'ipvsadm')}\nannounce:\n  backend: exabgp\n  hold_down: 0\n  unhealthy_after: 2\n`,
    );
    // ipvsadm fails (exit 2) while the flag file exists, else it is the fake.
    flag = join(cfg.dir, 'ipvsadm-broken');
    const wrapper = join(cfg.dir, 'ipvsadm');
    await writeFile(wrapper, `#!/bin/sh\nif [ -e '${flag}' ]; then echo 'Can not initialize ipvs: Protocol not available' >&2; exit 2; fi\nexec '${fakeIpvsadm}' "$@"\n`);
    await chmod(wrapper, 0o755);
    const yaml = join(cfg.dir, 'lvsd.yaml');
    await writeFile(yaml, (await readFile(yaml, 'utf8')).replace('IPVSADM_DIR', cfg.dir));
    const ipvs = await fakeIpvs(cfg.dir, '');
    daemon = startDaemon(cfg.dir, [], ipvs.env);
    await daemon.waitForLog((l) => l.event === 'exabgp_socket_ready', 'the exabgp socket');
    client = connect(join(cfg.dir, 'exabgp.sock'));
    client.setEncoding('utf8');
    let buf = '';
    client.on('data', (c: string) => {
      buf += c;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        received.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        client.write('done\n');
      }
    });
  });

  after(async () => {
    client?.destroy();
    await rm(flag, { force: true });
    await daemon?.stop();
    await real?.close();
    await cfg?.remove();
  });

  const lineArrives = (line: string, from: number): Promise<true> =>
    eventually(async () => (received.slice(from).includes(line) ? true : undefined), `"${line}" on the socket (got ${JSON.stringify(received)})`);

  it('announced after the first results', async () => {
    const line = await daemon.waitForLog((l) => l.event === 'vip_announced', 'VIP announced');
    assert.equal(line.reason, 'first_results');
    await lineArrives(`announce route ${PREFIX} next-hop self`, 0);
  });

  it('ipvsadm breaks: after unhealthy_after failed passes the VIP is withdrawn (daemon_unhealthy)', async () => {
    const since = daemon.logs.length;
    const sent = received.length;
    await writeFile(flag, '');
    const line = await daemon.waitForLog((l) => daemon.logs.indexOf(l) >= since && l.event === 'vip_withdrawn', 'VIP withdrawn');
    assert.equal(line.reason, 'daemon_unhealthy');
    assert.equal(line.failed_passes, 2);
    // Exactly unhealthy_after failures came before it, each logged by the reconciler.
    const failures = daemon.logs.slice(since, daemon.logs.indexOf(line)).filter((l) => l.msg === 'IPVS sync failed; will retry');
    assert.equal(failures.length, 2);
    await lineArrives(`withdraw route ${PREFIX}`, sent);
    const status = (await (await fetch(`http://${cfg.listen}/status`)).json()) as { announce: { daemon_healthy: boolean; vips: { announced: boolean }[] } };
    assert.equal(status.announce.daemon_healthy, false);
    assert.equal(status.announce.vips[0]?.announced, false);
  });

  it('ipvsadm works again: announced again (daemon_recovered, hold_down 0)', async () => {
    const since = daemon.logs.length;
    const sent = received.length;
    await rm(flag);
    const line = await daemon.waitForLog((l) => daemon.logs.indexOf(l) >= since && l.event === 'vip_announced', 'VIP announced again');
    assert.equal(line.reason, 'daemon_recovered');
    await lineArrives(`announce route ${PREFIX} next-hop self`, sent);
  });
});
