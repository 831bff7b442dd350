// check-config on the two pool shapes issue 19 found keepalived running and lvsd refusing: a
// persistent all-port service (address port 0, ipvsadm -A -t VIP:0 -p) and a tunnelled pool mixing
// IPv4 and IPv6 reals (ip_vs_ctl.c accepts a destination of the other family for tunnels only).
// The kernel side of both is in the table contract (test/helpers/table-contract.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIssue, loadConfig } from '../../src/config/load.js';

async function check(service: string, global = ''): Promise<{ ok: boolean; issues: string[]; services: { key: string; family: number }[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-p0-'));
  try {
    mkdirSync(join(dir, 'conf.d'));
    writeFileSync(join(dir, 'conf.d', 's.yaml'), service);
    if (global) writeFileSync(join(dir, 'lvsd.yaml'), global);
    const r = await loadConfig(dir);
    return r.ok ? { ok: true, issues: [], services: r.snapshot.services.map((s) => ({ key: s.key, family: s.family })) } : { ok: false, issues: r.issues.map(formatIssue), services: [] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('config: address port 0 with persistence is one all-port service', async () => {
  const r = await check('address: 192.0.2.10:0\npersistence: { timeout: 300 }\nforwarding: gate\ncheck: { type: tcp, port: 443 }\nreals:\n  - address: 10.0.0.1\n');
  assert.ok(r.ok, r.issues.join('\n'));
  assert.equal(r.services[0]!.key, 'tcp:192.0.2.10:0');
});

test('config: address port 0 without persistence is refused at the address (ipvsadm refuses it)', async () => {
  const r = await check('address: 192.0.2.10:0\ncheck: { type: tcp, port: 443 }\nreals:\n  - address: 10.0.0.1\n');
  assert.equal(r.ok, false);
  assert.match(r.issues[0]!, /s\.yaml:1:10: address: port 0 is every port of the address, which IPVS serves only with persistence/);
});

test('config: a tunnelled real of the other family is accepted; a gate one is refused', async () => {
  const ok = await check('address: 192.0.2.20:80\nforwarding: ipip\ncheck: { type: tcp }\nreals:\n  - address: 10.0.0.1:80\n  - address: "[2001:db8::1]:80"\n');
  assert.ok(ok.ok, ok.issues.join('\n'));
  const bad = await check('address: 192.0.2.20:80\ncheck: { type: tcp }\nreals:\n  - address: 10.0.0.1:80\n  - address: "[2001:db8::1]:80"\n    forwarding: gate\n');
  assert.equal(bad.ok, false);
  assert.match(bad.issues[0]!, /IPv6 address \[2001:db8::1\]:80 in an IPv4 service .*only for tunnelled destinations/);
});

test('config: a mark service of tunnelled reals takes the family of its first real that is not tunnelled', async () => {
  const r = await check('fwmark: 5\nforwarding: ipip\ncheck: { type: tcp, port: 80 }\nreals:\n  - address: "[2001:db8::1]"\n  - address: 10.0.0.2\n    forwarding: gate\n');
  assert.ok(r.ok, r.issues.join('\n'));
  assert.deepEqual(r.services, [{ key: 'fwmark:5:v4', family: 4 }]);
});

test('config: a mixed-family pool is refused while the kernel sync daemon runs (the kernel refuses it)', async () => {
  const r = await check('address: 192.0.2.20:80\nforwarding: ipip\ncheck: { type: tcp }\nreals:\n  - address: "[2001:db8::1]:80"\n', 'sync_daemon: { role: master, interface: lo }\n');
  assert.equal(r.ok, false);
  assert.ok(r.issues.some((i) => /mixed-family pool while its connection sync daemon runs/.test(i)), r.issues.join('\n'));
});
