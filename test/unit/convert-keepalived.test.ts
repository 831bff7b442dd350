// lvsd convert, keepalived.conf: one case per keyword of keepalived.conf(5) 2.x that concerns
// virtual servers, checked on the YAML value produced and on the warning the operator gets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { at, ok, run, warnings } from '../helpers/convert.js';
import { expandRange } from '../../src/convert/keepalived.js';
import { withoutVirtualServers } from '../../src/convert/keep-vrrp.js';
import { splitCommand } from '../../src/convert/common.js';

const vs = (body: string, real = 'TCP_CHECK { connect_timeout 2 }'): string =>
  `virtual_server 192.0.2.10 80 {\n  delay_loop 5\n${body}\n  real_server 10.0.0.1 80 {\n    ${real}\n  }\n}\n`;

interface Case {
  name: string;
  text: string;
  expect?: Record<string, unknown>;
  warn?: RegExp[];
  exact?: boolean;
  service?: number;
}

const cases: Case[] = [
  { name: 'virtual_server IP PORT', text: vs(''), expect: { address: '192.0.2.10:80', protocol: 'tcp', 'reals.0.address': '10.0.0.1:80' }, exact: true },
  { name: 'virtual_server IPv6', text: 'virtual_server 2001:db8::10 80 {\n delay_loop 5\n real_server 2001:db8::1 80 { TCP_CHECK { connect_timeout 2 } }\n}\n', expect: { address: '[2001:db8::10]:80', 'reals.0.address': '[2001:db8::1]:80' } },
  { name: 'virtual_server fwmark', text: 'virtual_server fwmark 7 {\n delay_loop 5\n real_server 10.0.0.1 80 { TCP_CHECK { connect_timeout 2 } }\n}\n', expect: { fwmark: 7, protocol: undefined, 'reals.0.address': '10.0.0.1:80' }, exact: true },
  { name: 'virtual_server group with ranges and fwmark', text: `virtual_server_group G {\n 192.0.2.1-3 80\n 192.0.2.250-192.0.3.1 80\n fwmark 9\n}\nvirtual_server group G {\n delay_loop 5\n real_server 10.0.0.1 80 { TCP_CHECK { connect_timeout 2 } }\n}\n`, expect: { address: '192.0.2.1:80' } },
  { name: 'lb_algo', text: vs('  lb_algo sh'), expect: { scheduler: 'sh' }, exact: true },
  { name: 'lvs_sched', text: vs('  lvs_sched mh'), expect: { scheduler: 'mh' }, exact: true },
  { name: 'scheduler flags', text: vs('  lvs_sched sh\n  sh-port\n  flag-1'), warn: [/sh-port/, /flag-1/] },
  { name: 'ops', text: vs('  ops'), warn: [/one-packet/] },
  { name: 'lb_kind DR', text: vs('  lb_kind DR'), expect: { forwarding: 'gate' }, exact: true },
  { name: 'lvs_method NAT (and the default)', text: vs('  lvs_method NAT'), expect: { forwarding: 'masq' }, exact: true },
  { name: 'lvs_method TUN with type', text: vs('  lvs_method TUN type gue port 6080'), expect: { forwarding: 'ipip' }, warn: [/tunnel type/] },
  { name: 'real_server lvs_method override', text: vs('  lb_kind NAT', 'lvs_method DR\n TCP_CHECK { connect_timeout 2 }'), expect: { 'reals.0.forwarding': 'gate' } },
  { name: 'persistence_timeout and granularity', text: vs('  persistence_timeout 120\n  persistence_granularity 255.255.255.0'), expect: { 'persistence.timeout': 120, 'persistence.netmask': '255.255.255.0' }, exact: true },
  { name: 'persistence_timeout without value', text: vs('  persistence_timeout'), expect: { 'persistence.timeout': 360 } },
  { name: 'persistence_engine', text: vs('  persistence_timeout 60\n  persistence_engine sip'), warn: [/persistence_engine/] },
  { name: 'protocol UDP', text: vs('  protocol UDP'), expect: { protocol: 'udp' } },
  { name: 'protocol SCTP', text: vs('  protocol SCTP'), expect: { protocol: 'sctp' } },
  { name: 'sorry_server', text: vs('  sorry_server 10.0.0.99 80'), expect: { 'sorry.0.address': '10.0.0.99:80' }, exact: true },
  { name: 'sorry_server that is also a real_server', text: vs('  sorry_server 10.0.0.1 80'), expect: { sorry: undefined }, warn: [/also a real_server/] },
  { name: 'sorry_server_lvs_method', text: vs('  lb_kind DR\n  sorry_server 10.0.0.99 8080\n  sorry_server_lvs_method NAT'), expect: { 'sorry.0.address': '10.0.0.99:8080', 'sorry.0.forwarding': 'masq' } },
  { name: 'sorry_server_inhibit', text: vs('  sorry_server 10.0.0.99 80\n  sorry_server_inhibit'), warn: [/sorry_server_inhibit/] },
  { name: 'inhibit_on_failure', text: vs('  inhibit_on_failure'), expect: { quiescent: true }, exact: true },
  { name: 'quorum', text: vs('  quorum 3'), expect: { quorum: 3 } },
  { name: 'hysteresis', text: vs('  quorum 3\n  hysteresis 1'), expect: { hysteresis: 1 } },
  { name: 'quorum_up / quorum_down', text: vs('  quorum_up "/bin/echo up"\n  quorum_down /bin/echo'), expect: { 'notify.quorum_up': ['/bin/echo', 'up'], 'notify.quorum_down': ['/bin/echo'] } },
  { name: 'alpha is a note', text: vs('  alpha'), exact: true },
  { name: 'omega', text: vs('  omega'), warn: [/omega/] },
  { name: 'delay_loop', text: vs(''), expect: { 'check.interval': 5 }, exact: true },
  { name: 'delay_loop default 60s', text: 'virtual_server 192.0.2.10 80 {\n real_server 10.0.0.1 80 { TCP_CHECK { } }\n}\n', expect: { 'check.interval': 60, 'check.timeout': 5 } },
  { name: 'warmup is a note', text: vs('  warmup 3'), exact: true },
  { name: 'retry', text: vs('', 'TCP_CHECK { connect_timeout 2\n retry 2\n delay_before_retry 5 }'), expect: { 'check.fall': 3, 'check.rise': 1 }, exact: true },
  { name: 'nb_get_retry', text: vs('', 'HTTP_GET { url { path / }\n connect_timeout 2\n nb_get_retry 4\n delay_before_retry 5 }'), expect: { 'check.fall': 5 } },
  { name: 'connect_ip other than the real', text: vs('', 'TCP_CHECK { connect_ip 10.0.0.50\n connect_timeout 2 }'), warn: [/connect_ip/] },
  { name: 'connect_port', text: vs('', 'TCP_CHECK { connect_port 8080\n connect_timeout 2 }'), expect: { 'check.port': 8080 }, exact: true },
  { name: 'connect_timeout', text: vs('', 'TCP_CHECK { connect_timeout 3 }'), expect: { 'check.timeout': 3 }, exact: true },
  { name: 'connect_timeout not below delay_loop is kept as written', text: vs('', 'TCP_CHECK { connect_timeout 7 }'), expect: { 'check.timeout': 7, 'check.interval': 5 }, exact: true },
  { name: 'bindto', text: vs('', 'TCP_CHECK { connect_timeout 2\n bindto 10.0.0.200 }'), warn: [/bindto/] },
  { name: 'real_server weight', text: vs('', 'weight 30\n TCP_CHECK { connect_timeout 2 }'), expect: { 'reals.0.weight': 30 }, exact: true },
  { name: 'real_server without checker', text: vs('', 'weight 2'), expect: { 'check.type': 'none' }, exact: true },
  { name: 'real_server port differs with DR', text: vs('  lb_kind DR', 'TCP_CHECK { connect_timeout 2 }').replace('10.0.0.1 80', '10.0.0.1 8080'), expect: { 'reals.0.address': '10.0.0.1:80' } },
  { name: 'quorum_up program missing here', text: vs('  quorum_up /nonexistent/up'), expect: { notify: undefined }, warn: [/quorum_up/] },
  { name: 'notify_up / notify_down', text: vs('', 'notify_up "/bin/echo up"\n notify_down /bin/echo\n TCP_CHECK { connect_timeout 2 }'), expect: { 'notify.real_up': ['/bin/echo', 'up'], 'notify.real_down': ['/bin/echo'] } },
  { name: 'uthreshold / lthreshold', text: vs('', 'uthreshold 100\n lthreshold 10\n TCP_CHECK { connect_timeout 2 }'), warn: [/uthreshold/, /lthreshold/] },
  { name: 'HTTP_GET url path and status_code ranges', text: vs('', 'HTTP_GET { url { path /health\n status_code 200-299 301 } connect_timeout 2 }'), expect: { 'check.type': 'http', 'check.path': '/health', 'check.expect_status': ['200-299', 301] }, exact: true },
  { name: 'HTTP_GET default status 200-299', text: vs('', 'HTTP_GET { url { path / } connect_timeout 2 }'), expect: { 'check.expect_status': '200-299' } },
  { name: 'HTTP_GET virtualhost (service level)', text: vs('  virtualhost www.example.org', 'HTTP_GET { url { path / } connect_timeout 2 }'), expect: { 'check.host': 'www.example.org' }, exact: true },
  { name: 'HTTP_GET url virtualhost', text: vs('', 'HTTP_GET { url { path /\n virtualhost a.example.org } connect_timeout 2 }'), expect: { 'check.host': 'a.example.org' } },
  { name: 'HTTP_GET regex', text: vs('', 'HTTP_GET { url { path /\n regex "ok|fine" } connect_timeout 2 }'), expect: { 'check.expect_body': 'ok|fine' }, exact: true },
  { name: 'HTTP_GET regex_no_match', text: vs('', 'HTTP_GET { url { path /\n regex "error"\n regex_no_match } connect_timeout 2 }'), warn: [/regex_no_match/] },
  { name: 'HTTP_GET digest', text: vs('', 'HTTP_GET { url { path /\n digest 9B3A0C85A887A256D6939DA88AABD8CD } connect_timeout 2 }'), expect: { 'check.expect_digest': '9b3a0c85a887a256d6939da88aabd8cd' }, exact: true },
  { name: 'HTTP_GET several url blocks', text: vs('', 'HTTP_GET { url { path /a } url { path /b } connect_timeout 2 }'), expect: { 'check.urls.0.path': '/a', 'check.urls.1.path': '/b' } },
  { name: 'SSL_GET', text: vs('', 'SSL_GET { url { path / } connect_timeout 2 }'), expect: { 'check.type': 'https', 'check.tls_verify': false }, exact: true },
  { name: 'TCP_CHECK', text: vs(''), expect: { 'check.type': 'tcp' }, exact: true },
  { name: 'SMTP_CHECK helo_name', text: vs('', 'SMTP_CHECK { helo_name mx.example.org\n connect_timeout 2 }'), expect: { 'check.dialogue.1.send': 'HELO mx.example.org\\r\\n' }, exact: true },
  { name: 'DNS_CHECK type and name', text: vs('', 'DNS_CHECK { type A\n name example.org\n connect_timeout 2 }'), expect: { 'check.type': 'dns', 'check.query_type': 'A', 'check.query': 'example.org', 'check.transport': 'udp', 'check.fall': 4 }, exact: true },
  { name: 'DNS_CHECK defaults SOA .', text: vs('', 'DNS_CHECK { connect_timeout 2 }'), expect: { 'check.query_type': 'SOA', 'check.query': '.' } },
  { name: 'MISC_CHECK misc_path split, timeout, dynamic', text: vs('', 'MISC_CHECK { misc_path "/bin/true -a \'b c\'"\n misc_timeout 3\n misc_dynamic }'), expect: { 'check.type': 'misc', 'check.command': ['/bin/true', '-a', 'b c'], 'check.timeout': 3, 'check.dynamic_weight': true, 'check.fall': 1 }, exact: true },
  // Regression (issue 19): a missing program became a TCP connect stand-in (on a UDP service the real never came up).
  { name: 'MISC_CHECK program missing here stays a misc check, with a warning', text: vs('  protocol UDP', 'MISC_CHECK { misc_path "/nonexistent/x --flag"\n misc_timeout 3 }'), expect: { 'check.type': 'misc', 'check.command': ['/nonexistent/x', '--flag'], 'check.timeout': 3 }, warn: [/does not exist on this machine; written as it is/] },
  { name: 'MISC_CHECK user', text: vs('', 'MISC_CHECK { misc_path /bin/true\n misc_timeout 3\n user nobody }'), warn: [/user nobody/] },
  { name: 'UDP_CHECK', text: vs('  protocol UDP', 'UDP_CHECK { payload Ab12f 3 456 546443123\n require_reply 0a XB xx\n connect_timeout 2 }'), expect: { 'check.type': 'udp', 'check.send': '\\xab\\x12\\x0f\\x03E\\x06TdC\\x12\\x03', 'check.expect': `^\\x0a[${[...Array(16).keys()].map((h) => `\\x${(h * 16 + 11).toString(16).padStart(2, '0')}`).join('')}][\\s\\S]` }, exact: true },
  { name: 'PING_CHECK', text: vs('', 'PING_CHECK { connect_timeout 2 }'), expect: { 'check.type': 'ping' }, exact: true },
  { name: 'FILE_CHECK', text: vs('', 'FILE_CHECK { track_file f }\n TCP_CHECK { connect_timeout 2 }'), expect: { 'check.type': 'tcp' }, warn: [/FILE_CHECK/] },
  { name: 'several checkers on one real', text: vs('', 'TCP_CHECK { connect_timeout 2 }\n HTTP_GET { url { path / } connect_timeout 2 }'), expect: { 'checks.0.type': 'tcp', 'checks.1.type': 'http' } },
  { name: 'global_defs and vrrp_instance are notes', text: `global_defs { router_id X }\nvrrp_instance V { interface eth0 }\n${vs('')}`, exact: true },
  { name: 'smtp_alert points at alert rules', text: vs('  smtp_alert'), warn: [/smtp_alert:.*lvsd-alerts.yml/] },
  { name: 'include', text: 'include /nonexistent/*.conf\n' + vs(''), exact: true },
  { name: '$VAR substitution', text: '$PORT=8080\nvirtual_server 192.0.2.10 $PORT {\n delay_loop 5\n lb_kind NAT\n real_server 10.0.0.1 ${PORT} { TCP_CHECK { connect_timeout 2 } }\n}\n', expect: { address: '192.0.2.10:8080', 'reals.0.address': '10.0.0.1:8080' } },
];

