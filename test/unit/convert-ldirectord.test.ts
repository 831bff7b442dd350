// lvsd convert, ldirectord.cf: one case per directive of ldirectord(8) (4.x), checked on the YAML
// value produced and on the warning an operator gets when the directive is not carried over exactly.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { at, ok, run, warnings } from '../helpers/convert.js';

const V = 'virtual=192.0.2.10:80\n\treal=10.0.0.1:80 gate\n';

interface Case {
  name: string;
  text: string;
  /** Expected values by dotted path in the first service ("=global." for lvsd.yaml). */
  expect?: Record<string, unknown>;
  /** Every regex must match one warning ("LINE: message"). */
  warn?: RegExp[];
  /** No warning at all. */
  exact?: boolean;
}

const cases: Case[] = [
  { name: 'virtual IP:PORT', text: V, expect: { address: '192.0.2.10:80', protocol: 'tcp', 'reals.0.address': '10.0.0.1:80' } },
  { name: 'virtual port by service name', text: 'virtual=192.0.2.10:http\n\treal=10.0.0.1:http gate\n\tchecktype=connect\n', expect: { address: '192.0.2.10:80' }, exact: true },
  { name: 'virtual firewall mark', text: 'virtual=12\n\treal=10.0.0.1 gate\n\tchecktype=connect\n\tcheckport=80\n', expect: { fwmark: 12, protocol: undefined, 'reals.0.address': '10.0.0.1', 'check.port': 80 }, exact: true },
  { name: 'virtual6 and real6', text: 'virtual6=[2001:db8::10]:80\n\treal6=[2001:db8::1]:80 gate\n\tchecktype=connect\n', expect: { address: '[2001:db8::10]:80', 'reals.0.address': '[2001:db8::1]:80' }, exact: true },
  { name: 'real range a->b', text: 'virtual=192.0.2.10:80\n\treal=10.0.0.1->10.0.0.3:80 gate 5\n\tchecktype=connect\n', expect: { 'reals.0.address': '10.0.0.1:80', 'reals.2.address': '10.0.0.3:80', 'reals.2.weight': 5, 'reals.3': undefined } },
  { name: 'real masq keeps its port', text: 'virtual=192.0.2.10:80\n\treal=10.0.0.1:8080 masq\n\tchecktype=connect\n', expect: { 'reals.0.address': '10.0.0.1:8080', 'reals.0.forwarding': 'masq' } },
  { name: 'real gate takes the virtual port (as IPVS does)', text: 'virtual=192.0.2.10:80\n\treal=10.0.0.1:8080 gate\n\tchecktype=connect\n', expect: { 'reals.0.address': '10.0.0.1:80' } },
  { name: 'real ipip and weight', text: 'virtual=192.0.2.10:80\n\treal=10.0.0.1:80 ipip 7\n\tchecktype=connect\n', expect: { 'reals.0.forwarding': 'ipip', 'reals.0.weight': 7 } },
  { name: 'per-real request/receive', text: 'virtual=192.0.2.10:80\n\treal=10.0.0.1:80 gate 1 "/a.html" "OK"\n\tservice=http\n', expect: { 'reals.0.check.path': '/a.html', 'reals.0.check.expect_body': 'OK' } },
  { name: 'real thresholds', text: 'virtual=192.0.2.10:80\n\treal=10.0.0.1:80 gate 1 "<l:10>" "<u:100>"\n\tchecktype=connect\n', warn: [/thresholds/] },
  { name: 'real host name', text: 'virtual=192.0.2.10:80\n\treal=web1:80 gate\n\treal=10.0.0.1:80 gate\n\tchecktype=connect\n', expect: { 'reals.0.address': '10.0.0.1:80' }, warn: [/host names are not resolved/] },
  { name: 'checktype connect', text: `${V}\tchecktype=connect\n`, expect: { 'check.type': 'tcp', 'check.timeout': 5, 'check.interval': 10, 'check.rise': 1, 'check.fall': 1 }, exact: true },
  { name: 'checktype connect on UDP is a ping', text: 'virtual=192.0.2.10:53\n\treal=10.0.0.1:53 gate\n\tchecktype=connect\n', expect: { protocol: 'udp', 'check.type': 'ping' } },
  { name: 'checktype negotiate http (default service by port)', text: `${V}\trequest="index.html"\n\treceive="Test"\n\tvirtualhost=www.example.org\n`, expect: { 'check.type': 'http', 'check.path': '/index.html', 'check.expect_body': 'Test', 'check.host': 'www.example.org', 'check.expect_status': '200-299' } },
  { name: 'checktype external', text: `${V}\tchecktype=external\n\tcheckcommand="/bin/true"\n`, expect: { 'check.type': 'misc', 'reals.0.check.command': ['/bin/true', '192.0.2.10', '80', '10.0.0.1', '80'] }, exact: true },
  { name: 'checktype external-perl', text: `${V}\tchecktype=external-perl\n\tcheckcommand="/bin/true"\n`, expect: { 'check.type': 'misc', 'reals.0.check.command': ['/usr/bin/perl', '/bin/true', '192.0.2.10', '80', '10.0.0.1', '80'] }, warn: [/perl/] },
  // Regression (issue 19): a missing checkcommand became a TCP connect stand-in, or type: none on UDP (the real never left).
  { name: 'checktype external, program missing here stays misc', text: `${V}\tchecktype=external\n\tcheckcommand="/nonexistent/check"\n`, expect: { 'check.type': 'misc', 'reals.0.check.command': ['/nonexistent/check', '192.0.2.10', '80', '10.0.0.1', '80'] }, warn: [/does not exist on this machine; written as it is/] },
  { name: 'checktype external on a UDP fwmark virtual, program missing here stays misc', text: 'virtual=7\n\treal=10.0.0.1 gate\n\tchecktype=external\n\tcheckcommand="/nonexistent/check"\n', expect: { 'check.type': 'misc', 'reals.0.check.command': ['/nonexistent/check', '7', '0', '10.0.0.1', '0'] }, warn: [/written as it is/] },
  { name: 'checktype ping', text: `${V}\tchecktype=ping\n`, expect: { 'check.type': 'ping' } },
  { name: 'checktype on', text: `${V}\tchecktype=on\n`, expect: { 'check.type': 'none' }, exact: true },
  { name: 'checktype off', text: `${V}\tchecktype=off\n`, expect: { reals: [] }, warn: [/checktype=off/] },
  { name: 'checktype N', text: `${V}\tchecktype=5\n`, expect: { 'check.type': 'http' }, warn: [/checktype=5/] },
  { name: 'service https', text: 'virtual=192.0.2.10:443\n\treal=10.0.0.1:443 gate\n', expect: { 'check.type': 'https', 'check.tls_verify': false } },
  { name: 'service http_proxy', text: `${V}\tservice=http_proxy\n`, expect: { 'check.type': 'tcp' }, warn: [/http_proxy/] },
  { name: 'service dns', text: 'virtual=192.0.2.10:53\n\treal=10.0.0.1:53 gate\n\tservice=dns\n\trequest="www.example.org"\n\treceive="192.0.2.1"\n', expect: { 'check.type': 'dns', 'check.query': 'www.example.org', 'check.query_type': 'A', 'check.expect_answer': '192.0.2.1' }, exact: true },
  { name: 'service dns PTR', text: 'virtual=192.0.2.10:53\n\treal=10.0.0.1:53 gate\n\tservice=dns\n\trequest="192.0.2.1"\n', expect: { 'check.query': '1.2.0.192.in-addr.arpa', 'check.query_type': 'PTR' } },
  { name: 'service smtp', text: 'virtual=192.0.2.10:25\n\treal=10.0.0.1:25 gate\n', expect: { 'check.dialogue.0.expect': '^220', 'check.dialogue.1.send': 'EHLO lvsd\\r\\n' } },
  { name: 'service submission', text: 'virtual=192.0.2.10:587\n\treal=10.0.0.1:587 gate\n', expect: { 'check.type': 'tcp' } },
  { name: 'service pop with login', text: 'virtual=192.0.2.10:110\n\treal=10.0.0.1:110 gate\n\tlogin="u"\n\tpasswd="p"\n', expect: { 'check.dialogue.1.send': 'USER u\\r\\n' } },
  { name: 'service pops', text: 'virtual=192.0.2.10:995\n\treal=10.0.0.1:995 gate\n', expect: { 'check.type': 'tcp' }, warn: [/TLS/] },
  { name: 'service imap', text: 'virtual=192.0.2.10:143\n\treal=10.0.0.1:143 gate\n', expect: { 'check.dialogue.0.expect': '^\\* OK' } },
  { name: 'service imaps', text: 'virtual=192.0.2.10:993\n\treal=10.0.0.1:993 gate\n', expect: { 'check.type': 'tcp' }, warn: [/imaps/] },
  { name: 'service ftp', text: 'virtual=192.0.2.10:21\n\treal=10.0.0.1:21 gate\n\trequest="welcome.msg"\n', expect: { 'check.type': 'tcp' }, warn: [/downloads/] },
  { name: 'service nntp', text: 'virtual=192.0.2.10:119\n\treal=10.0.0.1:119 gate\n', expect: { 'check.type': 'tcp', 'check.expect': '^2' }, exact: true },
  { name: 'service ldap', text: 'virtual=192.0.2.10:389\n\treal=10.0.0.1:389 gate\n', expect: { 'check.type': 'tcp' }, warn: [/ldap/] },
  { name: 'service ldaps', text: 'virtual=192.0.2.10:636\n\treal=10.0.0.1:636 gate\n', expect: { 'check.type': 'tcp' }, warn: [/ldaps/] },
  { name: 'service mysql', text: 'virtual=192.0.2.10:3306\n\treal=10.0.0.1:3306 gate\n\tlogin="u"\n\tdatabase="d"\n', expect: { 'check.type': 'tcp' }, warn: [/mysql/, /login/, /database/] },
  { name: 'service pgsql', text: 'virtual=192.0.2.10:5432\n\treal=10.0.0.1:5432 gate\n', expect: { 'check.type': 'tcp' }, warn: [/pgsql/] },
  { name: 'service oracle', text: 'virtual=192.0.2.10:1521\n\treal=10.0.0.1:1521 gate\n', expect: { 'check.type': 'tcp' }, warn: [/oracle/] },
  { name: 'service radius', text: 'virtual=192.0.2.10:1812\n\tprotocol=udp\n\treal=10.0.0.1:1812 gate\n\tsecret="s"\n', expect: { 'check.type': 'udp' }, warn: [/radius/, /secret/] },
  { name: 'service sip', text: 'virtual=192.0.2.10:5060\n\tprotocol=udp\n\treal=10.0.0.1:5060 gate\n', expect: { 'check.type': 'udp', 'check.send': 'OPTIONS sip:lvsd SIP/2.0\\r\\n\\r\\n' }, warn: [/sip/] },
  { name: 'service simpletcp', text: 'virtual=192.0.2.10:7000\n\treal=10.0.0.1:7000 gate\n\tservice=simpletcp\n\trequest="PING\\n"\n\treceive="PONG"\n', expect: { 'check.type': 'tcp', 'check.send': 'PING\\n', 'check.expect': 'PONG' }, exact: true },
  { name: 'service none', text: 'virtual=192.0.2.10:7000\n\treal=10.0.0.1:7000 gate\n', expect: { 'check.type': 'none' }, exact: true },
  { name: 'httpmethod HEAD', text: `${V}\thttpmethod=HEAD\n`, expect: { 'check.method': 'HEAD' }, exact: true },
  { name: 'httpmethod HEAD with receive', text: `${V}\thttpmethod=HEAD\n\treceive="x"\n`, expect: { 'check.expect_body': undefined }, warn: [/HEAD/] },
  { name: 'checkport', text: `${V}\tchecktype=connect\n\tcheckport=8080\n`, expect: { 'check.port': 8080 }, exact: true },
  { name: 'checktimeout and checkinterval (global)', text: `checktimeout=2\ncheckinterval=5\n${V}\tchecktype=connect\n`, expect: { 'check.timeout': 2, 'check.interval': 5 }, exact: true },
  { name: 'negotiatetimeout overrides for negotiate', text: `checktimeout=2\nnegotiatetimeout=4\ncheckinterval=9\n${V}`, expect: { 'check.timeout': 4, 'check.interval': 9 } },
  { name: 'per-virtual checktimeout overrides global', text: `checktimeout=2\ncheckinterval=9\n${V}\tchecktype=connect\n\tchecktimeout=3\n`, expect: { 'check.timeout': 3 } },
  { name: 'timeout not below interval is kept as written', text: `checktimeout=3\ncheckinterval=1\n${V}\tchecktype=connect\n`, expect: { 'check.timeout': 3, 'check.interval': 1 }, exact: true },
  { name: 'failurecount', text: `failurecount=3\n${V}\tchecktype=connect\n`, expect: { 'check.fall': 3, 'check.rise': 1 }, exact: true },
  { name: 'checkcount (deprecated)', text: `${V}\tchecktype=connect\n\tcheckcount=3\n`, warn: [/checkcount/] },
  // Regression (issue 19): convert wrote quiescent: true for a file without quiescent=; ldirectord's code defaults to no.
  { name: 'quiescent default no (ldirectord code since 2009)', text: `${V}\tchecktype=connect\n`, expect: { quiescent: false } },
  { name: 'quiescent=no global', text: `quiescent=no\n${V}\tchecktype=connect\n`, expect: { quiescent: false } },
  { name: 'quiescent per virtual overrides', text: `quiescent=no\n${V}\tchecktype=connect\n\tquiescent=yes\n`, expect: { quiescent: true } },
  { name: 'fallback global', text: `fallback=127.0.0.1:80\n${V}\tchecktype=connect\n`, expect: { 'sorry.0.address': '127.0.0.1:80', 'sorry.0.forwarding': undefined }, exact: true },
  { name: 'fallback per virtual with masq', text: `fallback=127.0.0.1:80\n${V}\tchecktype=connect\n\tfallback=10.0.0.99:8080 masq\n`, expect: { 'sorry.0.address': '10.0.0.99:8080', 'sorry.0.forwarding': 'masq' } },
  { name: 'fallback that is also a real', text: `${V}\tchecktype=connect\n\tfallback=10.0.0.1:80\n`, expect: { sorry: undefined }, warn: [/also a real/] },
  { name: 'fallback6', text: 'fallback6=[::1]:80\nvirtual6=[2001:db8::10]:80\n\treal6=[2001:db8::1]:80 gate\n\tchecktype=connect\n', expect: { 'sorry.0.address': '[::1]:80' } },
  { name: 'persistent and netmask', text: `${V}\tchecktype=connect\n\tpersistent=600\n\tnetmask=255.255.255.0\n`, expect: { 'persistence.timeout': 600, 'persistence.netmask': '255.255.255.0' }, exact: true },
  { name: 'scheduler', text: `${V}\tchecktype=connect\n\tscheduler=sh\n`, expect: { scheduler: 'sh' }, exact: true },
  { name: 'scheduler default wrr', text: `${V}\tchecktype=connect\n`, expect: { scheduler: 'wrr' } },
  { name: 'protocol udp', text: 'virtual=192.0.2.10:5000\n\treal=10.0.0.1:5000 gate\n\tprotocol=udp\n\tchecktype=on\n', expect: { protocol: 'udp' }, exact: true },
  { name: 'protocol default udp on port 53', text: 'virtual=192.0.2.10:53\n\treal=10.0.0.1:53 gate\n\tchecktype=on\n', expect: { protocol: 'udp' } },
  { name: 'protocol fwm', text: 'virtual=3\n\treal=10.0.0.1 gate\n\tprotocol=fwm\n\tchecktype=on\n', expect: { fwmark: 3 }, exact: true },
  { name: 'maintenancedir', text: `maintenancedir=/etc/ha.d/maint\n${V}\tchecktype=connect\n`, expect: { '=global.maintenance_dir': '/etc/ha.d/maint' } },
  { name: 'fallbackcommand', text: `fallbackcommand="/bin/echo"\n${V}\tchecktype=connect\n`, expect: { 'notify.sorry_on': ['/bin/echo', 'start', '192.0.2.10:80', 'tcp'], 'notify.sorry_off': ['/bin/echo', 'stop', '192.0.2.10:80', 'tcp'] }, exact: true },
  { name: 'fallbackcommand, program missing here', text: `fallbackcommand="/nonexistent/fb"\n${V}\tchecktype=connect\n`, expect: { notify: undefined }, warn: [/fallbackcommand/] },
  { name: 'emailalert points at alert rules', text: `emailalert="ops@example.org"\nemailalertfreq=60\nemailalertstatus=all\nemailalertfrom=lvs@example.org\nsmtp=192.0.2.25\n${V}\tchecktype=connect\n`, warn: [/emailalert:.*lvsd-alerts.yml/, /emailalertfreq/, /emailalertstatus/, /emailalertfrom/, /smtp/] },
  { name: 'cleanstop', text: `cleanstop=no\n${V}\tchecktype=connect\n`, expect: { '=global.clean_stop': false }, exact: true },
  { name: 'autoreload, fork, supervised, logfile are notes', text: `autoreload=yes\nfork=yes\nsupervised=yes\nlogfile="local0"\n${V}\tchecktype=connect\n`, exact: true },
  { name: 'callback and execute', text: `callback="/x"\nexecute="other.cf"\n${V}\tchecktype=connect\n`, warn: [/callback/, /execute/] },
  // ldirectord's timeout precedence (ld_read_config): virtual checktimeout, virtual negotiatetimeout, global checktimeout, global negotiatetimeout, 5.
  // Regression (issue 19): a virtual's negotiatetimeout=10 under a global checktimeout=3 ran its external check with 3 s.
  { name: 'external check: the virtual negotiatetimeout beats the global checktimeout', text: `checktimeout=3\n${V}\tchecktype=external\n\tcheckcommand=/bin/true\n\tnegotiatetimeout=10\n`, expect: { 'check.type': 'misc', 'check.timeout': 10 } },
  { name: 'external check: the virtual checktimeout first', text: `checktimeout=3\n${V}\tchecktype=external\n\tcheckcommand=/bin/true\n\tnegotiatetimeout=10\n\tchecktimeout=4\n`, expect: { 'check.timeout': 4 } },
  { name: 'connect check: the global checktimeout before the global negotiatetimeout', text: `negotiatetimeout=20\nchecktimeout=3\n${V}\tchecktype=connect\n`, expect: { 'check.timeout': 3 } },
  { name: 'connect check: the global negotiatetimeout when nothing else is set', text: `negotiatetimeout=20\n${V}\tchecktype=connect\n`, expect: { 'check.timeout': 20 } },
  { name: 'negotiate check: the virtual checktimeout beats the global negotiatetimeout', text: `negotiatetimeout=20\n${V}\tchecktimeout=4\n`, expect: { 'check.timeout': 4 } },
  { name: 'negotiate check: 30 s by default, 5 s for connect', text: `${V}\tchecktype=connect\n\tchecktype=negotiate\n`, expect: { 'check.timeout': 30 } },
  { name: 'readdquiescent is a note', text: `readdquiescent=yes\n${V}\tchecktype=connect\n`, exact: true },
  { name: 'monitorfile', text: `${V}\tchecktype=connect\n\tmonitorfile="/var/log/x"\n`, warn: [/monitorfile/] },
  { name: 'ops', text: 'virtual=192.0.2.10:5000\n\treal=10.0.0.1:5000 gate\n\tprotocol=udp\n\tchecktype=on\n\tops=yes\n', warn: [/one-packet/] },
  { name: 'servicename and comment become comments', text: `${V}\tchecktype=connect\n\tservicename=Web\n\tcomment=front\n`, exact: true },
];

