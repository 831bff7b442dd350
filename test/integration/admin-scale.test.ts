// Admin state at scale through the real CLI and control socket: `lvsd run --dry-run` with 2,000
// reals and 10,000 maintenance files. Regression (issue 18): from ~7,000 entries `lvsd drain`,
// `enable` and `admin` exited 1 "reply too long" although the change was applied and logged.
// (The loop stretch of these commands is measured by bench/admin-scale.ts, not asserted here.)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configDir, eventually, runLvsd, startDaemon } from '../helpers/daemon-process.js';
import type { ConfigDir, DaemonProcess, RunResult } from '../helpers/daemon-process.js';

const REALS = 2000;
const FILES = 10_000;

const realAddress = (i: number): string => `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}:80`;

describe('admin state at 10,000 maintenance files x 2,000 reals', () => {
  let cfg: ConfigDir;
  let daemon: DaemonProcess;
  const lvsd = (...args: string[]): Promise<RunResult> => runLvsd([args[0]!, '-c', cfg.dir, ...args.slice(1)]);

  before(async () => {
    cfg = await configDir(
      {
        'web.yaml': [
          'name: web',
          'address: 192.0.2.10:80',
          'forwarding: gate',
          'check: { type: none }',
          'reals:',
          ...Array.from({ length: REALS }, (_, i) => `  - { address: ${realAddress(i)} }`),
          '',
        ].join('\n'),
      },
      'maintenance_dir: maint\n',
    );
    // Hosts no service has (unmatched entries), as a fleet-wide maintenance directory would hold.
    await mkdir(join(cfg.dir, 'maint'));
    for (let i = 0; i < FILES; i++) await writeFile(join(cfg.dir, 'maint', `10.9.${Math.floor(i / 250)}.${(i % 250) + 1}`), '');
    daemon = startDaemon(cfg.dir, ['--dry-run']);
    await daemon.waitForLog((l) => l.event === 'first_round', 'first round');
    await daemon.waitForLog((l) => l.msg === 'control socket ready', 'control socket');
  });

  after(async () => {
    await daemon?.stop();
    await cfg?.remove();
  });

  test('lvsd drain SERVICE changing 2,000 reals exits 0, prints the first 1,000 and counts the rest', async () => {
    const r = await lvsd('drain', 'web');
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.filter((l) => / ready -> drain$/.test(l)).length, 1000);
    assert.equal(lines.at(-1), `... and ${REALS - 1000} more reals changed (${REALS} in all; lvsd admin lists them)`);
    await eventually(async () => (daemon.logs.filter((l) => l.event === 'admin_change' && l.to === 'drain').length === REALS ? true : undefined), 'every real drained (logged)');
  });

  test('lvsd admin lists every entry and every real not ready, fetched page by page', async () => {
    const json = await lvsd('admin', '--json');
    assert.equal(json.status, 0, json.stderr);
    const listing = JSON.parse(json.stdout) as { entries: unknown[]; reals: { state: string }[]; unmatched: string[]; total: { entries: number } };
    assert.equal(listing.entries.length, FILES + 1);
    assert.equal(listing.total.entries, FILES + 1);
    assert.equal(listing.reals.length, REALS);
    assert.ok(listing.reals.every((x) => x.state === 'drain'));
    assert.equal(listing.unmatched.length, FILES);
    const text = await lvsd('admin');
    assert.equal(text.status, 0, text.stderr);
    assert.equal(text.stdout.split('\n').filter((l) => /^\s+maintenance\s+maint\s+host 10\.9\./.test(l)).length, FILES);
  });

  test('lvsd enable SERVICE brings 2,000 reals back with exit 0', async () => {
    const r = await lvsd('enable', 'web');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^\\.\\.\\. and ${REALS - 1000} more reals changed \\(${REALS} in all`, 'm'));
    const again = await lvsd('enable', 'web');
    assert.equal(again.status, 0);
    assert.equal(again.stdout, 'no change: already enabled\n');
  });
});
