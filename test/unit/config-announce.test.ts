// lvsd.yaml `announce`: what a valid section resolves to, and each mistake at its FILE:LINE:COL.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIssue, loadConfig } from '../../src/config/load.js';
import type { Snapshot } from '../../src/config/model.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const SERVICES =
  'name: web-http\naddress: 192.0.2.10:80\nreals:\n  - address: 10.0.0.1:80\n---\n' +
  'name: web-https\naddress: 192.0.2.10:443\nreals:\n  - address: 10.0.0.1:443\n---\n' +
  'name: mail\naddress: 192.0.2.25:25\nreals:\n  - address: 10.0.0.2:25\n---\n' +
  'name: v6\naddress: "[2001:db8::10]:80"\nreals:\n  - address: "[2001:db8::1]:80"\n---\n' +
  'name: marked\nfwmark: 7\ncheck: { port: 80 }\nreals:\n  - address: 10.0.0.3\n';

async function configDir(lvsdYaml: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lvsd-announce-'));
  dirs.push(dir);
  await mkdir(join(dir, 'conf.d'));
  await writeFile(join(dir, 'lvsd.yaml'), lvsdYaml);
  await writeFile(join(dir, 'conf.d', 'a.yaml'), SERVICES);
  return dir;
}

async function snapshotOf(lvsdYaml: string): Promise<{ dir: string; s: Snapshot }> {
  const dir = await configDir(lvsdYaml);
  const r = await loadConfig(dir);
  if (!r.ok) assert.fail(`expected a valid config:\n${r.issues.map(formatIssue).join('\n')}`);
  return { dir, s: r.snapshot };
}

async function issuesOf(lvsdYaml: string): Promise<string[]> {
  const dir = await configDir(lvsdYaml);
  const r = await loadConfig(dir);
  assert.equal(r.ok, false, 'expected the config to be rejected');
  if (r.ok) return [];
  return r.issues.map((i) => formatIssue(i).replaceAll(`${dir}/`, ''));
}

describe('announce: valid sections', () => {
  it('absent or null: off', async () => {
    assert.equal((await snapshotOf('log_level: info\n')).s.global.announce, null);
    assert.equal((await snapshotOf('announce: null\n')).s.global.announce, null);
  });

  it('only a backend: the documented defaults (socket next to control_socket)', async () => {
    const { s } = await snapshotOf('control_socket: /run/lvsd-test/control.sock\nannounce:\n  backend: bird\n');
    assert.deepEqual(s.global.announce, {
      backend: 'bird',
      holdDownMs: 10_000,
      unhealthyAfter: 3,
      interface: 'lvsd0',
      socket: '/run/lvsd-test/exabgp.sock',
      socketGroup: null,
      vips: null,
    });
  });

  it('every key, relative socket under the config dir, IPv6 normalised, backend in any case', async () => {
    const { dir, s } = await snapshotOf(
      'announce:\n  backend: ExaBGP\n  hold_down: 0\n  unhealthy_after: 5\n  interface: bgp-vips\n  socket: run/exa.sock\n  socket_group: root\n' +
        '  vips:\n    - address: 192.0.2.10\n      services: [web-http]\n    - address: "2001:DB8:0::10"\n',
    );
    assert.deepEqual(s.global.announce, {
      backend: 'exabgp',
      holdDownMs: 0,
      unhealthyAfter: 5,
      interface: 'bgp-vips',
      socket: join(dir, 'run', 'exa.sock'),
      socketGroup: 'root',
      vips: [
        { vip: '192.0.2.10', family: 4, services: ['web-http'] },
        { vip: '2001:db8::10', family: 6, services: null },
      ],
    });
  });
});

