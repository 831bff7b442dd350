// ICMP echo check through the system's ping: 127.0.0.1 and ::1 answer; failure is proven inside
// network namespaces this test creates (root only), so no packet ever leaves loopback:
// - a namespace whose interfaces are all down: ping fails at once (network unreachable);
// - a namespace whose loopback drops echo requests (nftables): no reply, the check times out.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkPing, pingArgv } from '../../src/checks/ping.js';
import type { CheckTarget } from '../../src/checks/types.js';
import type { Family, PingCheckSpec } from '../../src/config/model.js';
import { lvsdCommand } from '../helpers/daemon-process.js';

const never = new AbortController().signal;
const isRoot = process.getuid?.() === 0;

function target(host: string, family: Family, timeoutMs = 2000): CheckTarget {
  const spec: PingCheckSpec = { type: 'ping', intervalMs: timeoutMs + 1000, timeoutMs, rise: 1, fall: 1, port: 0 };
  return { address: { host, family, port: 0 }, spec, context: { serviceName: 't', vip: null, fwmark: null, protocol: 'tcp' } };
}

interface ProbeRow {
  real: string;
  up: boolean;
  code: string;
  reason: string;
}

/** `lvsd probe --json -c DIR` run inside network namespace `ns`. */
function probeIn(ns: string, dir: string): Promise<ProbeRow[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...lvsdCommand(['probe', '--json', '-c', dir])], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      if (status !== 0) reject(new Error(`lvsd probe exited ${status}: ${err}`));
      else resolve(JSON.parse(out) as ProbeRow[]);
    });
  });
}

describe('ping check', () => {
  test('argv: one echo request, numeric, the family chosen explicitly, no shell', () => {
    assert.deepEqual(pingArgv(target('127.0.0.1', 4, 1500)), ['ping', '-4', '-n', '-q', '-c', '1', '-W', '1.5', '127.0.0.1']);
    assert.deepEqual(pingArgv(target('::1', 6)), ['ping', '-6', '-n', '-q', '-c', '1', '-W', '2', '::1']);
  });

  test('127.0.0.1 and ::1 answer: up', async () => {
    for (const [host, family] of [['127.0.0.1', 4], ['::1', 6]] as const) {
      const r = await checkPing(target(host, family), never);
      assert.equal(r.up, true, r.reason);
      assert.equal(r.reason, `PING ${family === 6 ? '[::1]' : host}: echo reply`);
    }
  });

  describe('inside network namespaces of this test', { skip: isRoot ? false : 'needs root (ip netns)' }, () => {
    const down = `lvsd-ping-down-${process.pid}`;
    const drop = `lvsd-ping-drop-${process.pid}`;
    let dir = '';
    before(async () => {
      execFileSync('ip', ['netns', 'add', down]);
      execFileSync('ip', ['netns', 'add', drop]);
      execFileSync('ip', ['netns', 'exec', drop, 'ip', 'link', 'set', 'lo', 'up']);
      const rules = [
        'add table inet lvsd_ping_test',
        'add chain inet lvsd_ping_test in { type filter hook input priority 0; }',
        'add rule inet lvsd_ping_test in icmp type echo-request drop',
        'add rule inet lvsd_ping_test in icmpv6 type echo-request drop',
      ];
      for (const r of rules) execFileSync('ip', ['netns', 'exec', drop, 'nft', ...r.split(' ')]);
      dir = await mkdtemp(join(tmpdir(), 'lvsd-ping-'));
      await mkdir(join(dir, 'conf.d'));
      await writeFile(join(dir, 'lvsd.yaml'), `state_dir: ${join(dir, 'state')}\n`);
      // 192.0.2.1 (TEST-NET-1) is only ever probed inside these namespaces, where it has no route.
      await writeFile(join(dir, 'conf.d', 'p4.yaml'), 'address: 127.0.0.1:80\ncheck: { type: ping, timeout: 500ms, interval: 1s }\nreals:\n  - address: 127.0.0.1\n  - address: 192.0.2.1\n');
      await writeFile(join(dir, 'conf.d', 'p6.yaml'), 'address: "[::1]:80"\ncheck: { type: ping, timeout: 500ms, interval: 1s }\nreals:\n  - address: "[::1]"\n');
    });
    after(async () => {
      for (const ns of [down, drop]) {
        try {
          execFileSync('ip', ['netns', 'del', ns]);
        } catch {
          // not created
        }
      }
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    test('no interface up: every ping is down at once, code unreachable', async () => {
      const rows = await probeIn(down, dir);
      assert.deepEqual(rows.map((r) => [r.real, r.up, r.code]), [
        ['127.0.0.1:80', false, 'unreachable'],
        ['192.0.2.1:80', false, 'unreachable'],
        ['[::1]:80', false, 'unreachable'],
      ]);
      assert.match(rows[1]!.reason, /^PING 192\.0\.2\.1: ping failed: exit 2: .*Network is unreachable/);
    });

    test('echo requests dropped: no reply within the timeout, down with code timeout, IPv4 and IPv6', async () => {
      const rows = await probeIn(drop, dir);
      const byReal = new Map(rows.map((r) => [r.real, r]));
      for (const real of ['127.0.0.1:80', '[::1]:80']) {
        const r = byReal.get(real)!;
        assert.deepEqual([r.up, r.code], [false, 'timeout'], r.reason);
      }
    });
  });
});