for (const c of cases) {
  test(`keepalived: ${c.name}`, async () => {
    const r = await ok('keepalived', c.text);
    const svc = r.services[c.service ?? 0];
    for (const [path, want] of Object.entries(c.expect ?? {})) assert.deepEqual(at(svc?.value, path), want, path);
    const ws = warnings(r);
    for (const re of c.warn ?? []) assert.ok(ws.some((w) => re.test(w)), `a warning matching ${re} in:\n${ws.join('\n')}`);
    if (c.exact) assert.deepEqual(ws, [], 'no warning');
  });
}

test('keepalived: a virtual_server_group becomes one service per address and fwmark', async () => {
  const r = await ok('keepalived', cases.find((c) => c.name.startsWith('virtual_server group'))!.text);
  assert.deepEqual(
    r.services.map((s) => s.value.address ?? `fwmark ${String(s.value.fwmark)}`),
    ['192.0.2.1:80', '192.0.2.2:80', '192.0.2.3:80', '192.0.2.250:80', '192.0.2.251:80', '192.0.2.252:80', '192.0.2.253:80', '192.0.2.254:80', '192.0.2.255:80', '192.0.3.0:80', '192.0.3.1:80', 'fwmark 9'],
  );
});

test('keepalived: address ranges expand as keepalived.conf(5) describes', () => {
  assert.deepEqual(expandRange('192.168.200.3-5'), ['192.168.200.3', '192.168.200.4', '192.168.200.5']);
  assert.deepEqual(expandRange('192.168.202.8/30'), ['192.168.202.8', '192.168.202.9', '192.168.202.10', '192.168.202.11']);
  assert.deepEqual(expandRange('2001:db8::1-3'), ['2001:db8::1', '2001:db8::2', '2001:db8::3']);
  assert.equal(expandRange('192.168.200.9-3'), null);
});