describe('announce: each mistake at its FILE:LINE:COL', () => {
  const cases: { name: string; yaml: string; issues: string[] }[] = [
    {
      name: 'backend missing',
      yaml: 'announce:\n  hold_down: 5s\n',
      issues: ['lvsd.yaml:1:1: announce: missing required key "backend"'],
    },
    {
      name: 'unknown backend',
      yaml: 'announce:\n  backend: gobgp\n',
      issues: ['lvsd.yaml:2:12: announce.backend: must be one of bird, exabgp (any case); got "gobgp"'],
    },
    {
      name: 'unknown key with a suggestion',
      yaml: 'announce:\n  backend: bird\n  holddown: 5s\n',
      issues: ['lvsd.yaml:3:3: unknown key "holddown" in announce (did you mean "hold_down"?)'],
    },
    {
      name: 'unknown key in a vips entry',
      yaml: 'announce:\n  backend: bird\n  vips:\n    - address: 192.0.2.10\n      service: [web-http]\n',
      issues: ['lvsd.yaml:5:7: unknown key "service" in announce.vips (did you mean "services"?)'],
    },
    {
      name: 'negative hold_down',
      yaml: 'announce:\n  backend: bird\n  hold_down: -1s\n',
      issues: ['lvsd.yaml:3:14: announce.hold_down: "-1s" is not a duration (write e.g. "500ms", "2s", "1.5s", "1m", "1h", or a number of seconds)'],
    },
    {
      name: 'unhealthy_after 0',
      yaml: 'announce:\n  backend: bird\n  unhealthy_after: 0\n',
      issues: ['lvsd.yaml:3:20: announce.unhealthy_after: must be at least 1; got 0'],
    },
    {
      name: 'interface name too long',
      yaml: 'announce:\n  backend: bird\n  interface: lvsd-announce-vips\n',
      issues: ['lvsd.yaml:3:14: announce.interface: an interface name is 1-15 letters, digits, "_", "." or "-", not starting with "-" (e.g. lvsd0)'],
    },
    {
      // Regression (issue 18): accepted, and `ip ... dev -x` reads it as an option.
      name: 'interface name starting with "-"',
      yaml: 'announce:\n  backend: bird\n  interface: "-x"\n',
      issues: ['lvsd.yaml:3:14: announce.interface: an interface name is 1-15 letters, digits, "_", "." or "-", not starting with "-" (e.g. lvsd0)'],
    },
    {
      name: 'interface name with a slash',
      yaml: 'announce:\n  backend: bird\n  interface: a/b\n',
      issues: ['lvsd.yaml:3:14: announce.interface: an interface name is 1-15 letters, digits, "_", "." or "-", not starting with "-" (e.g. lvsd0)'],
    },
    {
      name: 'a socket path longer than a Unix socket allows',
      yaml: `announce:\n  backend: exabgp\n  socket: /run/${'x'.repeat(120)}.sock\n`,
      issues: [`lvsd.yaml:3:11: announce.socket: "/run/${'x'.repeat(120)}.sock" is 130 bytes long; a Unix socket path has at most 107`],
    },
    {
      name: 'a socket_group that is not a group name',
      yaml: 'announce:\n  backend: exabgp\n  socket_group: "exa bgp"\n',
      issues: ['lvsd.yaml:3:17: announce.socket_group: a group name (letters, digits, "_", ".", "-"), e.g. exabgp'],
    },
    {
      name: 'a socket_group this machine does not have',
      yaml: 'announce:\n  backend: exabgp\n  socket_group: lvsd-no-such-group\n',
      issues: ['lvsd.yaml:3:17: announce.socket_group: no group "lvsd-no-such-group" in /etc/group (create it, or leave socket_group out: root only)'],
    },
    {
      name: 'a VIP with a port',
      yaml: 'announce:\n  backend: bird\n  vips:\n    - address: 192.0.2.10:80\n',
      issues: ['lvsd.yaml:4:16: announce.vips[0].address: "192.0.2.10:80" is not an IP address (give the VIP without a port, e.g. 192.0.2.10 or 2001:db8::10)'],
    },
    {
      name: 'a VIP no service uses',
      yaml: 'announce:\n  backend: bird\n  vips:\n    - address: 192.0.2.99\n',
      issues: ['lvsd.yaml:4:16: announce.vips[0].address: no service in conf.d uses 192.0.2.99; an announced VIP must be the address of a service (fwmark services have none)'],
    },
    {
      name: 'a VIP listed twice (IPv6 in two spellings)',
      yaml: 'announce:\n  backend: bird\n  vips:\n    - address: 2001:db8::10\n    - address: "2001:DB8::0:10"\n',
      issues: ['lvsd.yaml:5:16: announce.vips[1].address: 2001:db8::10 is already listed (announce.vips[0], lvsd.yaml:4)'],
    },
    {
      name: 'a service name that does not exist',
      yaml: 'announce:\n  backend: bird\n  vips:\n    - address: 192.0.2.10\n      services: [web-http, web-htps]\n',
      issues: ['lvsd.yaml:5:28: announce.vips[0].services: no service is named "web-htps" (services on 192.0.2.10: web-http, web-https)'],
    },
    {
      name: 'a service on another address, and a fwmark service',
      yaml: 'announce:\n  backend: bird\n  vips:\n    - address: 192.0.2.10\n      services:\n        - mail\n        - marked\n',
      issues: [
        'lvsd.yaml:6:11: announce.vips[0].services: service "mail" is on 192.0.2.25, not on 192.0.2.10 (services on 192.0.2.10: web-http, web-https)',
        'lvsd.yaml:7:11: announce.vips[0].services: service "marked" is a fwmark service, not on 192.0.2.10 (services on 192.0.2.10: web-http, web-https)',
      ],
    },
    {
      name: 'an empty services list',
      yaml: 'announce:\n  backend: bird\n  vips:\n    - address: 192.0.2.10\n      services: []\n',
      issues: ['lvsd.yaml:5:17: announce.vips.services: needs at least 1 item'],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      assert.deepEqual(await issuesOf(c.yaml), c.issues);
    });
  }
});
