// What a valid config resolves to: defaults, the merge order, naming, normalised addresses,
// fwmark services, ignored files, and the content hash.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { AddressService, CheckSpec, FwmarkService, ServiceConfig, Snapshot } from '../../src/config/model.js';
import { formatIssue, loadConfig } from '../../src/config/load.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function configDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lvsd-config-'));
  dirs.push(dir);
  await mkdir(join(dir, 'conf.d'));
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), text);
  }
  return dir;
}

async function snapshotOf(dirOrFiles: string | Record<string, string>): Promise<Snapshot> {
  const dir = typeof dirOrFiles === 'string' ? dirOrFiles : await configDir(dirOrFiles);
  const r = await loadConfig(dir);
  if (!r.ok) assert.fail(`expected a valid config:\n${r.issues.map(formatIssue).join('\n')}`);
  return r.snapshot;
}

function only(s: Snapshot): ServiceConfig {
  assert.equal(s.services.length, 1);
  return s.services[0]!;
}

function checkOf(s: Snapshot, real = 0): CheckSpec {
  return only(s).reals[real]!.check;
}

describe('defaults', () => {
  it('an empty config dir is valid: built-in global values, no services', async () => {
    const s = await snapshotOf({});
    assert.deepEqual(s.services, []);
    assert.deepEqual(s.global, {
      listen: { host: '127.0.0.1', port: 9716 },
      ipvsadm: 'ipvsadm',
      resyncIntervalMs: 30_000,
      drainTimeoutMs: 60_000,
      cleanStop: true,
      logLevel: 'info',
      stateDir: '/var/lib/lvsd',
      maxConcurrentChecks: 256,
      checkThreads: null,
      controlSocket: '/run/lvsd/control.sock',
      maintenanceDir: null,
      dnsStateFile: null,
      announce: null,
      syncDaemon: null,
    });
  });

  it('a minimal service gets the built-in service, real and check defaults', async () => {
    const s = await snapshotOf({ 'conf.d/web.yaml': 'address: 192.0.2.10:80\nreals:\n  - address: 10.0.0.1:80\n' });
    const svc = only(s) as AddressService;
    assert.equal(svc.name, 'web');
    assert.equal(svc.key, 'tcp:192.0.2.10:80');
    assert.equal(svc.protocol, 'tcp');
    assert.equal(svc.scheduler, 'wlc');
    assert.equal(svc.quiescent, false);
    assert.equal(svc.persistence, null);
    assert.deepEqual(svc.sorry, []);
    const real = svc.reals[0]!;
    assert.equal(real.key, '10.0.0.1:80');
    assert.equal(real.weight, 1);
    assert.equal(real.forwarding, 'gate');
    assert.deepEqual(real.check, { type: 'tcp', intervalMs: 5000, timeoutMs: 3000, rise: 2, fall: 3, port: 80, send: null, expect: null });
  });

  it('http, dns and misc checks get their documented defaults', async () => {
    const s = await snapshotOf({
      'conf.d/a.yaml': 'address: 192.0.2.10:80\ncheck: { type: http }\nreals:\n  - address: 10.0.0.1:80\n',
      'conf.d/b.yaml': 'address: 192.0.2.53:53\nprotocol: udp\ncheck: { type: dns, query: example.org }\nreals:\n  - address: 10.0.0.1:53\n',
      'conf.d/c.yaml': 'address: 192.0.2.25:25\ncheck: { type: misc, command: [sh, -c, "exit 0"] }\nreals:\n  - address: 10.0.0.1:25\n',
    });
    const [a, b, c] = s.services.map((x) => x.reals[0]!.check);
    assert.deepEqual(a, {
      type: 'http', intervalMs: 5000, timeoutMs: 3000, rise: 2, fall: 3, port: 80,
      method: 'GET', path: '/', host: null, expectStatus: [[200, 399]], expectBody: null, tlsVerify: false, headers: {},
    });
    assert.deepEqual(b, {
      type: 'dns', intervalMs: 5000, timeoutMs: 3000, rise: 2, fall: 3, port: 53,
      query: 'example.org', queryType: 'A', transport: 'udp', expectRcode: 'NOERROR', expectAnswer: null,
    });
    // A bare program name stays bare: spawn looks it up on PATH, as the load-time check did.
    assert.deepEqual(c, { type: 'misc', intervalMs: 5000, timeoutMs: 3000, rise: 2, fall: 3, port: 25, command: ['sh', '-c', 'exit 0'], dynamicWeight: false });
  });

  it('dns transport follows the service protocol: udp -> udp, tcp/sctp -> tcp, fwmark -> udp', async () => {
    const dns = 'check: { type: dns, query: example.org, port: 53 }\n';
    const s = await snapshotOf({
      'conf.d/a.yaml': `address: 192.0.2.53:53\nprotocol: udp\n${dns}reals:\n  - address: 10.0.0.1:53\n`,
      'conf.d/b.yaml': `address: 192.0.2.53:53\nprotocol: tcp\n${dns}reals:\n  - address: 10.0.0.1:53\n`,
      'conf.d/c.yaml': `address: 192.0.2.53:53\nprotocol: sctp\n${dns}reals:\n  - address: 10.0.0.1:53\n`,
      'conf.d/d.yaml': `fwmark: 53\n${dns}reals:\n  - address: 10.0.0.1\n`,
    });
    const transports = s.services.map((x) => (x.reals[0]!.check as { transport: string }).transport);
    assert.deepEqual(transports, ['udp', 'tcp', 'tcp', 'udp']);
  });

  it('check_threads: auto is the default (null: the cores minus one, decided at start); 0 is kept', async () => {
    assert.equal((await snapshotOf({ 'lvsd.yaml': 'check_threads: auto\n' })).global.checkThreads, null);
    assert.equal((await snapshotOf({ 'lvsd.yaml': 'check_threads: 0\n' })).global.checkThreads, 0);
  });

  it('lvsd.yaml values, with state_dir relative to the config dir and an IPv6 listen address', async () => {
    const dir = await configDir({
      'lvsd.yaml': 'listen: "[::1]:9800"\nipvsadm: /usr/sbin/ipvsadm\nresync_interval: 1m\ndrain_timeout: 0\nclean_stop: false\nlog_level: debug\nstate_dir: state\nmax_concurrent_checks: 10\ncheck_threads: 3\ncontrol_socket: run/control.sock\nmaintenance_dir: /etc/lvsd/maintenance\ndns_state_file: run/vip.state\n',
    });
    const s = await snapshotOf(dir);
    assert.deepEqual(s.global, {
      listen: { host: '::1', port: 9800 },
      ipvsadm: '/usr/sbin/ipvsadm',
      resyncIntervalMs: 60_000,
      drainTimeoutMs: 0,
      cleanStop: false,
      logLevel: 'debug',
      stateDir: join(dir, 'state'),
      maxConcurrentChecks: 10,
      checkThreads: 3,
      controlSocket: join(dir, 'run', 'control.sock'),
      maintenanceDir: '/etc/lvsd/maintenance',
      dnsStateFile: join(dir, 'run', 'vip.state'),
      announce: null,
      syncDaemon: null,
    });
  });
});

