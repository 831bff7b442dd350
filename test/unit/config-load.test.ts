// Every configuration mistake is reported with its exact FILE:LINE:COL, all of them in one run.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { formatIssue, loadConfig } from '../../src/config/load.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A config dir holding `files` (paths relative to it); conf.d/ exists unless `noConfD`. */
async function configDir(files: Record<string, string>, noConfD = false): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lvsd-config-'));
  dirs.push(dir);
  if (!noConfD) await mkdir(join(dir, 'conf.d'));
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), text);
  }
  return dir;
}

/** The formatted issues with the temp dir cut out, so expectations read "conf.d/a.yaml:3:14: ...". */
async function issuesOf(dir: string): Promise<string[]> {
  const r = await loadConfig(dir);
  assert.equal(r.ok, false, 'expected the config to be rejected');
  if (r.ok) return [];
  return r.issues.map((i) => formatIssue(i).replaceAll(`${dir}/`, ''));
}

const svc = (body: string): Record<string, string> => ({ 'conf.d/a.yaml': body });

interface Case {
  name: string;
  files: Record<string, string>;
  issues: string[];
}

const cases: Case[] = [
  {
    name: 'YAML syntax error',
    files: svc('address: 192.0.2.10:80\nreals:\n  - address: 10.0.0.1:80\n\tweight: 2\n'),
    issues: ['conf.d/a.yaml:4:1: YAML: Tabs are not allowed as indentation'],
  },
  {
    name: 'YAML reserved character',
    files: svc('address: 192.0.2.10:80\nreals: []\n@weight: 1\n'),
    issues: ['conf.d/a.yaml:3:1: YAML: Plain value cannot start with reserved character @'],
  },
  {
    name: 'duplicate YAML key',
    files: svc('address: 192.0.2.10:80\naddress: 192.0.2.11:80\nreals: []\n'),
    issues: ['conf.d/a.yaml:2:1: YAML: Map keys must be unique'],
  },
  {
    // Regression (issue 18): each was accepted, the first-round timer overflowed and fired at once,
    // and the sorry server went in before any check ran.
    name: 'interval + timeout longer than a timer holds (interval: 500h, timeout: 500h)',
    files: svc('address: 192.0.2.10:80\ncheck:\n  type: tcp\n  interval: 500h\n  timeout: 500h\nreals:\n  - address: 10.0.0.1:80\n  - address: 10.0.0.2:80\n'),
    issues: ['conf.d/a.yaml:4:13: interval + timeout (500h + 500h) is longer than a timer can hold: together at most 596h (a timer holds 24.8 days)'],
  },
  {
    name: 'interval + timeout too long from the defaults of lvsd.yaml, positioned there',
    files: { 'lvsd.yaml': 'defaults:\n  check:\n    timeout: 300h\n', 'conf.d/a.yaml': 'address: 192.0.2.10:80\ncheck: { interval: 300h }\nreals:\n  - address: 10.0.0.1:80\n' },
    issues: ['conf.d/a.yaml:2:20: interval + timeout (300h + 300h) is longer than a timer can hold: together at most 596h (a timer holds 24.8 days)'],
  },
  {
    // Regression (issue 18, newcomer list): the gate-port problem of a document whose protocol and
    // interval were invalid showed only after those were fixed, though every problem is promised at once.
    name: 'schema and rule problems of one document in the same run',
    files: svc('address: 192.0.2.10:80\nprotocol: tcpp\ncheck: { type: tcp, interval: 2x }\nreals:\n  - address: 10.0.0.1:8080\n    forwarding: gate\n'),
    issues: [
      'conf.d/a.yaml:2:11: protocol: must be one of tcp, udp, sctp (any case); got "tcpp"',
      'conf.d/a.yaml:3:31: check.interval: "2x" is not a duration (write e.g. "500ms", "2s", "1.5s", "1m", "1h", or a number of seconds)',
      'conf.d/a.yaml:5:14: with forwarding gate the port cannot be changed: 10.0.0.1:8080 must use the service port 80 (or use forwarding: masq)',
    ],
  },
  {
    // Regression (issue 18, newcomer list): only "YAML: Unexpected scalar at node end", no hint to quote.
    name: 'an unquoted IPv6 address with a port: the error says to quote it',
    files: svc('address: [2001:db8::10]:80\nreals:\n  - address: "[2001:db8::11]:80"\n'),
    issues: ['conf.d/a.yaml:1:24: YAML: Unexpected scalar at node end (an IPv6 address with a port must be quoted: "[2001:db8::10]:80")'],
  },
  {
    name: 'unknown top-level key, with a suggestion',
    files: svc('address: 192.0.2.10:80\nschedular: rr\nreals: []\n'),
    issues: ['conf.d/a.yaml:2:1: unknown key "schedular" (did you mean "scheduler"?)'],
  },
  {
    name: 'unknown key in a real\'s check (flow mapping)',
    files: svc('address: 192.0.2.10:80\nreals:\n  - address: 10.0.0.1:80\n    check: { intervall: 2s }\n'),
    issues: ['conf.d/a.yaml:4:14: unknown key "intervall" in reals.check (did you mean "interval"?)'],
  },
  {
    name: 'a sorry server takes no check',
    files: svc('address: 192.0.2.10:80\nreals: []\nsorry:\n  - address: 10.0.0.9:80\n    check: { type: none }\n'),
    issues: ['conf.d/a.yaml:5:5: unknown key "check" in sorry (allowed: address, weight, forwarding)'],
  },
  {
    name: 'wrong type',
    files: svc('address: 192.0.2.10:80\nreals:\n  - address: 10.0.0.1:80\n    weight: heavy\n'),
    issues: ['conf.d/a.yaml:4:13: reals.weight: expected a number, got "heavy"'],
  },
  {
    name: 'weight above 65535',
    files: svc('address: 192.0.2.10:80\nreals:\n  - address: 10.0.0.1:80\n    weight: 70000\n'),
    issues: ['conf.d/a.yaml:4:13: reals.weight: must be at most 65535; got 70000'],
  },
  {
    name: 'negative weight',
    files: svc('address: 192.0.2.10:80\nreals:\n  - address: 10.0.0.1:80\n    weight: -1\n'),
    issues: ['conf.d/a.yaml:4:13: reals.weight: must be at least 0; got -1'],
  },
  {
    name: 'missing reals',
    files: svc('address: 192.0.2.10:80\n'),
    issues: ['conf.d/a.yaml:1:1: missing required key "reals"'],
  },
  {
    name: 'a document that is not a mapping',
    files: svc('- address: 192.0.2.10:80\n'),
    issues: ['conf.d/a.yaml:1:1: expected a mapping (key: value), got a list'],
  },
  {
    name: 'host name instead of an address',
    files: svc('address: www.example.org:80\nreals: []\n'),
    issues: ['conf.d/a.yaml:1:10: address: "www.example.org" is not an IP address (host names are not resolved)'],
  },
  {
    name: 'port out of range',
    files: svc('address: 192.0.2.10:70000\nreals: []\n'),
    issues: ['conf.d/a.yaml:1:10: address: port "70000" is not a number from 1 to 65535'],
  },
  {
    name: 'IPv6 without brackets',
    files: svc('address: 2001:db8::10:80\nreals: []\n'),
    issues: ['conf.d/a.yaml:1:10: address: IPv6 address must be written in brackets, as "[2001:db8::10:80]:PORT"'],
  },
  {
    name: 'invalid real address',
    files: svc('address: 192.0.2.10:80\nreals:\n  - address: 10.0.0.300:80\n'),
    issues: ['conf.d/a.yaml:3:14: real address: "10.0.0.300" is not an IP address (host names are not resolved)'],
  },
  {
    name: 'IPv4 real in an IPv6 service',
    files: svc('address: "[2001:db8::10]:80"\nreals:\n  - address: 10.0.0.1:80\n'),
    issues: ['conf.d/a.yaml:3:14: IPv4 address 10.0.0.1:80 in an IPv6 service (the service address is IPv6); IPVS mixes families only for tunnelled destinations (forwarding: ipip)'],
  },
  {
    name: 'IPv6 real in an IPv4 service',
    files: svc('address: 192.0.2.10:80\nreals:\n  - address: "[2001:db8::1]:80"\n'),
    issues: ['conf.d/a.yaml:3:14: IPv6 address [2001:db8::1]:80 in an IPv4 service (the service address is IPv4); IPVS mixes families only for tunnelled destinations (forwarding: ipip)'],
  },
  {
    name: 'fwmark reals of both families',
    files: svc('fwmark: 7\ncheck: { type: none }\nreals:\n  - address: 10.0.0.1\n  - address: "[2001:db8::1]"\n'),
    issues: ['conf.d/a.yaml:5:14: IPv6 address [2001:db8::1] in an IPv4 service (its first destination that is not tunnelled, at conf.d/a.yaml:4, is IPv4); IPVS mixes families only for tunnelled destinations (forwarding: ipip)'],
  },
  {
    name: 'fwmark service without any destination',
    files: svc('fwmark: 7\nreals: []\n'),
    issues: ['conf.d/a.yaml:1:9: a fwmark service takes its address family (IPv4 or IPv6) from its reals: list at least one real or sorry server'],
  },
  {
    name: 'duplicate service names across files',
    files: {
      'conf.d/a.yaml': 'name: web\naddress: 192.0.2.10:80\nreals: []\n',
      'conf.d/b.yaml': 'name: web\naddress: 192.0.2.11:80\nreals: []\n',
    },
    issues: ['conf.d/b.yaml:1:7: service name "web" is already used (also defined at conf.d/a.yaml:1)'],
  },
  {
    name: 'a name taken from the file name clashes with an explicit one',
    files: {
      'conf.d/b.yaml': 'name: web\naddress: 192.0.2.10:80\nreals: []\n',
      'conf.d/web.yaml': 'address: 192.0.2.11:80\nreals: []\n',
    },
    issues: ['conf.d/web.yaml:1:1: service name "web" (taken from the file name; add a "name:" key) is already used (also defined at conf.d/b.yaml:1)'],
  },
  {
    name: 'duplicate address:port/protocol across files',
    files: {
      'conf.d/a.yaml': 'address: 192.0.2.10:80\nreals: []\n',
      'conf.d/b.yaml': 'protocol: tcp\naddress: 192.0.2.10:80\nreals: []\n',
    },
    issues: ['conf.d/b.yaml:2:10: TCP 192.0.2.10:80 is already a service, "a" (also defined at conf.d/a.yaml:1)'],
  },
  {
    name: 'duplicate IPv6 address written differently',
    files: {
      'conf.d/a.yaml': 'address: "[2001:db8::10]:53"\nprotocol: udp\nreals: []\n',
      'conf.d/b.yaml': 'address: "[2001:DB8:0:0::10]:53"\nprotocol: udp\nreals: []\n',
    },
    issues: ['conf.d/b.yaml:1:10: UDP [2001:db8::10]:53 is already a service, "a" (also defined at conf.d/a.yaml:1)'],
  },
  {
    name: 'duplicate fwmark of the same family',
    files: {
      'conf.d/a.yaml': 'fwmark: 12\ncheck: { type: none }\nreals:\n  - address: 10.0.0.1\n',
      'conf.d/b.yaml': 'fwmark: 12\ncheck: { type: none }\nreals:\n  - address: 10.0.0.2\n',
    },
    issues: ['conf.d/b.yaml:1:9: fwmark 12 (IPv4) is already a service, "a" (also defined at conf.d/a.yaml:1)'],
  },
  {
    name: 'a real listed twice (the second without port means the service port)',
    files: svc('address: 192.0.2.10:80\nreals:\n  - address: 10.0.0.1:80\n  - address: 10.0.0.1\n'),
    issues: ['conf.d/a.yaml:4:14: real 10.0.0.1:80 is listed twice in this service (also at conf.d/a.yaml:3)'],
  },
  {
    name: 'a sorry server that is also a real',
    files: svc('address: 192.0.2.10:80\nreals:\n  - address: 10.0.0.1:80\nsorry:\n  - address: 10.0.0.1:80\n'),
    issues: ['conf.d/a.yaml:5:14: sorry server 10.0.0.1:80 is also a real of this service (also at conf.d/a.yaml:3)'],
  },
  {
    name: 'sorry server of a fwmark service without port',
    files: svc('fwmark: 12\ncheck: { type: none }\nreals:\n  - address: 10.0.0.1\nsorry:\n  - address: 10.0.0.99\n'),
    issues: [
      'conf.d/a.yaml:6:14: sorry server address: "10.0.0.99" has no port (write ADDRESS:PORT) (a sorry server of a fwmark service needs an explicit port: every marked packet goes there)',
    ],
  },
  {
    name: 'fwmark real without port and a check that needs one',
    files: svc('fwmark: 12\ncheck: { type: http }\nreals:\n  - address: 10.0.0.1\n'),
    issues: ['conf.d/a.yaml:4:14: this real has no port, so its http check needs "port" (check: { port: N })'],
  },
  {
    name: 'protocol together with fwmark',
    files: svc('fwmark: 12\nprotocol: udp\ncheck: { type: none }\nreals:\n  - address: 10.0.0.1\n'),
    issues: ['conf.d/a.yaml:2:1: "protocol" cannot be used with "fwmark": the firewall mark already selects the packets'],
  },
  {
    name: 'address together with fwmark',
    files: svc('address: 192.0.2.10:80\nfwmark: 12\nreals: []\n'),
    issues: ['conf.d/a.yaml:2:1: give either "address" or "fwmark", not both'],
  },
  {
    name: 'neither address nor fwmark',
    files: svc('scheduler: rr\nreals: []\n'),
    issues: ['conf.d/a.yaml:1:1: a service needs "address" (IP:PORT) or "fwmark" (a firewall mark)'],
  },
  {
    name: 'gate forwarding cannot change the port',
    files: svc('address: 192.0.2.10:80\nreals:\n  - address: 10.0.0.1:8080\n'),
    issues: ['conf.d/a.yaml:3:14: with forwarding gate the port cannot be changed: 10.0.0.1:8080 must use the service port 80 (or use forwarding: masq)'],
  },
  {
    name: 'rise below 1',
    files: svc('address: 192.0.2.10:80\ncheck:\n  rise: 0\nreals: []\n'),
    issues: ['conf.d/a.yaml:3:9: check.rise: must be at least 1; got 0'],
  },
  {
    name: 'fall below 1 in a real\'s check',
    files: svc('address: 192.0.2.10:80\nreals:\n  - address: 10.0.0.1:80\n    check:\n      fall: 0\n'),
    issues: ['conf.d/a.yaml:5:13: reals.check.fall: must be at least 1; got 0'],
  },
  {
    name: 'expect_body with method HEAD (a HEAD response has no body)',
    files: svc('address: 192.0.2.10:80\ncheck:\n  type: http\n  method: HEAD\n  expect_body: ok\nreals:\n  - address: 10.0.0.1:80\n'),
    issues: ['conf.d/a.yaml:5:16: "expect_body" cannot match a HEAD response (it has no body); use method GET (method HEAD set at conf.d/a.yaml:4)'],
  },
  {
    name: 'bad duration',
    files: svc('address: 192.0.2.10:80\ncheck: { interval: 2x }\nreals: []\n'),
    issues: ['conf.d/a.yaml:2:20: check.interval: "2x" is not a duration (write e.g. "500ms", "2s", "1.5s", "1m", "1h", or a number of seconds)'],
  },
  {
    name: 'key for another check type at the same level',
    files: svc('address: 192.0.2.10:80\ncheck:\n  type: dns\n  query: example.org\n  path: /health\nreals: []\n'),
    issues: ['conf.d/a.yaml:5:3: "path" does not apply to checks of type dns; it is for http and https checks'],
  },
  {
    name: 'key for another check type than the inherited one',
    files: {
      'lvsd.yaml': 'defaults:\n  check: { type: http, path: /health }\n',
      'conf.d/a.yaml': 'address: 192.0.2.10:80\ncheck: { send: "PING" }\nreals: []\n',
    },
    issues: ['conf.d/a.yaml:2:10: "send" does not apply to checks of type http (type http from lvsd.yaml defaults); it is for tcp and udp checks'],
  },
  {
    name: 'lvsd.yaml defaults with a key that does not fit their own type, no services at all',
    files: { 'lvsd.yaml': 'defaults:\n  check: { path: /health }\n' },
    issues: ['lvsd.yaml:2:12: "path" does not apply to checks of type tcp (type tcp from the built-in default); it is for http and https checks'],
  },
  {
    name: 'dns check without query',
    files: svc('address: 192.0.2.53:53\nprotocol: udp\ncheck: { type: dns }\nreals:\n  - address: 10.0.0.1:53\n'),
    issues: ['conf.d/a.yaml:3:16: a dns check needs "query" (the name to ask for, e.g. query: example.org)'],
  },
  {
    name: 'misc check without command',
    files: svc('address: 192.0.2.10:80\nreals:\n  - address: 10.0.0.1:80\n    check: { type: misc }\n'),
    issues: ['conf.d/a.yaml:4:20: a misc check needs "command" (the program and its arguments as a list)'],
  },
  {
    name: 'misc command that does not exist',
    files: svc('address: 192.0.2.10:80\ncheck:\n  type: misc\n  command: [/nonexistent/lvsd-check, --quick]\nreals:\n  - address: 10.0.0.1:80\n'),
    issues: ['conf.d/a.yaml:4:13: command: /nonexistent/lvsd-check does not exist'],
  },
  {
    name: 'notify command that does not exist (service level)',
    files: svc('address: 192.0.2.10:80\nnotify:\n  quorum_down: [/nonexistent/lvsd-page, critical]\nreals: []\n'),
    issues: ['conf.d/a.yaml:3:16: command: /nonexistent/lvsd-page does not exist'],
  },
  {
    name: 'notify: unknown event and an empty argv',
    files: svc('address: 192.0.2.10:80\nnotify:\n  real_upp: [/bin/true]\n  sorry_on: []\nreals: []\n'),
    issues: [
      'conf.d/a.yaml:3:3: unknown key "real_upp" in notify (did you mean "real_up"?)',
      'conf.d/a.yaml:4:13: notify.sorry_on: needs at least 1 item',
    ],
  },
  {
    name: 'agent without a port',
    files: svc('address: 192.0.2.10:80\nagent: { interval: 2s }\nreals:\n  - address: 10.0.0.1:80\n'),
    issues: ['conf.d/a.yaml:2:8: agent: needs "port" (the TCP port the realserver\'s agent listens on)'],
  },
  {
    name: 'invalid regular expression',
    files: svc('address: 192.0.2.10:80\ncheck: { type: tcp, expect: "([" }\nreals: []\n'),
    issues: ['conf.d/a.yaml:2:29: check.expect: not a valid regular expression: Invalid regular expression: /([/: Unterminated character class'],
  },
  {
    name: 'invalid body regular expression for http',
    files: svc('address: 192.0.2.10:80\ncheck:\n  type: http\n  expect_body: "a{2,1}"\nreals: []\n'),
    issues: ['conf.d/a.yaml:4:16: check.expect_body: not a valid regular expression: Invalid regular expression: /a{2,1}/: numbers out of order in {} quantifier'],
  },
  {
    name: 'unknown escape in send',
    files: svc("address: 192.0.2.10:80\ncheck: { send: 'HELO\\q' }\nreals: []\n"),
    issues: ['conf.d/a.yaml:2:16: check.send: unknown escape "\\q" (only \\r \\n \\t \\\\ and \\xHH are understood)'],
  },
  {
    name: 'bad expect_status',
    files: svc('address: 192.0.2.10:80\ncheck:\n  type: http\n  expect_status: [200, "300-"]\nreals: []\n'),
    issues: ['conf.d/a.yaml:4:18: check.expect_status: "300-" is not a status code or range (write 200, or "200-299")'],
  },
  {
    name: 'unknown DNS record type',
    files: svc('address: 192.0.2.53:53\ncheck: { type: dns, query: example.org, query_type: AAA }\nreals: []\n'),
    issues: ['conf.d/a.yaml:2:53: check.query_type: "AAA" is not a DNS record type (one of A, AAAA, ANY, CAA, CNAME, DNAME, DNSKEY, DS, HINFO, HTTPS, MX, NAPTR, NS, PTR, SOA, SRV, SSHFP, SVCB, TLSA, TXT)'],
  },
  {
    name: 'unknown scheduler',
    files: svc('address: 192.0.2.10:80\nscheduler: wcl\nreals: []\n'),
    issues: ['conf.d/a.yaml:2:12: scheduler: must be one of rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos (any case); got "wcl"'],
  },
  {
    name: 'non-contiguous IPv4 persistence netmask',
    files: svc('address: 192.0.2.10:80\npersistence: { timeout: 300, netmask: 255.0.255.0 }\nreals: []\n'),
    issues: ['conf.d/a.yaml:2:39: persistence: netmask "255.0.255.0" is not valid here; write a dotted IPv4 netmask such as 255.255.255.0, or a prefix length 0-32'],
  },
  {
    name: 'dotted netmask on an IPv6 service',
    files: svc('address: "[2001:db8::10]:443"\npersistence:\n  timeout: 300\n  netmask: 255.255.255.0\nreals: []\n'),
    issues: ['conf.d/a.yaml:4:12: persistence: netmask "255.255.255.0" is not valid here; write a prefix length 1-128 (IPv6 services have no dotted netmask, and ipvsadm refuses 0)'],
  },
  {
    name: 'persistence timeout in fractions of a second',
    files: svc('address: 192.0.2.10:80\npersistence: { timeout: 1500ms }\nreals: []\n'),
    issues: ['conf.d/a.yaml:2:25: persistence: timeout must be a whole number of seconds (IPVS counts in seconds)'],
  },
  {
    name: 'invalid service name',
    files: svc('name: web server\naddress: 192.0.2.10:80\nreals: []\n'),
    issues: ['conf.d/a.yaml:1:7: name: a name is 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit'],
  },
  {
    name: 'a file name that cannot be a service name',
    files: { 'conf.d/my web.yaml': 'address: 192.0.2.10:80\nreals: []\n' },
    issues: ['conf.d/my web.yaml:1:1: the file name makes the service name "my web", which is not a valid name (letters, digits, ".", "_", "-"); add a "name:" key'],
  },
  {
    name: 'lvsd.yaml: unknown key, bad listen address, second document',
    files: { 'lvsd.yaml': 'listen_on: 127.0.0.1:9716\nlisten: localhost:9716\n---\nlog_level: info\n' },
    issues: [
      'lvsd.yaml:1:1: unknown key "listen_on" (did you mean "listen"?)',
      'lvsd.yaml:2:9: listen: "localhost" is not an IP address (host names are not resolved)',
      'lvsd.yaml:4:1: lvsd.yaml holds a single YAML document; remove this one (services go in conf.d/)',
    ],
  },
  {
    name: 'lvsd.yaml: wrong types and a bad log level',
    files: { 'lvsd.yaml': 'clean_stop: yes\nlog_level: verbose\nmax_concurrent_checks: 0\n' },
    issues: [
      'lvsd.yaml:1:13: clean_stop: expected true or false, got "yes"',
      'lvsd.yaml:2:12: log_level: must be one of trace, debug, info, warn, error, fatal (any case); got "verbose"',
      'lvsd.yaml:3:24: max_concurrent_checks: must be at least 1; got 0',
    ],
  },
  {
    name: 'lvsd.yaml: check_threads is a whole number from 0 to 256',
    files: { 'lvsd.yaml': 'check_threads: -1\n' },
    issues: ['lvsd.yaml:1:16: check_threads: must be at least 0; got -1'],
  },
  {
    name: 'lvsd.yaml: check_threads is not a fraction',
    files: { 'lvsd.yaml': 'check_threads: 1.5\n' },
    issues: ['lvsd.yaml:1:16: check_threads: expected a whole number, got 1.5'],
  },
  {
    name: 'regression: an HTTP path with a space is refused (was: check-config OK, then every check "invalid path")',
    files: svc('address: 192.0.2.10:80\ncheck: { type: http, path: "/health check" }\nreals:\n  - address: 10.0.0.1:80\n'),
    issues: ['conf.d/a.yaml:2:28: check.path: invalid path "/health check": must start with "/" and be printable ASCII without spaces (percent-encode the rest, e.g. %20)'],
  },
  {
    name: 'an HTTP path with characters beyond ASCII is refused (the checker writes it byte for byte)',
    files: svc('address: 192.0.2.10:80\ncheck: { type: http, path: /café }\nreals: []\n'),
    issues: ['conf.d/a.yaml:2:28: check.path: invalid path "/café": must start with "/" and be printable ASCII without spaces (percent-encode the rest, e.g. %20)'],
  },
  {
    name: 'a header value the HTTP client would refuse (beyond Latin-1)',
    files: svc('address: 192.0.2.10:80\ncheck: { type: http, headers: { X-Site: 日本 } }\nreals: []\n'),
    issues: ['conf.d/a.yaml:2:41: check.headers.X-Site: invalid value for header X-Site: control characters or characters beyond Latin-1'],
  },
  {
    name: 'a host with a line break (it is sent as the Host header)',
    files: svc('address: 192.0.2.10:80\ncheck: { type: http, host: "www.example.org\\r\\nX: y" }\nreals: []\n'),
    issues: ['conf.d/a.yaml:2:28: check.host: invalid value for header Host: control characters or characters beyond Latin-1'],
  },
  {
    name: 'a DNS query name dns-packet cannot encode (a 64-byte label)',
    files: svc(`address: 192.0.2.53:53\ncheck: { type: dns, query: ${'a'.repeat(64)}.example.org }\nreals:\n  - address: 10.0.0.1:53\n`),
    issues: [`conf.d/a.yaml:2:28: query: the name "${'a'.repeat(64)}.example.org" cannot be encoded in a DNS query (labels of 1 to 63 bytes, at most 255 bytes in all)`],
  },
  {
    name: 'a DNS query name with an empty label',
    files: svc('address: 192.0.2.53:53\ncheck: { type: dns, query: www..example.org }\nreals: []\n'),
    issues: ['conf.d/a.yaml:2:28: query: the name "www..example.org" cannot be encoded in a DNS query (empty label: two dots in a row, or a leading dot)'],
  },
  {
    name: 'regression: IPv6 persistence netmask 0 is refused (was: accepted, then ipvsadm refused it and run looped on the error)',
    files: svc('address: "[2001:db8::10]:443"\npersistence: { timeout: 300, netmask: 0 }\nreals: []\n'),
    issues: ['conf.d/a.yaml:2:39: persistence: netmask 0 is not valid here; write a prefix length 1-128 (IPv6 services have no dotted netmask, and ipvsadm refuses 0)'],
  },
];

