// `lvsd run --log-format text`: the daemon's events as readable lines (issue 11: human logs in the
// foreground; a terminal gets them without the flag), and a bad --log-format is a usage error.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { configDir, runLvsd, startDaemon, tcpListener } from '../helpers/daemon-process.js';
import type { ConfigDir, DaemonProcess } from '../helpers/daemon-process.js';

describe('lvsd run --log-format text', () => {
  let cfg: ConfigDir;
  let daemon: DaemonProcess;
  let real: Awaited<ReturnType<typeof tcpListener>>;

  before(async () => {
    real = await tcpListener();
    cfg = await configDir({
      'web.yaml': `name: web\naddress: 192.0.2.10:80\nforwarding: masq\ncheck: { type: tcp, interval: 500ms, timeout: 400ms, rise: 1, fall: 1 }\nreals:\n  - address: 127.0.0.1:${real.port}\n`,
    });
    daemon = startDaemon(cfg.dir, ['--dry-run', '--log-format', 'text']);
  });

  after(async () => {
    await daemon?.stop();
    await real?.close();
    await cfg?.remove();
  });

  it('writes one readable line per event, no JSON', async () => {
    const start = await daemon.waitForLog((l) => /^\d\d:\d\d:\d\d\.\d{3} INFO  lvsd starting /.test(String(l.msg)), 'the start line as text');
    assert.match(String(start.msg), / dryRun=true /);
    const applied = await daemon.waitForLog((l) => / INFO  applying IPVS changes /.test(String(l.msg)), 'the applied lines as text');
    assert.match(String(applied.msg), /lines=\["-A -t 192\.0\.2\.10:80/);
    assert.ok(daemon.logs.every((l) => l['unparsed'] === true), 'every line is text, none is JSON');
    assert.equal(await daemon.stop(), 0);
  });

  it('refuses an unknown format as a usage error', async () => {
    const r = await runLvsd(['run', '--dry-run', '-c', cfg.dir, '--log-format', 'xml']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--log-format must be json or text/);
  });
});