describe('merge order: built-in < lvsd.yaml defaults < service < real', () => {
  const lvsd = 'defaults:\n  scheduler: rr\n  forwarding: masq\n  quiescent: true\n  check: { type: http, path: /health, interval: 10s, timeout: 2s, rise: 4 }\n';

  it('lvsd.yaml defaults apply under every service', async () => {
    const s = await snapshotOf({ 'lvsd.yaml': lvsd, 'conf.d/a.yaml': 'address: 192.0.2.10:80\nreals:\n  - address: 10.0.0.1:8080\n' });
    const svc = only(s);
    assert.equal(svc.scheduler, 'rr');
    assert.equal(svc.quiescent, true);
    assert.equal(svc.reals[0]!.forwarding, 'masq');
    assert.deepEqual(
      { ...checkOf(s) },
      { type: 'http', intervalMs: 10_000, timeoutMs: 2000, rise: 4, fall: 3, port: 8080, method: 'GET', path: '/health', host: null, expectStatus: [[200, 399]], expectBody: null, tlsVerify: false, headers: {} },
    );
  });

  it('service keys override defaults; a real check merges over the service check key by key', async () => {
    const s = await snapshotOf({
      'lvsd.yaml': lvsd,
      'conf.d/a.yaml': [
        'address: 192.0.2.10:80',
        'scheduler: sh',
        'forwarding: gate',
        'quiescent: false',
        'check: { path: /ready, host: www.example.org, fall: 5 }',
        'reals:',
        '  - address: 10.0.0.1:80',
        '  - address: 10.0.0.2:80',
        '    forwarding: ipip',
        '    weight: 7',
        '    check: { path: /other, port: 8443, type: https }',
        '',
      ].join('\n'),
    });
    const svc = only(s);
    assert.equal(svc.scheduler, 'sh');
    assert.equal(svc.quiescent, false);
    const [r1, r2] = svc.reals;
    assert.equal(r1!.forwarding, 'gate');
    assert.deepEqual([r2!.forwarding, r2!.weight], ['ipip', 7]);
    assert.deepEqual(
      { ...r1!.check },
      { type: 'http', intervalMs: 10_000, timeoutMs: 2000, rise: 4, fall: 5, port: 80, method: 'GET', path: '/ready', host: 'www.example.org', expectStatus: [[200, 399]], expectBody: null, tlsVerify: false, headers: {} },
    );
    assert.deepEqual(
      { ...r2!.check },
      { type: 'https', intervalMs: 10_000, timeoutMs: 2000, rise: 4, fall: 5, port: 8443, method: 'GET', path: '/other', host: 'www.example.org', expectStatus: [[200, 399]], expectBody: null, tlsVerify: false, headers: {} },
    );
  });

  it('inherited keys of another type are dropped when a later level changes the type', async () => {
    const s = await snapshotOf({
      'lvsd.yaml': lvsd,
      'conf.d/a.yaml': 'address: 192.0.2.53:53\ncheck: { type: dns, query: example.org }\nreals:\n  - address: 10.0.0.1:53\n  - address: 10.0.0.2:53\n    check: { type: tcp, send: "PING\\r\\n" }\n',
    });
    const [dns, tcp] = only(s).reals.map((r) => r.check);
    // path (http, from lvsd.yaml) is gone; interval/timeout/rise still inherited.
    assert.deepEqual({ ...dns }, { type: 'dns', intervalMs: 10_000, timeoutMs: 2000, rise: 4, fall: 3, port: 53, query: 'example.org', queryType: 'A', transport: 'tcp', expectRcode: 'NOERROR', expectAnswer: null });
    // query (dns, from the service) is gone too.
    assert.deepEqual({ ...tcp }, { type: 'tcp', intervalMs: 10_000, timeoutMs: 2000, rise: 4, fall: 3, port: 53, send: 'PING\r\n', expect: null });
  });

  it('a key of the final type set below a type change comes back when the type returns', async () => {
    const s = await snapshotOf({
      'conf.d/a.yaml': 'address: 192.0.2.10:80\ncheck: { type: http, path: /a }\nreals:\n  - address: 10.0.0.1:80\n    check: { type: https }\n',
    });
    assert.equal((checkOf(s) as { path: string }).path, '/a');
  });
});