describe('loadConfig: each mistake at its FILE:LINE:COL', () => {
  for (const c of cases) {
    it(c.name, async () => {
      assert.deepEqual(await issuesOf(await configDir(c.files)), c.issues);
    });
  }

  it('a missing conf.d names the directory', async () => {
    const dir = await configDir({}, true);
    assert.deepEqual(await issuesOf(dir), ['conf.d: directory not found (services go in conf.d/*.yaml; create it, even empty)']);
  });

  it('a misc program that is not executable', async () => {
    const dir = await configDir({});
    const script = join(dir, 'check.sh');
    await writeFile(script, '#!/bin/sh\nexit 0\n');
    await chmod(script, 0o644);
    await writeFile(join(dir, 'conf.d/a.yaml'), `address: 192.0.2.10:80\ncheck: { type: misc, command: [${script}] }\nreals:\n  - address: 10.0.0.1:80\n`);
    assert.deepEqual(await issuesOf(dir), [
      'conf.d/a.yaml:2:32: command: check.sh is not executable (chmod +x, or check the permissions of its directories)',
    ]);
  });

  it('a relative misc program is taken from the config dir', async () => {
    const dir = await configDir(svc('address: 192.0.2.10:80\ncheck: { type: misc, command: [checks/probe] }\nreals:\n  - address: 10.0.0.1:80\n'));
    assert.deepEqual(await issuesOf(dir), ['conf.d/a.yaml:2:32: command: checks/probe does not exist']);
  });

  it('a misc program name not found on PATH', async () => {
    const dir = await configDir(svc('address: 192.0.2.10:80\ncheck: { type: misc, command: [lvsd-no-such-program] }\nreals:\n  - address: 10.0.0.1:80\n'));
    const issues = await issuesOf(dir);
    assert.equal(issues.length, 1);
    assert.match(issues[0]!, /^conf\.d\/a\.yaml:2:32: command: "lvsd-no-such-program" was not found as an executable on PATH/);
  });

  it('reports all mistakes of all files: three mistakes in two files give exactly three issues', async () => {
    const dir = await configDir({
      'conf.d/10-a.yaml': 'address: 192.0.2.10:80\nreals:\n  - address: 10.0.0.1:80\n    wieght: 5\n  - address: 10.0.0.2:8080\n',
      'conf.d/20-b.yaml': 'address: 192.0.2.11:80\ncheck: { rise: 0 }\nreals:\n  - address: 10.0.0.1:80\n',
    });
    assert.deepEqual(await issuesOf(dir), [
      'conf.d/10-a.yaml:4:5: unknown key "wieght" in reals (did you mean "weight"?)',
      'conf.d/10-a.yaml:5:14: with forwarding gate the port cannot be changed: 10.0.0.2:8080 must use the service port 80 (or use forwarding: masq)',
      'conf.d/20-b.yaml:2:16: check.rise: must be at least 1; got 0',
    ]);
  });

  it('a mistake in one document does not hide those of the next document', async () => {
    const dir = await configDir(svc('address: 192.0.2.10:80\nreals: nope\n---\naddress: 192.0.2.11:80\nreals:\n  - address: 10.0.0.1:99999\n'));
    assert.deepEqual(await issuesOf(dir), [
      'conf.d/a.yaml:2:8: reals: expected a list, got "nope"',
      'conf.d/a.yaml:6:14: real address: port "99999" is not a number from 1 to 65535',
    ]);
  });

  it('a service-level mistake met once per real is reported once', async () => {
    const dir = await configDir(svc('address: 192.0.2.53:53\ncheck: { type: dns }\nreals:\n  - address: 10.0.0.1:53\n  - address: 10.0.0.2:53\n'));
    assert.equal((await issuesOf(dir)).length, 1);
  });
});