test('keepalived: misc_path is split on blanks outside quotes, as keepalived does', () => {
  assert.deepEqual(splitCommand('/x "a b" c\\ d \'e f\''), ['/x', 'a b', 'c d', 'e f']);
});

test('keepalived: --keep-vrrp text keeps everything but the virtual_server blocks', () => {
  const text = 'global_defs {\n  router_id A\n}\nvrrp_instance V {\n  virtual_ipaddress {\n    192.0.2.10\n  }\n}\nvirtual_server_group G {\n 192.0.2.1 80\n}\nvirtual_server 192.0.2.10 80 {\n  real_server 10.0.0.1 80 {\n    TCP_CHECK {\n    }\n  }\n}\n! end\n';
  const r = withoutVirtualServers(text, 'k.conf');
  assert.equal(r.removed, 2);
  assert.match(r.text, /vrrp_instance V \{\n {2}virtual_ipaddress \{\n {4}192\.0\.2\.10\n {2}\}\n\}/);
  assert.doesNotMatch(r.text, /real_server|TCP_CHECK|192\.0\.2\.1 80/);
  assert.match(r.text, /! end/);
});

const errorCases: { name: string; text: string; line: number; col: number; message: RegExp }[] = [
  { name: 'unclosed block', text: 'virtual_server 192.0.2.10 80 {\n  delay_loop 5\n', line: 1, col: 30, message: /never closed/ },
  { name: 'stray close', text: '}\n', line: 1, col: 1, message: /without a matching/ },
  { name: 'unterminated string', text: 'virtual_server 192.0.2.10 80 {\n  quorum_up "x\n}\n', line: 2, col: 13, message: /unterminated/ },
  { name: 'bad virtual address', text: 'virtual_server www 80 {\n}\n', line: 1, col: 1, message: /IP address/ },
  { name: 'group without a name', text: 'virtual_server group {\n}\n', line: 1, col: 1, message: /no virtual_server_group/ },
  { name: 'the same virtual_server twice', text: vs('') + vs(''), line: 8, col: 1, message: /TCP 192\.0\.2\.10:80 is already a virtual service \(defined at test\.conf:1\)/ },
  { name: 'bad lb_kind', text: vs('  lb_kind ROUTE'), line: 3, col: 3, message: /not NAT, DR or TUN/ },
  { name: 'bad protocol', text: vs('  protocol ICMP'), line: 3, col: 3, message: /not TCP, UDP or SCTP/ },
];

for (const c of errorCases) {
  test(`keepalived error: ${c.name} is FILE:LINE:COL`, async () => {
    const r = await run('keepalived', c.text);
    assert.equal(r.ok, false);
    if (r.ok) return;
    const e = r.errors[0]!;
    assert.match(e.message, c.message);
    assert.deepEqual([e.line, e.col], [c.line, c.col]);
  });
}