describe('values', () => {
  it('escapes in send, status lists and ranges, case-insensitive DNS names of types', async () => {
    const s = await snapshotOf({
      'conf.d/a.yaml': [
        'address: 192.0.2.10:80',
        'reals:',
        "  - address: 10.0.0.1:80",
        "    check: { send: 'GET / HTTP/1.0\\r\\n\\r\\n\\ttab\\\\', expect: '^HTTP/1\\.[01] 200' }",
        '  - address: 10.0.0.2:80',
        '    check: { type: http, expect_status: [200, "204", "300-302"], headers: { X-Probe: lvsd } }',
        '  - address: 10.0.0.3:80',
        '    check: { type: dns, query: example.org, query_type: aaaa, expect_rcode: nxdomain, expect_answer: "^example" }',
        '',
      ].join('\n'),
    });
    const [tcp, http, dns] = only(s).reals.map((r) => r.check);
    assert.equal((tcp as { send: string }).send, 'GET / HTTP/1.0\r\n\r\n\ttab\\');
    assert.equal((tcp as { expect: string }).expect, '^HTTP/1\\.[01] 200');
    assert.deepEqual((http as { expectStatus: unknown }).expectStatus, [[200, 200], [204, 204], [300, 302]]);
    assert.deepEqual((http as { headers: unknown }).headers, { 'X-Probe': 'lvsd' });
    assert.deepEqual([(dns as { queryType: string }).queryType, (dns as { expectRcode: string }).expectRcode], ['AAAA', 'NXDOMAIN']);
  });

  it('durations: ms, fractional seconds, minutes, and bare numbers of seconds', async () => {
    const s = await snapshotOf({
      'lvsd.yaml': 'resync_interval: 1h\ndrain_timeout: 1.5\n',
      'conf.d/a.yaml': 'address: 192.0.2.10:80\ncheck: { interval: 1m, timeout: 500ms }\nreals:\n  - address: 10.0.0.1:80\n    check: { interval: 1.5s }\n',
    });
    assert.deepEqual([s.global.resyncIntervalMs, s.global.drainTimeoutMs], [3_600_000, 1500]);
    assert.deepEqual([checkOf(s).intervalMs, checkOf(s).timeoutMs], [1500, 500]);
  });

  it('IPv6 addresses are normalised in endpoints and keys', async () => {
    const s = await snapshotOf({
      'conf.d/ns.yaml': 'address: "[2001:DB8:0:0::10]:53"\nprotocol: udp\ncheck: { type: none }\nreals:\n  - address: "[2001:db8:0:1:0:0:0:11]:53"\n  - address: "[2001:db8:1::12]"\nsorry:\n  - address: "[2001:DB8::99]:53"\n',
    });
    const svc = only(s) as AddressService;
    assert.equal(svc.key, 'udp:[2001:db8::10]:53');
    assert.equal(svc.family, 6);
    assert.deepEqual(svc.vip, { host: '2001:db8::10', family: 6, port: 53 });
    assert.deepEqual(svc.reals.map((r) => r.key), ['[2001:db8:0:1::11]:53', '[2001:db8:1::12]:53']);
    assert.deepEqual(svc.sorry.map((r) => r.key), ['[2001:db8::99]:53']);
  });

  it('persistence: defaults, a prefix length for IPv4 becomes a dotted netmask, IPv6 keeps a prefix length', async () => {
    const s = await snapshotOf({
      'conf.d/a.yaml': 'address: 192.0.2.10:80\npersistence: { timeout: 5m }\nreals: []\n',
      'conf.d/b.yaml': 'address: 192.0.2.11:80\npersistence: { timeout: 300, netmask: 24 }\nreals: []\n',
      'conf.d/c.yaml': 'address: "[2001:db8::10]:80"\npersistence: { timeout: 60, netmask: "/64" }\nreals: []\n',
      'conf.d/d.yaml': 'address: "[2001:db8::11]:80"\npersistence: { timeout: 60 }\nreals: []\n',
    });
    assert.deepEqual(s.services.map((x) => x.persistence), [
      { timeoutS: 300, netmask: '255.255.255.255' },
      { timeoutS: 300, netmask: '255.255.255.0' },
      { timeoutS: 60, netmask: '64' },
      { timeoutS: 60, netmask: '128' },
    ]);
  });

  it('masq reals may use another port; reals without port take the service port', async () => {
    const s = await snapshotOf({ 'conf.d/a.yaml': 'address: 192.0.2.10:80\nforwarding: masq\nreals:\n  - address: 10.0.0.1:8080\n  - address: 10.0.0.2\n' });
    assert.deepEqual(only(s).reals.map((r) => [r.key, r.check.port]), [['10.0.0.1:8080', 8080], ['10.0.0.2:80', 80]]);
  });

  it('the same address with another protocol is another service', async () => {
    const s = await snapshotOf({
      'conf.d/a.yaml': 'address: 192.0.2.53:53\nprotocol: udp\nreals: []\n',
      'conf.d/b.yaml': 'address: 192.0.2.53:53\nprotocol: tcp\nreals: []\n',
    });
    assert.deepEqual(s.services.map((x) => x.key), ['udp:192.0.2.53:53', 'tcp:192.0.2.53:53']);
  });

  it('a relative misc program resolves against the config dir', async () => {
    const dir = await configDir({
      'checks/probe': '#!/bin/sh\nexit 0\n',
      'conf.d/a.yaml': 'address: 192.0.2.10:80\ncheck: { type: misc, command: [checks/probe, --fast], dynamic_weight: true }\nreals:\n  - address: 10.0.0.1:80\n',
    });
    await chmod(join(dir, 'checks/probe'), 0o755);
    const check = checkOf(await snapshotOf(dir));
    assert.ok(check.type === 'misc');
    assert.deepEqual(check.command, [join(dir, 'checks/probe'), '--fast']);
    assert.equal(check.dynamicWeight, true);
  });
});

