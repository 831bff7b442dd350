// Proves lib/daemon.ts before the real daemon exists: a stand-in "lvsd" (a few lines of node that
// log pino-style JSON, add one IPVS service, reload on SIGHUP and delete its service on SIGTERM)
// is driven through the same helpers the daemon scenarios use.

import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Daemon, makeConfigDir, waitForTable } from './lib/daemon.js';
import { skipOutsideVm } from './lib/exec.js';
import { deleteService } from './lib/ipvsadm.js';

const SERVICE = '10.20.0.50:80';

const STAND_IN = `
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
const log = (o) => process.stdout.write(JSON.stringify({ level: 'info', time: new Date().toISOString(), name: 'lvsd', ...o }) + '\\n');
const dir = process.argv[process.argv.indexOf('-c') + 1];
log({ msg: 'starting', files: readdirSync(dir).sort(), services: readdirSync(dir + '/conf.d').sort() });
process.stdout.write('not json\\n');
execFileSync('ipvsadm', ['-A', '-t', '${SERVICE}', '-s', 'wlc']);
log({ msg: 'table applied', ops: 1 });
process.on('SIGHUP', () => log({ msg: 'reloaded' }));
process.on('SIGTERM', () => {
  execFileSync('ipvsadm', ['-D', '-t', '${SERVICE}']);
  log({ msg: 'stopped' });
  process.exit(0);
});
setInterval(() => {}, 1000);
`;

describe('daemon harness (lib/daemon.ts) with a stand-in daemon', { skip: skipOutsideVm }, () => {
  it('writes the config, reads JSON logs, waits for the table, reloads and stops', { timeout: 120_000 }, async () => {
    const configDir = await makeConfigDir({
      global: { log_level: 'debug', resync_interval: '5s' },
      services: {
        web: { name: 'web', address: SERVICE, reals: [{ address: '10.10.1.2:80' }] },
        pair: [
          { name: 'a', address: '10.20.0.51:80' },
          { name: 'b', address: '10.20.0.52:80' },
        ],
      },
    });
    assert.deepEqual((await readdir(join(configDir, 'conf.d'))).sort(), ['pair.yaml', 'web.yaml']);
    const bin = join(configDir, 'stand-in.mjs');
    await writeFile(bin, STAND_IN);

    const daemon = await Daemon.start({ configDir, bin, label: 'stand-in-lvsd' });
    try {
      const first = await daemon.waitForMessage('starting', 60_000);
      assert.deepEqual(first['files'], ['conf.d', 'lvsd.yaml', 'stand-in.mjs']);
      assert.deepEqual(first['services'], ['pair.yaml', 'web.yaml']);
      await daemon.waitForLog((l) => l.level === 'unparsed' && l.msg === 'not json', 10_000);
      await daemon.waitForLog((l) => l.msg === 'table applied' && l['ops'] === 1, 30_000);
      const table = await waitForTable((t) => t.byKey.has(`tcp:${SERVICE}`), 30_000);
      assert.equal(table.byKey.get(`tcp:${SERVICE}`)?.scheduler, 'wlc');

      const since = daemon.mark();
      daemon.reload();
      await daemon.waitForMessage('reloaded', 30_000, since);

      assert.equal(await daemon.stop(), 0);
      assert.ok(daemon.logs.some((l) => l.msg === 'stopped'));
      await waitForTable((t) => !t.byKey.has(`tcp:${SERVICE}`), 10_000);
      await assert.rejects(daemon.waitForMessage('never logged', 1000), /already exited/);
    } finally {
      if (daemon.running) await daemon.kill();
      await deleteService(`tcp:${SERVICE}`);
    }
  });
});
