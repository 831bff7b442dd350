// ldirectord's checktype/service pairs mapped to lvsd checks: the native check where one exists,
// else the nearest one and a warning saying what differs and what to write instead.

import type { OutMap, OutValue } from './model.js';
import { isRegex, literalRegex, sendText, splitCommand } from './common.js';

export interface LdCheckSettings {
  readonly checktype: string;
  readonly service: string;
  readonly protocol: string;
  readonly request: string | undefined;
  readonly receive: string | undefined;
  readonly virtualhost: string | undefined;
  readonly httpmethod: string | undefined;
  readonly login: string | undefined;
  readonly passwd: string | undefined;
  readonly checkcommand: string | undefined;
}

/** A message about one directive (its line is looked up by the caller). */
export interface LdCheckWarning {
  readonly directive: string;
  readonly message: string;
}

export interface LdCheck {
  /** The check without timing; null for checktype=off (no real is ever added). */
  readonly check: OutMap | null;
  /** Which ldirectord timeout applies: negotiatetimeout or checktimeout. */
  readonly negotiate: boolean;
  readonly warnings: LdCheckWarning[];
  /** external checks take the real's address in argv. */
  readonly externalArgv: readonly string[] | null;
}

/** The service ldirectord assumes from the virtual port when `service` is absent. */
export const DEFAULT_SERVICE_BY_PORT: Readonly<Record<number, string>> = {
  21: 'ftp', 25: 'smtp', 53: 'dns', 80: 'http', 110: 'pop', 119: 'nntp', 143: 'imap', 389: 'ldap', 443: 'https',
  587: 'submission', 636: 'ldaps', 993: 'imaps', 995: 'pops', 1521: 'oracle', 1812: 'radius', 3128: 'http_proxy',
  3306: 'mysql', 5432: 'pgsql', 5060: 'sip',
};

export const SERVICES = [
  'dns', 'ftp', 'http', 'https', 'http_proxy', 'imap', 'imaps', 'ldap', 'ldaps', 'mysql', 'nntp', 'none', 'oracle',
  'pgsql', 'pop', 'pops', 'radius', 'simpletcp', 'sip', 'smtp', 'submission',
] as const;

type Step = { send?: string; expect?: string };

/** A TCP conversation as lvsd's `dialogue`. */
function dialogue(steps: Step[]): OutMap {
  return { type: 'tcp', dialogue: steps.map((s) => { const o: OutMap = {}; if (s.send !== undefined) o.send = s.send; if (s.expect !== undefined) o.expect = s.expect; return o; }) };
}

/** checktype=connect: a TCP connect, or on a UDP service an ICMP ping as in ldirectord. */
function connect(protocol: string): OutMap {
  return protocol === 'udp' ? { type: 'ping' } : { type: 'tcp' };
}

export function mapLdirectordCheck(s: LdCheckSettings): LdCheck {
  const warnings: LdCheckWarning[] = [];
  const ct = s.checktype;
  if (ct === 'off') {
    warnings.push({ directive: 'checktype', message: 'checktype=off never adds a real or fallback server; the reals are left out of this service (listed as comments)' });
    return { check: null, negotiate: false, warnings, externalArgv: null };
  }
  if (ct === 'on') return { check: { type: 'none' }, negotiate: false, warnings, externalArgv: null };
  if (ct === 'connect') {
    return { check: connect(s.protocol), negotiate: false, warnings, externalArgv: null };
  }
  if (ct === 'ping') return { check: { type: 'ping' }, negotiate: false, warnings, externalArgv: null };
  if (ct === 'external' || ct === 'external-perl') {
    const base = splitCommand(s.checkcommand ?? '/bin/true');
    const argv = ct === 'external-perl' ? ['/usr/bin/perl', ...base] : base;
    if (ct === 'external-perl') {
      warnings.push({ directive: 'checktype', message: 'checktype=external-perl: lvsd runs the script with /usr/bin/perl as a separate process (same arguments and exit codes)' });
    }
    return { check: { type: 'misc' }, negotiate: false, warnings, externalArgv: argv };
  }
  if (/^\d+$/.test(ct)) {
    warnings.push({
      directive: 'checktype',
      message: `checktype=${ct} (a negotiate check after every ${ct} connect checks): lvsd runs the negotiate check every time; raise check.interval if it is costly`,
    });
  }
  return { ...negotiateCheck(s, warnings), negotiate: true, warnings, externalArgv: null };
}

