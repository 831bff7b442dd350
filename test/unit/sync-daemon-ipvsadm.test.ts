// The sync daemon model against ipvsadm's captured output and answers (test/fixtures/ipvs/daemon/):
// the `-L --daemon` parser, the argument lists, the comparison with the wanted daemon, and the
// in-memory stand-in the dry run and the fake ipvsadm use.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  MemoryDaemons,
  daemonDifferences,
  formatDaemonListing,
  kernelViewOf,
  parseDaemonCommand,
  parseDaemonListing,
  startDaemonArgs,
} from '../../src/sync-daemon/ipvsadm.js';
import type { SyncDaemonSpec } from '../../src/sync-daemon/ipvsadm.js';

const fixtures = join(process.cwd(), 'test', 'fixtures', 'ipvs', 'daemon');
const fixture = (name: string): string => readFileSync(join(fixtures, name), 'utf8');
const spec = (over: Partial<SyncDaemonSpec> = {}): SyncDaemonSpec => ({ interface: 'va', syncid: 10, maxlen: null, group: null, port: null, ttl: null, ...over });

describe('ipvsadm -L --daemon', () => {
  it('parses the captured listings: one master, master and backup, an IPv6 group, none', () => {
    assert.deepEqual([...parseDaemonListing(fixture('list-master.txt')).values()], [
      { state: 'master', interface: 'va', syncid: 10, maxlen: 1472, group: '224.0.0.81', port: 8848, ttl: 1 },
    ]);
    const both = parseDaemonListing(fixture('list-both.txt'));
    assert.deepEqual(both.get('backup'), { state: 'backup', interface: 'va', syncid: 11, maxlen: 1024, group: '239.1.2.3', port: 9000, ttl: 3 });
    assert.equal(parseDaemonListing(fixture('list-ipv6-group.txt')).get('master')?.group, 'ff02::81');
    assert.equal(parseDaemonListing(fixture('list-empty.txt')).size, 0);
  });

  it('prints what it parses, byte for byte (the fake ipvsadm prints this)', () => {
    for (const f of ['list-master.txt', 'list-both.txt', 'list-ipv6-group.txt', 'list-empty.txt']) {
      assert.equal(formatDaemonListing(parseDaemonListing(fixture(f))), fixture(f), f);
    }
  });

  it('refuses anything else rather than guess a daemon\'s state', () => {
    assert.throws(() => parseDaemonListing('master sync daemon (mcast=va, syncid=10)\n'), { code: 'LVSD_IPVS_PARSE' });
    assert.throws(() => parseDaemonListing('IP Virtual Server version 1.2.1 (size=4096)\n'), { code: 'LVSD_IPVS_PARSE' });
  });
});

describe('daemon arguments and comparison', () => {
  it('passes only the options that are set; syncid always', () => {
    assert.deepEqual(startDaemonArgs('master', spec()), ['--start-daemon', 'master', '--mcast-interface', 'va', '--syncid', '10']);
    assert.deepEqual(startDaemonArgs('backup', spec({ maxlen: 1000, group: '239.1.2.3', port: 9000, ttl: 3 })), [
      '--start-daemon', 'backup', '--mcast-interface', 'va', '--syncid', '10', '--sync-maxlen', '1000', '--mcast-group', '239.1.2.3', '--mcast-port', '9000', '--mcast-ttl', '3',
    ]);
  });

  it('a daemon with the defaults matches a spec that leaves them out', () => {
    const k = parseDaemonListing(fixture('list-master.txt')).get('master')!;
    assert.deepEqual(daemonDifferences('master', spec(), k), []);
    assert.deepEqual(daemonDifferences('master', spec({ syncid: 3, interface: 'eth1' }), k), ['interface va, want eth1', 'syncid 10, want 3']);
  });

  it('maxlen counts only when set; a backup may show more than asked (1000 -> 1024, captured)', () => {
    const both = parseDaemonListing(fixture('list-both.txt'));
    const backup = spec({ syncid: 11, maxlen: 1000, group: '239.1.2.3', port: 9000, ttl: 3 });
    assert.deepEqual(daemonDifferences('backup', backup, both.get('backup')!), []);
    assert.deepEqual(daemonDifferences('master', spec({ maxlen: 1000 }), both.get('master')!), ['sync_maxlen 1472, want 1000']);
    assert.deepEqual(daemonDifferences('backup', { ...backup, maxlen: 2000 }, both.get('backup')!), ['sync_maxlen 1024, want 2000']);
  });

  it('compares IPv6 groups by address, not spelling', () => {
    const k = parseDaemonListing(fixture('list-ipv6-group.txt')).get('master')!;
    assert.deepEqual(daemonDifferences('master', spec({ syncid: 0, group: 'FF02:0:0::81' }), k), []);
    assert.deepEqual(daemonDifferences('master', spec({ syncid: 0, group: 'ff02::82' }), k), ['mcast_group ff02::81, want ff02::82']);
  });
});

describe('ipvsadm\'s own checks and the kernel\'s answers (commands.tsv)', () => {
  const rows = fixture('commands.tsv').trim().split('\n').slice(1).map((l) => l.split('\t') as [string, string, string]);

  it('argument errors: the same words and exit status 2 as the real ipvsadm', () => {
    let checked = 0;
    for (const [args, stderr, status] of rows) {
      if (status !== '2') continue;
      const c = parseDaemonCommand(args.split(' '));
      assert.deepEqual(c, { cmd: 'error', message: stderr, status: 2 }, args);
      checked++;
    }
    assert.ok(checked >= 9, `${checked} rows`);
  });

  it('the kernel\'s answers: already running, none running, no interface (exit 255)', () => {
    const words = new Map(rows.map(([a, e, s]) => [a, { e, s: Number(s) }]));
    const d = new MemoryDaemons();
    const start = parseDaemonCommand(['--start-daemon', 'master', '--mcast-interface', 'va', '--syncid', '10'])!;
    assert.equal(start.cmd, 'start');
    if (start.cmd !== 'start') return;
    assert.equal(d.exec(start), null);
    assert.deepEqual(d.exec(start), { error: words.get('--start-daemon master --mcast-interface va --syncid 10 (already running)')!.e, status: 255 });
    assert.deepEqual(d.exec({ cmd: 'stop', state: 'backup' }), { error: words.get('--stop-daemon master (none running)')!.e, status: 255 });
    const noIf = parseDaemonCommand(['--start-daemon', 'backup'])!;
    if (noIf.cmd !== 'start') return assert.fail('a start');
    assert.deepEqual(d.exec(noIf), { error: words.get('--start-daemon master')!.e, status: 255 });
    assert.equal(formatDaemonListing(d.list()), fixture('list-master.txt'));
    assert.deepEqual(d.list().get('master'), kernelViewOf('master', spec()));
  });
});