describe('fwmark services', () => {
  it('take their family from the reals; reals may omit the port; the check gives one', async () => {
    const s = await snapshotOf({
      'conf.d/a.yaml': 'fwmark: 12\ncheck: { type: https, port: 443 }\nreals:\n  - address: 10.0.0.1\n  - address: 10.0.0.2:8443\nsorry:\n  - address: 10.0.0.99:80\n',
      'conf.d/b.yaml': 'fwmark: 12\ncheck: { type: none }\nreals:\n  - address: "[2001:db8::1]"\n',
    });
    const [v4, v6] = s.services as FwmarkService[];
    assert.deepEqual([v4!.kind, v4!.key, v4!.family, v4!.fwmark], ['fwmark', 'fwmark:12:v4', 4, 12]);
    assert.deepEqual(v4!.reals.map((r) => [r.key, r.address.port, r.check.port]), [['10.0.0.1', 0, 443], ['10.0.0.2:8443', 8443, 443]]);
    assert.deepEqual(v4!.sorry.map((r) => r.key), ['10.0.0.99:80']);
    assert.deepEqual([v6!.key, v6!.family, v6!.reals[0]!.check.port], ['fwmark:12:v6', 6, 0]);
  });

  it('a family can come from the sorry servers alone', async () => {
    const s = await snapshotOf({ 'conf.d/a.yaml': 'fwmark: 3\nreals: []\nsorry:\n  - address: "[2001:db8::99]:80"\n' });
    assert.equal(only(s).key, 'fwmark:3:v6');
  });
});

