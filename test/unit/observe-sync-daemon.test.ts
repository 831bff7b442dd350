// Where the sync daemon shows: /status `sync_daemon`, the `sync` line of `lvsd status`, the page's
// Sync daemon card and the lvsd_sync_* metrics, from a real keeper over the in-memory kernel model
// (a master it started, a foreign backup it leaves alone); nothing of it without sync_daemon.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log.js';
import { MemoryDaemons, kernelViewOf } from '../../src/sync-daemon/ipvsadm.js';
import type { SyncDaemonRunner } from '../../src/sync-daemon/ipvsadm.js';
import { SyncDaemonKeeper } from '../../src/sync-daemon/keeper.js';
import { renderStatusPage } from '../../src/observe/status-page.js';
import { renderStatusText } from '../../src/observe/status-text.js';
import { renderSyncText } from '../../src/cli/sync-role.js';
import { world } from '../helpers/observe-fixtures.js';

async function keeper(configured: boolean): Promise<SyncDaemonKeeper> {
  const mem = new MemoryDaemons([kernelViewOf('backup', { interface: 'eth0', syncid: 3, maxlen: null, group: null, port: null, ttl: null })]);
  const runner: SyncDaemonRunner = {
    daemons: async () => mem.list(),
    startDaemon: async (state, spec) => void mem.exec({ cmd: 'start', state, spec }),
    stopDaemon: async (state) => void mem.exec({ cmd: 'stop', state }),
  };
  const k = new SyncDaemonKeeper({ runner, logger: createLogger('silent'), file: null });
  const cfg = { role: 'both' as const, interface: 'eth1', syncid: 10, maxlen: null, group: null, port: null, ttl: null, pos: { file: 'lvsd.yaml', line: 1, col: 1 } };
  k.setConfig(configured ? cfg : null, 30_000);
  await k.start();
  await k.stop();
  return k;
}

describe('the sync daemon in status, page and metrics', () => {
  it('/status sync_daemon: role, source, the kernel\'s daemons with ownership, the conflict', async () => {
    const k = await keeper(true);
    const doc = await world({ sync: k }).observer.statusDocument();
    const s = doc.sync_daemon!;
    assert.equal(s.role, 'both');
    assert.equal(s.source, 'config');
    assert.deepEqual(s.wanted, ['master', 'backup']);
    assert.deepEqual(s.kernel.map((d) => [d.state, d.interface, d.owned]), [['master', 'eth1', true], ['backup', 'eth0', false]]);
    assert.equal(s.conflicts.length, 1);
    assert.match(s.conflicts[0]!, /^backup: a sync daemon lvsd did not start runs with interface eth0, want eth1; syncid 3, want 10/);
    assert.equal((await world().observer.statusDocument()).sync_daemon, null);
  });

  it('lvsd status, lvsd sync-role and the page say it; nothing while not configured', async () => {
    const k = await keeper(true);
    const doc = await world({ sync: k }).observer.statusDocument();
    assert.match(renderStatusText(doc), /^sync {5}role both \(lvsd\.yaml\); kernel: master on eth1 syncid 10, backup on eth0 syncid 3 \(not lvsd's\); CONFLICT backup: /m);
    assert.match(renderSyncText(doc.sync_daemon!), /^kernel {3}backup \(interface eth0, syncid 3, maxlen 1472, group 224\.0\.0\.81, port 8848, ttl 1\), not started by lvsd$/m);
    assert.match(renderStatusPage(doc), /<dt>Sync daemon<\/dt><dd><span class="pill bad" id="sync-role">both<\/span> from lvsd\.yaml/);
    const off = await world().observer.statusDocument();
    assert.doesNotMatch(renderStatusText(off), /^sync /m);
    assert.doesNotMatch(renderStatusPage(off), /Sync daemon/);
    const unconfigured = await keeper(false);
    assert.match(renderSyncText(unconfigured.status()), /^sync daemon: not configured/);
  });

  it('metrics: running and wanted by role, the role in force with its source, conflicts, execs', async () => {
    const k = await keeper(true);
    const text = await world({ sync: k }).observer.metrics.text();
    assert.match(text, /^lvsd_sync_daemon_running\{role="master"\} 1$/m);
    assert.match(text, /^lvsd_sync_daemon_running\{role="backup"\} 1$/m);
    assert.match(text, /^lvsd_sync_daemon_wanted\{role="backup"\} 1$/m);
    assert.match(text, /^lvsd_sync_role\{role="both",source="config"\} 1$/m);
    assert.match(text, /^lvsd_sync_role\{role="master",source="config"\} 0$/m);
    assert.match(text, /^lvsd_sync_daemon_conflicts 1$/m);
    assert.match(text, /^lvsd_sync_daemon_ipvsadm_execs_total\{kind="read"\} 1$/m);
    assert.match(text, /^lvsd_sync_daemon_ipvsadm_execs_total\{kind="change"\} 1$/m);
    const none = await world().observer.metrics.text();
    assert.doesNotMatch(none, /^lvsd_sync_daemon_running\{/m);
  });
});
