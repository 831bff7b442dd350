// lvsd.yaml `sync_daemon`: what a valid section resolves to, and that every option ipvsadm would
// refuse (ranges of ipvsadm 1.31, captured in test/fixtures/ipvs/daemon/commands.tsv) is an error
// at FILE:LINE:COL, so a config that passes check-config starts its daemon.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIssue, loadConfig } from '../../src/config/load.js';
import { parseDaemonCommand, startDaemonArgs } from '../../src/sync-daemon/ipvsadm.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function load(yaml: string) {
  const dir = await mkdtemp(join(tmpdir(), 'lvsd-sync-config-'));
  dirs.push(dir);
  await mkdir(join(dir, 'conf.d'));
  await writeFile(join(dir, 'lvsd.yaml'), yaml);
  const r = await loadConfig(dir);
  return { dir, r, issues: r.ok ? [] : r.issues.map(formatIssue).map((i) => i.replace(`${dir}/`, '')) };
}

describe('sync_daemon in lvsd.yaml', () => {
  it('resolves every option; ipvsadm accepts the arguments built from it', async () => {
    const { r } = await load('sync_daemon:\n  role: master\n  interface: eth1\n  syncid: 10\n  sync_maxlen: 1472\n  mcast_group: 239.1.2.3\n  mcast_port: 8848\n  mcast_ttl: 2\n');
    if (!r.ok) return assert.fail(r.issues.map(formatIssue).join('\n'));
    const { pos, ...sd } = r.snapshot.global.syncDaemon!;
    assert.deepEqual(sd, { role: 'master', interface: 'eth1', syncid: 10, maxlen: 1472, group: '239.1.2.3', port: 8848, ttl: 2 });
    assert.equal(pos.line, 1);
    const args = startDaemonArgs('master', { ...sd, interface: 'eth1' });
    assert.equal(parseDaemonCommand(args)?.cmd, 'start', 'ipvsadm\'s own checks pass');
  });

  it('defaults: role backup, syncid 0, the rest left to ipvsadm; absent section = null', async () => {
    const { r } = await load('sync_daemon:\n  interface: bond0.12\n');
    if (!r.ok) return assert.fail('valid');
    const { pos: _pos, ...sd } = r.snapshot.global.syncDaemon!;
    assert.deepEqual(sd, { role: 'backup', interface: 'bond0.12', syncid: 0, maxlen: null, group: null, port: null, ttl: null });
    const none = await load('log_level: info\n');
    assert.equal(none.r.ok && none.r.snapshot.global.syncDaemon, null);
    const off = await load('sync_daemon: null\n');
    assert.equal(off.r.ok && off.r.snapshot.global.syncDaemon, null, 'null (the shipped lvsd.yaml) = not configured');
  });

  it('role none needs no interface; an IPv6 multicast group is fine', async () => {
    assert.ok((await load('sync_daemon:\n  role: none\n')).r.ok);
    assert.ok((await load('sync_daemon:\n  interface: eth1\n  mcast_group: "ff02::81"\n')).r.ok);
  });

  it('every option ipvsadm refuses is an error at its place', async () => {
    const { issues } = await load([
      'sync_daemon:',
      '  role: primary',
      '  interface: eth1',
      '  syncid: 256',
      '  sync_maxlen: 65508',
      '  mcast_group: 10.1.1.1',
      '  mcast_port: 0',
      '  mcast_ttl: 256',
      '',
    ].join('\n'));
    const at = (line: number, re: RegExp): void => assert.ok(issues.some((i) => i.startsWith(`lvsd.yaml:${line}:`) && re.test(i)), `line ${line} ${re}: ${issues.join('\n')}`);
    at(2, /role/);
    at(4, /syncid/);
    at(5, /sync_maxlen/);
    at(7, /mcast_port/);
    at(8, /mcast_ttl/);
  });

  it('interface and mcast_group: the kernel\'s name rules, a multicast address; interface required for a daemon', async () => {
    const long = await load('sync_daemon:\n  role: master\n  interface: averyveryverylongname\n');
    assert.deepEqual(long.issues, ['lvsd.yaml:3:14: sync_daemon.interface: "averyveryverylongname" is 1 to 15 characters long']);
    const slash = await load('sync_daemon:\n  interface: "eth/1"\n');
    assert.match(slash.issues[0]!, /^lvsd\.yaml:2:14: sync_daemon\.interface: "eth\/1" may not/);
    const group = await load('sync_daemon:\n  interface: eth1\n  mcast_group: 10.1.1.1\n');
    assert.deepEqual(group.issues, ['lvsd.yaml:3:16: sync_daemon.mcast_group: "10.1.1.1" is not an IPv4 multicast address (224.0.0.0-239.255.255.255)']);
    const v6 = await load('sync_daemon:\n  interface: eth1\n  mcast_group: "2001:db8::1"\n');
    assert.match(v6.issues[0]!, /is not an IPv6 multicast address/);
    // Regressions (issue 18): accepted by check-config, refused by ipvsadm.
    const zone = await load('sync_daemon:\n  interface: eth1\n  mcast_group: "ff02::1%eth0"\n');
    assert.deepEqual(zone.issues, ['lvsd.yaml:3:16: sync_daemon.mcast_group: "ff02::1%eth0" has a zone id ("%..."), which ipvsadm refuses; the interface is sync_daemon.interface']);
    const dash = await load('sync_daemon:\n  interface: "-x"\n');
    assert.deepEqual(dash.issues, ['lvsd.yaml:2:14: sync_daemon.interface: "-x" may not start with "-" (ipvsadm would read it as an option)']);
    const missing = await load('sync_daemon:\n  role: both\n  syncid: 3\n');
    assert.deepEqual(missing.issues, ['lvsd.yaml:1:1: sync_daemon: interface is required (the --mcast-interface the daemons send and listen on)']);
  });

  it('an unknown key names the ones allowed', async () => {
    const { issues } = await load('sync_daemon:\n  interface: eth1\n  ttl: 2\n');
    assert.equal(issues.length, 1);
    assert.match(issues[0]!, /^lvsd\.yaml:3:3: .*ttl.*mcast_ttl/);
  });
});