for (const c of cases) {
  test(`ldirectord: ${c.name}`, async () => {
    const r = await ok('ldirectord', c.text);
    const svc = r.services[0];
    for (const [path, want] of Object.entries(c.expect ?? {})) {
      const got = path.startsWith('=global.') ? at(r.global.value, path.slice(8)) : at(svc?.value, path);
      assert.deepEqual(got, want, `${path}`);
    }
    const ws = warnings(r);
    for (const re of c.warn ?? []) assert.ok(ws.some((w) => re.test(w)), `a warning matching ${re} in:\n${ws.join('\n')}`);
    if (c.exact) assert.deepEqual(ws, [], 'no warning');
  });
}

test('ldirectord: negotiate checks take negotiatetimeout, 30s by default, above the 10s default interval', async () => {
  const r = await ok('ldirectord', V);
  assert.equal(at(r.services[0]!.value, 'check.interval'), 10);
  assert.equal(at(r.services[0]!.value, 'check.timeout'), 30);
  assert.deepEqual(warnings(r), []);
});

test('ldirectord: every warning is also a "# lvsd convert:" comment in the service', async () => {
  const r = await ok('ldirectord', `${V}\tchecktype=5\n\tops=yes\n`);
  const comments = [...r.services[0]!.comments.values()].flat().join('\n');
  for (const d of r.diagnostics) assert.ok(comments.includes(d.message), d.message);
});