describe('loadConfig: what ldirectord and keepalived users write is accepted', () => {
  it('regression: timeout >= interval is no longer refused (ldirectord\'s sample: checktimeout=3, checkinterval=1)', async () => {
    const dir = await configDir({
      'lvsd.yaml': 'defaults:\n  check: { interval: 1s }\n',
      'conf.d/a.yaml': 'address: 192.0.2.10:80\ncheck: { timeout: 3s }\nreals:\n  - address: 10.0.0.1:80\n  - address: 10.0.0.2:80\n    check: { interval: 2s, timeout: 2s }\n',
    });
    const r = await loadConfig(dir);
    assert.ok(r.ok, r.ok ? '' : r.issues.map(formatIssue).join('\n'));
    assert.deepEqual(r.snapshot.services[0]!.reals.map((x) => [x.check.intervalMs, x.check.timeoutMs]), [[1000, 3000], [2000, 2000]]);
  });

  it('keywords in any case are normalised: protocol TCP, scheduler WLC, forwarding MASQ, type HTTP, method get, log_level INFO', async () => {
    const dir = await configDir({
      'lvsd.yaml': 'log_level: INFO\ndefaults: { scheduler: RR }\n',
      'conf.d/a.yaml': 'address: 192.0.2.10:80\nprotocol: TCP\nscheduler: WLC\nforwarding: MASQ\ncheck: { type: HTTP, method: get }\nreals:\n  - address: 10.0.0.1:8080\n---\naddress: 192.0.2.53:53\nprotocol: Udp\ncheck: { type: DNS, query: example.org, transport: TCP }\nreals: []\n',
    });
    const r = await loadConfig(dir);
    assert.ok(r.ok, r.ok ? '' : r.issues.map(formatIssue).join('\n'));
    const web = r.snapshot.services[0]!;
    const dns = r.snapshot.services[1]!;
    assert.equal(r.snapshot.global.logLevel, 'info');
    assert.ok(web.kind === 'address' && dns.kind === 'address');
    assert.deepEqual([web.protocol, web.scheduler, web.reals[0]!.forwarding, web.reals[0]!.check.type], ['tcp', 'wlc', 'masq', 'http']);
    assert.equal(web.reals[0]!.check.type === 'http' && web.reals[0]!.check.method, 'GET');
    assert.deepEqual([dns.protocol, dns.scheduler, dns.key], ['udp', 'rr', 'udp:192.0.2.53:53']);
  });
});