describe('files and names', () => {
  it('every document is a service: file name, then "-2", "-3"; empty documents do not count', async () => {
    const s = await snapshotOf({
      'conf.d/20-dns.yaml': '# only a comment\n---\naddress: 192.0.2.53:53\nprotocol: udp\nreals: []\n---\naddress: 192.0.2.53:53\nreals: []\n---\nname: dns-extra\naddress: 192.0.2.54:53\nreals: []\n---\naddress: 192.0.2.55:53\nreals: []\n',
      'conf.d/10-web.yaml': 'address: 192.0.2.10:80\nreals: []\n',
    });
    assert.deepEqual(s.services.map((x) => x.name), ['10-web', '20-dns', '20-dns-2', 'dns-extra', '20-dns-4']);
  });

  it('reads only conf.d/*.yaml, sorted by name; editor and package leftovers are ignored', async () => {
    const broken = 'this is: [not valid\n';
    const dir = await configDir({
      'conf.d/b.yaml': 'address: 192.0.2.2:80\nreals: []\n',
      'conf.d/a.yaml': 'address: 192.0.2.1:80\nreals: []\n',
      'conf.d/a.yaml.bak': broken,
      'conf.d/a.yaml~': broken,
      'conf.d/.a.yaml.swp': broken,
      'conf.d/.hidden.yaml': broken,
      'conf.d/a.yaml.dpkg-old': broken,
      'conf.d/c.yml': broken,
      'conf.d/README': broken,
      'conf.d/sub.yaml/x.yaml': broken,
      'other/d.yaml': broken,
    });
    const s = await snapshotOf(dir);
    assert.deepEqual(s.services.map((x) => x.name), ['a', 'b']);
    assert.deepEqual(s.files, [join(dir, 'conf.d/a.yaml'), join(dir, 'conf.d/b.yaml')]);
  });

  it('positions of services and reals point into their files', async () => {
    const dir = await configDir({ 'conf.d/a.yaml': '# web\naddress: 192.0.2.10:80\nreals:\n  - address: 10.0.0.1:80\n' });
    const svc = only(await snapshotOf(dir));
    assert.deepEqual(svc.pos, { file: join(dir, 'conf.d/a.yaml'), line: 2, col: 1 });
    assert.deepEqual(svc.reals[0]!.pos, { file: join(dir, 'conf.d/a.yaml'), line: 4, col: 5 });
  });
});

describe('hash and immutability', () => {
  it('equal inputs hash equal; a content change, a new file or lvsd.yaml changes it; ignored files do not', async () => {
    const files = { 'conf.d/a.yaml': 'address: 192.0.2.10:80\nreals: []\n' };
    const h1 = (await snapshotOf(files)).hash;
    assert.equal((await snapshotOf(files)).hash, h1);
    assert.equal((await snapshotOf({ ...files, 'conf.d/a.yaml.bak': 'x' })).hash, h1);
    assert.notEqual((await snapshotOf({ 'conf.d/a.yaml': 'address: 192.0.2.10:80\nreals: [] # c\n' })).hash, h1);
    assert.notEqual((await snapshotOf({ 'conf.d/b.yaml': files['conf.d/a.yaml'] })).hash, h1);
    assert.notEqual((await snapshotOf({ ...files, 'lvsd.yaml': '' })).hash, h1);
  });

  it('the snapshot is deeply frozen', async () => {
    const s = await snapshotOf({ 'conf.d/a.yaml': 'address: 192.0.2.10:80\nreals:\n  - address: 10.0.0.1:80\n' });
    assert.ok(Object.isFrozen(s));
    assert.ok(Object.isFrozen(s.services[0]!.reals[0]!.check));
    assert.ok(Object.isFrozen(s.global.listen));
  });
});
