// `lvsd run --dry-run` with the bird backend touches no interface: it logs the `ip` commands it
// would run (add at the first results, del at the clean stop) and creates no dummy interface.
// (The real backend runs against the VM's kernel: test/kernel/announce-bird.test.ts.)

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { configDir, startDaemon, tcpListener } from '../helpers/daemon-process.js';
import type { ConfigDir, DaemonProcess, TcpListener } from '../helpers/daemon-process.js';

const IFACE = `lvsdt${process.pid % 100_000}`;

const linkExists = (name: string): boolean => spawnSync('ip', ['link', 'show', 'dev', name], { stdio: 'ignore' }).status === 0;

describe('announce, bird backend, --dry-run', () => {
  let cfg: ConfigDir;
  let daemon: DaemonProcess;
  let real: TcpListener;

  before(async () => {
    real = await tcpListener();
    const port = real.port;
    cfg = await configDir(
      { 'web.yaml': `name: web\naddress: 192.0.2.10:80\nforwarding: masq\ncheck: { type: tcp, interval: 200ms, timeout: 150ms, rise: 1, fall: 1 }\nreals:\n  - address: 127.0.0.1:${port}\n` },
      `announce:\n  backend: bird\n  interface: ${IFACE}\n`,
    );
    daemon = startDaemon(cfg.dir, ['--dry-run']);
  });

  after(async () => {
    await daemon?.stop();
    await real?.close();
    await cfg?.remove();
  });

  it('logs the ip addr add it would run at the first results, and creates no interface', async () => {
    await daemon.waitForLog((l) => l.event === 'vip_announced' && l.reason === 'first_results', 'VIP announced');
    const line = await daemon.waitForLog((l) => l.event === 'announce_dry_run' && Array.isArray(l.command), 'the would-run line');
    assert.deepEqual(line.command, ['ip', 'addr', 'add', '192.0.2.10/32', 'dev', IFACE]);
    assert.equal(linkExists(IFACE), false, `${IFACE} must not exist`);
  });

  it('logs the ip addr del it would run at the clean stop', async () => {
    const since = daemon.logs.length;
    assert.equal(await daemon.stop(), 0);
    const del = daemon.logs.slice(since).find((l) => l.event === 'announce_dry_run' && Array.isArray(l.command));
    assert.deepEqual(del?.command, ['ip', 'addr', 'del', '192.0.2.10/32', 'dev', IFACE]);
    assert.equal(linkExists(IFACE), false);
  });
});