const errorCases: { name: string; text: string; line: number; col: number; message: RegExp }[] = [
  { name: 'not key=value', text: 'virtual=192.0.2.10:80\n\treal 10.0.0.1\n', line: 2, col: 2, message: /directive = value/ },
  { name: 'unknown global', text: 'checktimeot=3\n', line: 1, col: 1, message: /unknown global directive "checktimeot"/ },
  { name: 'virtual directive at top level', text: 'real=10.0.0.1:80 gate\n', line: 1, col: 1, message: /belongs in a virtual section/ },
  { name: 'unknown in virtual', text: 'virtual=192.0.2.10:80\n\tschedular=rr\n', line: 2, col: 2, message: /unknown directive "schedular"/ },
  { name: 'bad port', text: 'virtual=192.0.2.10:99999\n', line: 1, col: 20, message: /not a port/ },
  { name: 'bad forwarding', text: 'virtual=192.0.2.10:80\n\treal=10.0.0.1:80 route\n', line: 2, col: 19, message: /not gate, masq or ipip/ },
  { name: 'bad checktype', text: 'virtual=192.0.2.10:80\n\treal=10.0.0.1:80 gate\n\tchecktype=maybe\n', line: 3, col: 12, message: /checktype=maybe/ },
  { name: 'bad service', text: 'virtual=192.0.2.10:80\n\treal=10.0.0.1:80 gate\n\tservice=gopher\n', line: 3, col: 10, message: /service=gopher/ },
  { name: 'the same virtual twice', text: 'virtual=192.0.2.10:80\n\treal=10.0.0.1:80 gate\nvirtual=192.0.2.10:80\n\treal=10.0.0.2:80 gate\n', line: 3, col: 1, message: /tcp 192\.0\.2\.10:80 is already a virtual service \(defined at line 1\)/ },
  { name: 'bad range', text: 'virtual=192.0.2.10:80\n\treal=10.0.0.9->10.0.0.1:80 gate\n', line: 2, col: 7, message: /ends before it starts/ },
  // Regression (issue 19): 192.168.1.312 was taken for a host name and left out with a warning; ldirectord refuses the file.
  { name: 'real=192.168.1.312:6443 (not an address)', text: 'virtual=192.0.2.10:6443\n\treal=192.168.1.312:6443 gate\n', line: 2, col: 7, message: /invalid address \(192\.168\.1\.312\) for real server/ },
  { name: 'a range ending in a bad address', text: 'virtual=192.0.2.10:80\n\treal=10.0.0.1->10.0.0.300:80 gate\n', line: 2, col: 17, message: /invalid address \(10\.0\.0\.300\)/ },
  { name: 'connecttimeout (ldirectord refuses it)', text: 'virtual=192.0.2.10:80\n\treal=10.0.0.1:80 gate\n\tconnecttimeout=3\n', line: 3, col: 2, message: /deprecated in favour of negotiatetimeout/ },
  { name: 'checktimeout=0', text: 'checktimeout=0\nvirtual=192.0.2.10:80\n\treal=10.0.0.1:80 gate\n', line: 1, col: 14, message: /checktimeout=0: ldirectord refuses it/ },
  { name: 'a non-breaking space before real=', text: 'virtual=192.0.2.10:80\n\u00a0real=10.0.0.1:80 gate\n', line: 2, col: 1, message: /non-breaking space \(U\+00A0\)/ },
];

for (const c of errorCases) {
  test(`ldirectord error: ${c.name} is FILE:LINE:COL`, async () => {
    const r = await run('ldirectord', c.text);
    assert.equal(r.ok, false);
    if (r.ok) return;
    const e = r.errors[0]!;
    assert.match(e.message, c.message);
    assert.deepEqual([e.line, e.col], [c.line, c.col]);
  });
}