function negotiateCheck(s: LdCheckSettings, warnings: LdCheckWarning[]): { check: OutMap } {
  const w = (directive: string, message: string): void => void warnings.push({ directive, message });
  const login = s.login ?? '';
  switch (s.service) {
    case 'none':
      return { check: { type: 'none' } };
    case 'http':
    case 'https':
      return { check: httpCheck(s, w) };
    case 'http_proxy':
      w('service', 'service=http_proxy (a request for an absolute URL through the real as a proxy) has no lvsd equivalent: a TCP connect check is used; write a misc check (e.g. curl --proxy) for the full test');
      return { check: { type: 'tcp' } };
    case 'dns': {
      const query = (s.request ?? '').replace(/^\//, '');
      const c: OutMap = { type: 'dns' };
      if (query === '') {
        w('request', 'service=dns without request: querying "." (set check.query to a name the servers answer)');
        c.query = '.';
      } else if (/^[\d.]+$/.test(query) || query.includes(':')) {
        c.query = reverseName(query);
        c.query_type = 'PTR';
      } else {
        c.query = query;
        c.query_type = 'A';
      }
      if (s.receive) addRegex(c, 'expect_answer', s.receive, 'receive', w);
      return { check: c };
    }
    case 'smtp':
    case 'submission':
      return { check: dialogue([{ expect: '^220' }, { send: 'EHLO lvsd\\r\\n', expect: '^250' }, { send: 'QUIT\\r\\n', expect: '^221' }]) };
    case 'pop': {
      const steps: Step[] = [{ expect: '^\\+OK' }];
      if (login !== '') steps.push({ send: `${sendText(`USER ${login}`)}\\r\\n`, expect: '^\\+OK' }, { send: `${sendText(`PASS ${s.passwd ?? ''}`)}\\r\\n`, expect: '^\\+OK' });
      steps.push({ send: 'QUIT\\r\\n', expect: '^\\+OK' });
      return { check: dialogue(steps) };
    }
    case 'imap': {
      const steps: Step[] = [{ expect: '^\\* OK' }];
      if (login !== '') steps.push({ send: `${sendText(`a1 LOGIN ${login} ${s.passwd ?? ''}`)}\\r\\n`, expect: '^a1 OK' });
      steps.push({ send: 'a2 LOGOUT\\r\\n', expect: '^\\* BYE' });
      return { check: dialogue(steps) };
    }
    case 'ftp': {
      const user = login === '' ? 'anonymous' : login;
      const pass = s.passwd ?? 'ldirectord@localhost';
      const steps: Step[] = [
        { expect: '^220' },
        { send: `${sendText(`USER ${user}`)}\\r\\n`, expect: '^(331|230)' },
        { send: `${sendText(`PASS ${pass}`)}\\r\\n`, expect: '^230' },
        { send: 'QUIT\\r\\n', expect: '^221' },
      ];
      if (s.request) w('request', `service=ftp: ldirectord also downloads "${s.request.replace(/^\//, '')}" and matches receive; lvsd logs in and out only (write a misc check with curl for the download)`);
      return { check: dialogue(steps) };
    }
    case 'nntp':
      return { check: { type: 'tcp', expect: '^2' } };
    case 'simpletcp': {
      const c: OutMap = { type: 'tcp' };
      const req = (s.request ?? '').replace(/^\//, '');
      // ldirectord sends the request verbatim, turning the two characters \n into a new line.
      if (req !== '') c.send = req.replace(/\\(?!n)/g, '\\\\');
      if (s.receive) addRegex(c, 'expect', s.receive, 'receive', w);
      return { check: c };
    }
    case 'pops':
    case 'imaps':
    case 'ldaps':
      w('service', `service=${s.service} (a TLS ${s.service.slice(0, -1).toUpperCase()} login) has no lvsd equivalent: a TCP connect check is used; write a misc check for the TLS handshake and login`);
      return { check: { type: 'tcp' } };
    case 'ldap':
    case 'mysql':
    case 'pgsql':
    case 'oracle':
      w('service', `service=${s.service} (a ${s.service} login${s.request ? ' and query' : ''}) has no lvsd equivalent: a TCP connect check is used; write a misc check running the client (e.g. ${clientHint(s.service)}) for the full test`);
      return { check: { type: 'tcp' } };
    case 'radius':
    case 'sip':
      w('service', `service=${s.service} (an ${s.service === 'sip' ? 'OPTIONS request' : 'Access-Request'}) is checked as UDP without a reply test: up unless the port answers unreachable; write a misc check for the full test`);
      return { check: s.service === 'sip' ? { type: 'udp', send: 'OPTIONS sip:lvsd SIP/2.0\\r\\n\\r\\n' } : { type: 'udp' } };
    default:
      w('service', `service=${s.service} is not an ldirectord service; the reals are not checked (type: none)`);
      return { check: { type: 'none' } };
  }
}

function clientHint(service: string): string {
  return service === 'mysql' ? 'mysql -e "SELECT 1"' : service === 'pgsql' ? 'psql -c "SELECT 1"' : service === 'ldap' ? 'ldapsearch' : 'sqlplus';
}

function httpCheck(s: LdCheckSettings, w: (d: string, m: string) => void): OutMap {
  const c: OutMap = { type: s.service };
  const method = (s.httpmethod ?? 'GET').toUpperCase();
  let path = s.request ?? '/';
  const url = /^https?:\/\/([^/]+)(\/.*)?$/i.exec(path.replace(/^\//, ''));
  if (url) {
    w('request', `request=${path.replace(/^\//, '')}: ldirectord connects to the host of that URL; lvsd connects to each real and sends Host: ${url[1]}`);
    path = url[2] ?? '/';
    if (s.virtualhost === undefined) c.host = url[1]!.replace(/:\d+$/, '');
  }
  if (!path.startsWith('/')) path = `/${path}`;
  c.path = path;
  if (method !== 'GET') c.method = method === 'HEAD' ? 'HEAD' : 'GET';
  if (method !== 'GET' && method !== 'HEAD') w('httpmethod', `httpmethod=${method} is not GET or HEAD; lvsd uses GET`);
  if (s.virtualhost !== undefined) c.host = s.virtualhost;
  // LWP's is_success: any 2xx.
  c.expect_status = '200-299';
  if (s.receive) {
    if (method === 'HEAD') w('receive', 'receive with httpmethod=HEAD can never match (a HEAD response has no body); it is left out');
    else addRegex(c, 'expect_body', s.receive, 'receive', w);
  }
  if (s.service === 'https') c.tls_verify = false;
  return c;
}

function addRegex(c: OutMap, key: string, re: string, directive: string, w: (d: string, m: string) => void): void {
  if (isRegex(re)) c[key] = re;
  else {
    w(directive, `${directive}="${re}" is not a regular expression JavaScript accepts; matched literally instead`);
    c[key] = literalRegex(re);
  }
}

/** 192.0.2.1 → 1.2.0.192.in-addr.arpa (ldirectord's Net::DNS search does the same for an address). */
function reverseName(ip: string): string {
  if (!ip.includes(':')) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  const full = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  const groups = full.split('::');
  const head = groups[0] ? groups[0].split(':') : [];
  const tail = groups.length > 1 && groups[1] ? groups[1].split(':') : [];
  const all = [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail].map((g: string) => g.padStart(4, '0'));
  return `${all.join('').split('').reverse().join('.')}.ip6.arpa`;
}

export type { OutValue };
