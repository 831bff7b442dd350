// keepalived's own fallbacks (check_parser.c, ipvswrapper.c): where keepalived logs a value and runs
// without it, convert does the same and warns; the output then passes check-config where keepalived
// would run the file. Each case names the break it pins (issue 19).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { at, ok, warnings } from '../helpers/convert.js';
import type { Ok } from '../helpers/convert.js';
import { render } from '../../src/cli/convert.js';
import { formatIssue, loadConfig } from '../../src/config/load.js';

const TCP = 'TCP_CHECK { connect_timeout 2 }';
const vs = (head: string, body: string, reals: string): string => `virtual_server ${head} {\n  delay_loop 5\n${body}\n${reals}}\n`;
const real = (addr: string, extra = ''): string => `  real_server ${addr} {\n    ${extra}${TCP}\n  }\n`;

/** What check-config says of the output, written to a directory as convert writes it. */
async function passesCheckConfig(r: Ok): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-fallback-'));
  try {
    mkdirSync(join(dir, 'conf.d'));
    for (const [rel, body] of render(r, 'k.conf')) writeFileSync(join(dir, rel), body);
    const check = await loadConfig(dir);
    assert.ok(check.ok, check.ok ? '' : check.issues.map(formatIssue).join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const t of ['0', '2678401', '99999999', 'abc']) {
  // Regression: persistence_timeout 0 (twice in the corpus) or above keepalived's limit gave output that failed check-config.
  test(`keepalived fallback: persistence_timeout ${t} → no persistence, warned (keepalived: "persistence_timeout invalid")`, async () => {
    const r = await ok('keepalived', vs('192.0.2.10 80', `  persistence_timeout ${t}`, real('10.0.0.1 80')));
    assert.equal(at(r.services[0]!.value, 'persistence'), undefined);
    assert.ok(warnings(r).some((w) => w.includes(`persistence_timeout ${t}`) && w.includes('without persistence')));
    await passesCheckConfig(r);
  });
}

test('keepalived fallback: an invalid persistence_timeout with a granularity → 360 s, as keepalived sets it', async () => {
  const r = await ok('keepalived', vs('192.0.2.10 80', '  persistence_timeout 0\n  persistence_granularity 255.255.255.0', real('10.0.0.1 80')));
  assert.deepEqual(at(r.services[0]!.value, 'persistence'), { timeout: 360, netmask: '255.255.255.0' });
  await passesCheckConfig(r);
});

test('keepalived: persistence_timeout 2678400 (31 days, the limit) is kept', async () => {
  const r = await ok('keepalived', vs('192.0.2.10 80', '  persistence_timeout 2678400', real('10.0.0.1 80')));
  assert.equal(at(r.services[0]!.value, 'persistence.timeout'), 2678400);
  await passesCheckConfig(r);
});

// Regression: an IPv6 virtual server with an IPv4 NAT real gave output that failed check-config.
test('keepalived fallback: an IPv4 NAT real in an IPv6 virtual server is skipped with a warning, as keepalived skips it', async () => {
  const r = await ok('keepalived', vs('2001:db8::10 80', '  lb_kind NAT', real('10.0.0.1 80') + real('2001:db8::1 80')));
  assert.deepEqual(at(r.services[0]!.value, 'reals'), [{ address: '[2001:db8::1]:80' }]);
  assert.ok(warnings(r).some((w) => /real_server 10\.0\.0\.1: an IPv4 real in an IPv6 virtual server with masq forwarding; keepalived skips it/.test(w)));
  await passesCheckConfig(r);
});

test('keepalived fallback: a virtual server left without reals is left out, as keepalived ignores it', async () => {
  const r = await ok('keepalived', vs('2001:db8::10 80', '  lb_kind DR', real('10.0.0.1 80')) + vs('192.0.2.11 80', '', ''));
  assert.equal(r.services.length, 0);
  assert.equal(warnings(r).filter((w) => /keepalived ignores it \("has no real servers"\)/.test(w)).length, 2);
});

test('keepalived fallback: a sorry_server of the other family, not tunnelled, is skipped', async () => {
  const r = await ok('keepalived', vs('192.0.2.10 80', '  sorry_server 2001:db8::99 80', real('10.0.0.1 80')));
  assert.equal(at(r.services[0]!.value, 'sorry'), undefined);
  assert.ok(warnings(r).some((w) => /sorry_server 2001:db8::99: IPv6 in an IPv4 virtual server/.test(w)));
  await passesCheckConfig(r);
});

// Regression: a fwmark real written with a port under DR was that port in lvsd's table, 0 in keepalived's.
test('keepalived: a fwmark real under DR is port 0 in the table, as keepalived puts it; its check keeps the written port', async () => {
  const r = await ok('keepalived', vs('fwmark 7', '  lb_kind DR', real('10.0.0.1 443') + real('10.0.0.2 443', 'lb_kind NAT\n    ')));
  const v = r.services[0]!.value;
  assert.equal(at(v, 'reals.0.address'), '10.0.0.1');
  assert.equal(at(v, 'reals.0.check.port'), 443);
  assert.equal(at(v, 'reals.1.address'), '10.0.0.2:443');
  assert.equal(at(v, 'reals.1.check.port'), undefined);
  await passesCheckConfig(r);
});

test('keepalived: a DR real written with another port is checked on that port (keepalived checks rs->addr)', async () => {
  const r = await ok('keepalived', vs('192.0.2.10 80', '  lb_kind DR', real('10.0.0.1 8080')));
  assert.equal(at(r.services[0]!.value, 'reals.0.address'), '10.0.0.1:80');
  assert.equal(at(r.services[0]!.value, 'check.port'), 8080);
});

test('keepalived: quorum above the reals\' total weight is warned (the service never has quorum)', async () => {
  const r = await ok('keepalived', vs('192.0.2.10 80', '  quorum 5\n  sorry_server 10.0.0.99 80', real('10.0.0.1 80', 'weight 2\n    ') + real('10.0.0.2 80')));
  assert.equal(at(r.services[0]!.value, 'quorum'), 5);
  assert.ok(warnings(r).some((w) => /quorum 5 is more than the weight of all reals together \(3\)/.test(w)));
});

test('keepalived: an unknown keyword in a real_server is warned, not dropped', async () => {
  const r = await ok('keepalived', vs('192.0.2.10 80', '', real('10.0.0.1 80', 'wieght 3\n    ')));
  assert.ok(warnings(r).some((w) => /wieght is not a real_server keyword/.test(w)));
});

test('keepalived: a weight out of keepalived\'s range is warned and left at 1', async () => {
  const r = await ok('keepalived', vs('192.0.2.10 80', '', real('10.0.0.1 80', 'weight 70000\n    ')));
  assert.equal(at(r.services[0]!.value, 'reals.0.weight'), undefined);
  assert.ok(warnings(r).some((w) => /weight 70000/.test(w)));
  await passesCheckConfig(r);
});

// Regression: all-port persistent services (virtual_server VIP 0 with persistence) were left out.
test('keepalived: virtual_server VIP 0 with persistence is the all-port service VIP:0, reals at port 0 under DR', async () => {
  const r = await ok('keepalived', vs('192.0.2.10 0', '  lb_kind DR\n  persistence_timeout 600', real('10.0.0.1 443') + real('10.0.0.2 443')));
  const v = r.services[0]!.value;
  assert.equal(at(v, 'address'), '192.0.2.10:0');
  assert.deepEqual(at(v, 'persistence'), { timeout: 600 });
  assert.equal(at(v, 'reals.0.address'), '10.0.0.1');
  assert.equal(at(v, 'check.port'), 443);
  await passesCheckConfig(r);
});

test('keepalived: virtual_server VIP 0 without persistence is made persistent for 360 s, as keepalived does', async () => {
  const r = await ok('keepalived', vs('192.0.2.10 0', '  lb_kind DR', real('10.0.0.1 443')));
  assert.deepEqual(at(r.services[0]!.value, 'persistence'), { timeout: 360 });
  assert.ok(warnings(r).some((w) => /zero port only valid for persistent services - setting/.test(w)));
  await passesCheckConfig(r);
});

// Fuzz crashers (convert-fuzz.test.ts), each output failed check-config:
test('keepalived: the same real_server twice: the second is removed with a warning, as keepalived removes it', async () => {
  const r = await ok('keepalived', vs('192.0.2.10 80', '', real('10.0.0.1 80') + real('10.0.0.1 80')));
  assert.equal((at(r.services[0]!.value, 'reals') as unknown[]).length, 1);
  assert.ok(warnings(r).some((w) => /is already a real of this virtual server; keepalived removes the second/.test(w)));
  await passesCheckConfig(r);
});

test('keepalived: a fwmark real without a port whose TCP_CHECK has no connect_port is left out (keepalived checks port 0)', async () => {
  const r = await ok('keepalived', vs('fwmark 7', '', real('10.0.0.2') + '  real_server 10.0.0.3 {\n    TCP_CHECK { connect_port 80 }\n  }\n'));
  assert.deepEqual((at(r.services[0]!.value, 'reals') as { address: string }[]).map((x) => x.address), ['10.0.0.3']);
  assert.ok(warnings(r).some((w) => /real_server 10\.0\.0\.2 has no port and its tcp check no connect_port/.test(w)));
  await passesCheckConfig(r);
});

// Regression: a fwmark group mixing inet and inet6 with IPv4 and IPv6 reals under lb_kind TUN failed check-config.
test('keepalived: tunnelled IPv4 and IPv6 reals in one pool are kept (IPVS tunnels to either family)', async () => {
  const text = 'virtual_server_group G {\n  fwmark 7\n  192.0.2.10 80\n}\nvirtual_server group G {\n  delay_loop 5\n  lb_kind TUN\n' + real('2001:db8::1 80') + real('10.0.0.1 80') + '}\n';
  const r = await ok('keepalived', text);
  assert.equal(r.services.length, 2);
  for (const s of r.services) assert.deepEqual((at(s.value, 'reals') as { address: string }[]).map((x) => x.address).sort(), ['10.0.0.1', '2001:db8::1'].map((h) => (s.value.fwmark ? (h.includes(':') ? `[${h}]` : h) : h.includes(':') ? `[${h}]:80` : `${h}:80`)).sort());
  assert.equal(at(r.services.find((s) => s.value.fwmark)!.value, 'reals.0.address'), '10.0.0.1', 'an IPv4 real first: keepalived makes the mark service IPv4');
  await passesCheckConfig(r);
});

test('keepalived: a fwmark sorry_server under TUN keeps its written port (lvsd needs one); without a port it is left out', async () => {
  const r = await ok('keepalived', vs('fwmark 7', '  lvs_method TUN\n  sorry_server 10.0.0.99 80', real('10.0.0.1 80')) + vs('fwmark 8', '  lb_kind DR\n  sorry_server 10.0.0.99', real('10.0.0.1 80')));
  assert.equal(at(r.services[0]!.value, 'sorry.0.address'), '10.0.0.99:80');
  assert.equal(at(r.services[1]!.value, 'sorry'), undefined);
  assert.ok(warnings(r).some((w) => /sorry_server 10\.0\.0\.99 without a port in a firewall-mark service/.test(w)));
  await passesCheckConfig(r);
});

// Regression: a virtual_server naming a virtual_server_group the file never defines (the Salt
// formula's rendered example, test/corpus) made convert refuse the whole file; keepalived logs
// "specified but not configured - ignoring virtual server" and runs the other virtual servers.
test('keepalived fallback: a virtual_server of an undefined group is skipped with a warning, the others converted', async () => {
  const text = vs('192.0.2.10 80', '', real('10.0.0.1 80')) + vs('group NOPE', '  protocol UDP', real('10.0.0.2 53')) + vs('192.0.2.11 80', '', real('10.0.0.3 80'));
  const r = await ok('keepalived', text);
  assert.deepEqual(r.services.map((s) => [at(s.value, 'protocol') ?? 'tcp', at(s.value, 'address'), at(s.value, 'reals.0.address')]), [
    ['tcp', '192.0.2.10:80', '10.0.0.1:80'],
    ['tcp', '192.0.2.11:80', '10.0.0.3:80'],
  ]);
  assert.deepEqual(warnings(r), [
    '8: virtual_server group NOPE: no virtual_server_group with that name; keepalived ignores this virtual_server ("specified but not configured") and runs the others, and so does lvsd convert',
  ]);
  assert.deepEqual(r.directives.filter((d) => d.outcome === 'dropped'), []);
  await passesCheckConfig(r);
});

// Regression: a virtual_server of an empty virtual_server_group made no service and said nothing
// (0 warnings); keepalived removes the group ("has no entries") and then ignores the virtual_server.
test('keepalived fallback: an empty virtual_server_group is removed with a warning and its virtual_server skipped', async () => {
  const text = 'virtual_server_group E {\n}\n' + vs('group E', '', real('10.0.0.1 80')) + vs('192.0.2.11 80', '', real('10.0.0.3 80'));
  const r = await ok('keepalived', text);
  assert.deepEqual(r.services.map((s) => at(s.value, 'address')), ['192.0.2.11:80']);
  assert.deepEqual(warnings(r), [
    '1: virtual_server_group E has no entries; keepalived removes it ("has no entries - removing"), and so does lvsd convert',
    '3: virtual_server group E: no virtual_server_group with that name; keepalived ignores this virtual_server ("specified but not configured") and runs the others, and so does lvsd convert',
  ]);
  assert.deepEqual(r.directives.filter((d) => d.outcome === 'dropped'), []);
  await passesCheckConfig(r);
});

// Regression: the corpus's keepalived-oldsample-fwmark.conf (port-less fwmark reals, TCP_CHECK
// without connect_port) gave output that failed check-config ("this real has no port, so its tcp
// check needs port"); keepalived runs the file, its checker connecting to port 0.
test('keepalived fallback: the corpus fwmark sample converts to output check-config accepts, each port-less real warned and left out', async () => {
  const text = readFileSync(new URL('../../../test/corpus/keepalived/keepalived-oldsample-fwmark.conf', import.meta.url), 'utf8');
  const r = await ok('keepalived', text);
  assert.deepEqual(r.services, []);
  assert.deepEqual(warnings(r), [
    '14: real_server 192.168.201.100 has no port and its tcp check no connect_port: keepalived checks port 0, which never answers, so the real is out of its table from the first failed check on (at once with alpha); lvsd convert leaves it out (give the real or its checker a port)',
    '21: real_server 192.168.201.101 has no port and its tcp check no connect_port: keepalived checks port 0, which never answers, so the real is out of its table from the first failed check on (at once with alpha); lvsd convert leaves it out (give the real or its checker a port)',
    '7: virtual_server fwmark 1 has no real_server of its address family: keepalived ignores it ("has no real servers"), and so does lvsd convert',
  ]);
  assert.deepEqual(r.directives.filter((d) => d.outcome === 'dropped'), []);
  await passesCheckConfig(r);
});
