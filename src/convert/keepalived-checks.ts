// keepalived checkers (HTTP_GET, SSL_GET, TCP_CHECK, SMTP_CHECK, DNS_CHECK, MISC_CHECK, UDP_CHECK,
// PING_CHECK, FILE_CHECK, BFD_CHECK) of one real_server mapped to lvsd checks.

import type { OutMap } from './model.js';
import type { KNode } from './keepalived-parse.js';
import { commandProblem, timing, isRegex, literalRegex, splitCommand, statusText } from './common.js';
import { mark } from './ledger.js';

export interface Inherited {
  /** Values set on the virtual_server or real_server that checkers inherit. */
  readonly delayLoopMs: number | null;
  readonly connectTimeoutMs: number | null;
  readonly retry: number | null;
  readonly delayBeforeRetryMs: number | null;
  readonly virtualhost: string | null;
}

export interface Warn {
  (node: KNode, message: string): void;
}

export const CHECKERS = ['HTTP_GET', 'SSL_GET', 'TCP_CHECK', 'SMTP_CHECK', 'DNS_CHECK', 'MISC_CHECK', 'UDP_CHECK', 'PING_CHECK', 'FILE_CHECK', 'BFD_CHECK'];

/** keepalived TIMER values: seconds, with fractions. */
export function timerMs(text: string | undefined): number | null {
  if (text === undefined || !/^\d+(\.\d+)?$/.test(text)) return null;
  return Math.round(Number(text) * 1000);
}

/** The last `keyword` inside `node` (keepalived applies each in turn; the last wins); all are read. */
function child(node: KNode, keyword: string): KNode | undefined {
  const all = (node.children ?? []).filter((c) => c.keyword === keyword);
  for (const c of all) mark(c, 'mapped');
  return all.at(-1);
}

/** The keywords of each checker besides the generic ones (keepalived's check_*.c install_keyword). */
const OWN: Readonly<Record<string, readonly string[]>> = {
  TCP_CHECK: [],
  HTTP_GET: ['url', 'http_protocol', 'fast_recovery', 'enable_sni', 'virtualhost'],
  SSL_GET: ['url', 'http_protocol', 'fast_recovery', 'enable_sni', 'virtualhost'],
  SMTP_CHECK: ['helo_name', 'host'],
  DNS_CHECK: ['type', 'name'],
  MISC_CHECK: ['misc_path', 'misc_timeout', 'misc_dynamic', 'user'],
  UDP_CHECK: ['payload', 'require_reply', 'min_reply_length', 'max_reply_length'],
  PING_CHECK: [],
};
const URL_KEYS = ['path', 'digest', 'status_code', 'virtualhost', 'regex', 'regex_no_match', 'regex_options', 'regex_stack', 'regex_min_offset', 'regex_max_offset'];

export function inherit(base: Inherited, node: KNode): Inherited {
  const v = (k: string): string | undefined => child(node, k)?.args[0];
  return {
    delayLoopMs: timerMs(v('delay_loop')) ?? base.delayLoopMs,
    connectTimeoutMs: timerMs(v('connect_timeout')) ?? base.connectTimeoutMs,
    retry: v('retry') ?? v('nb_get_retry') ? Number(v('retry') ?? v('nb_get_retry')) : base.retry,
    delayBeforeRetryMs: timerMs(v('delay_before_retry')) ?? base.delayBeforeRetryMs,
    virtualhost: v('virtualhost') ?? base.virtualhost,
  };
}

const GENERIC = new Set([
  'connect_ip', 'connect_port', 'bindto', 'bind_if', 'bind_port', 'fwmark', 'alpha', 'connect_timeout', 'retry', 'nb_get_retry',
  'delay_before_retry', 'warmup', 'delay_loop', 'log_all_failures',
]);

export async function mapChecker(
  node: KNode,
  inh0: Inherited,
  real: { host: string; port: number },
  warn: Warn,
  note: Warn,
  missing: Set<string>,
): Promise<OutMap | null> {
  const out = await mapCheckerBody(node, inh0, real, warn, note, missing);
  // A keyword no checker of keepalived has: keepalived logs "unknown keyword" and goes on.
  const own = OWN[node.keyword];
  if (own) {
    for (const o of node.children ?? []) {
      if (!GENERIC.has(o.keyword) && !own.includes(o.keyword)) warn(o, `${o.keyword} is not a ${node.keyword} keyword of keepalived.conf(5) 2.x; keepalived ignores it, and so does lvsd convert`);
      if (o.keyword === 'url') for (const u of o.children ?? []) if (!URL_KEYS.includes(u.keyword)) warn(u, `${u.keyword} is not a url keyword of keepalived.conf(5) 2.x; keepalived ignores it, and so does lvsd convert`);
    }
  }
  return out;
}

async function mapCheckerBody(
  node: KNode,
  inh0: Inherited,
  real: { host: string; port: number },
  warn: Warn,
  note: Warn,
  missing: Set<string>,
): Promise<OutMap | null> {
  const kind = node.keyword;
  const inh = inherit(inh0, node);
  const opts = node.children ?? [];
  const c: OutMap = {};
  // --- generic options ---------------------------------------------------------------------
  for (const o of opts) {
    if (!GENERIC.has(o.keyword)) continue;
    mark(o, 'mapped');
    if (o.keyword === 'connect_ip' && o.args[0] !== real.host) warn(o, `connect_ip ${o.args[0]}: lvsd checks the real's own address ${real.host}; add a separate real or a misc check for another address`);
    if (o.keyword === 'connect_port') c.port = Number(o.args[0]);
    if (['bindto', 'bind_if', 'bind_port', 'fwmark'].includes(o.keyword)) warn(o, `${o.keyword} is not supported by lvsd checks (they use the director's default source); left out`);
    if (o.keyword === 'warmup') note(o, 'warmup: lvsd spreads the first checks with its own jitter');
    if (o.keyword === 'log_all_failures') note(o, 'log_all_failures: lvsd logs every state change and keeps the last failure reason in lvsd status');
  }
  const intervalMs = inh.delayLoopMs ?? 60_000;
  const misc = kind === 'MISC_CHECK';
  const timeoutWritten = misc ? timerMs(child(node, 'misc_timeout')?.args[0]) : inh.connectTimeoutMs;
  const defaultTimeout = misc ? intervalMs : 5000;
  const retry = inh.retry ?? (kind === 'MISC_CHECK' ? 0 : kind === 'DNS_CHECK' ? 3 : 1);
  Object.assign(c, timing(intervalMs, timeoutWritten ?? defaultTimeout));
  c.rise = 1;
  c.fall = retry + 1;
  if (retry > 0) {
    const dbr = inh.delayBeforeRetryMs ?? (kind === 'DNS_CHECK' ? intervalMs : kind === 'HTTP_GET' || kind === 'SSL_GET' ? 3000 : 1000);
    if (dbr !== intervalMs) {
      note(node, `retry ${retry}: keepalived retries ${dbr / 1000}s apart (delay_before_retry); lvsd counts ${retry + 1} failed checks ${intervalMs / 1000}s apart (check.fall), so a dead real leaves after ${((retry + 1) * intervalMs) / 1000}s instead of about ${(intervalMs + retry * dbr) / 1000}s`);
    }
  }

  switch (kind) {
    case 'TCP_CHECK':
      return { type: 'tcp', ...c };
    case 'HTTP_GET':
    case 'SSL_GET':
      return http(node, kind === 'SSL_GET' ? 'https' : 'http', c, inh, warn, note);
    case 'SMTP_CHECK': {
      const helo = child(node, 'helo_name')?.args[0] ?? 'smtpchecker.keepalived.org';
      for (const h of opts.filter((o) => o.keyword === 'host')) warn(h, 'SMTP_CHECK host { } blocks (several SMTP servers in one checker) are not supported; the real itself is checked');
      return { type: 'tcp', ...c, dialogue: [{ expect: '^220' }, { send: `HELO ${helo.replace(/\\/g, '\\\\')}\\r\\n`, expect: '^250' }, { send: 'QUIT\\r\\n', expect: '^221' }] };
    }
    case 'DNS_CHECK': {
      const d: OutMap = { type: 'dns', ...c, query: child(node, 'name')?.args[0] ?? '.', query_type: (child(node, 'type')?.args[0] ?? 'SOA').toUpperCase(), transport: 'udp' };
      return d;
    }
    case 'MISC_CHECK': {
      const pathNode = child(node, 'misc_path');
      const argv = splitCommand(pathNode?.args.join(' ') ?? '');
      if (argv.length === 0) {
        warn(node, 'MISC_CHECK without misc_path: nothing to run; the real is not checked (type: none)');
        return { type: 'none', interval: c.interval! };
      }
      const user = child(node, 'user');
      if (user) warn(user, `user ${user.args.join(' ')}: lvsd runs checks as its own user; make the script work as that user (or wrap it with setpriv/runuser)`);
      const problem = await commandProblem(argv);
      if (problem) {
        // Written as it is: the director is where it must run, and check-config there says so.
        warn(pathNode ?? node, `misc_path: ${problem} on this machine; written as it is: install it on the director before lvsd starts (check-config there refuses the check until then)`);
        missing.add(argv[0]!);
      }
      const m: OutMap = { type: 'misc', ...c, command: argv };
      delete m.port;
      if (child(node, 'misc_dynamic')) m.dynamic_weight = true;
      return m;
    }
    case 'UDP_CHECK': {
      const u: OutMap = { type: 'udp', ...c };
      const payload = child(node, 'payload')?.args.join(' ');
      if (payload) u.send = hexToEscapes(payload);
      else note(node, 'UDP_CHECK without payload: keepalived sends random bytes, lvsd an empty datagram');
      const rr = child(node, 'require_reply');
      if (rr) u.expect = rr.args.length > 0 ? hexToRegex(rr.args.join(' ')) : '[\\s\\S]';
      for (const k of ['min_reply_length', 'max_reply_length']) {
        const n = child(node, k);
        if (n) warn(n, `${k} is not supported by lvsd's UDP check; left out`);
      }
      return u;
    }
    case 'PING_CHECK':
      return { type: 'ping', ...withoutPort(c) };
    case 'FILE_CHECK':
      warn(node, `FILE_CHECK (track_file ${child(node, 'track_file')?.args[0] ?? '?'}) is not supported: put the real in maintenance with "lvsd drain"/"lvsd disable" instead; left out`);
      return null;
    case 'BFD_CHECK':
      warn(node, 'BFD_CHECK is not supported by lvsd; left out');
      return null;
    default:
      return null;
  }
}

function withoutPort(c: OutMap): OutMap {
  const { port: _p, ...rest } = c;
  return rest;
}

async function http(node: KNode, type: string, c: OutMap, inh: Inherited, warn: Warn, note: Warn): Promise<OutMap> {
  const out: OutMap = { type, ...c };
  if (type === 'https') out.tls_verify = false;
  const checkerHost = child(node, 'virtualhost')?.args[0] ?? inh.virtualhost;
  for (const o of node.children ?? []) {
    if (o.keyword === 'virtualhost') mark(o, 'mapped');
    if (o.keyword === 'http_protocol') note(o, `http_protocol ${o.args[0]}: lvsd speaks HTTP/1.1 with Connection: close`);
    if (o.keyword === 'fast_recovery') note(o, 'fast_recovery: lvsd checks every URL of a check in each round');
    if (o.keyword === 'enable_sni') note(o, 'enable_sni: lvsd sends SNI when check.host is set');
  }
  const urls = (node.children ?? []).filter((u) => u.keyword === 'url');
  for (const u of urls) mark(u, 'mapped');
  if (urls.length === 0) {
    out.path = '/';
    out.expect_status = '200-299';
    if (checkerHost) out.host = checkerHost;
    return out;
  }
  const mapped = urls.map((u) => mapUrl(u, warn));
  const hosts = new Set(urls.map((u) => child(u, 'virtualhost')?.args[0] ?? checkerHost ?? ''));
  const host = [...hosts][0];
  if (hosts.size > 1) warn(urls[1]!, `the url blocks use different virtualhost values; lvsd sends one Host per check: ${host || 'the real address'}`);
  if (host) out.host = host;
  if (urls.length === 1) {
    Object.assign(out, mapped[0]);
    return out;
  }
  out.urls = mapped;
  return out;
}

function mapUrl(u: KNode, warn: Warn): OutMap {
  const o: OutMap = { path: child(u, 'path')?.args[0] ?? '/' };
  const status = child(u, 'status_code');
  if (status) {
    const ranges = status.args.map((a) => /^(\d{3})(?:-(\d{3}))?$/.exec(a)).filter((m): m is RegExpExecArray => m !== null);
    if (ranges.length !== status.args.length) warn(status, `status_code ${status.args.join(' ')}: only codes and LO-HI ranges are understood; the others are left out`);
    const list = ranges.map((m) => statusText(Number(m[1]), Number(m[2] ?? m[1])));
    o.expect_status = list.length === 1 ? list[0]! : list.length === 0 ? '200-299' : list;
  } else {
    o.expect_status = '200-299';
  }
  const digest = child(u, 'digest');
  if (digest) o.expect_digest = digest.args[0]!.toLowerCase();
  const regex = child(u, 'regex');
  if (regex) {
    const re = regex.args.join(' ');
    if (child(u, 'regex_no_match')) warn(regex, 'regex_no_match (fail when the body matches) is not supported; the regex is left out');
    else o.expect_body = isRegex(re) ? re : literalRegex(re);
    const ro = child(u, 'regex_options');
    if (ro) warn(ro, `regex_options ${ro.args.join(' ')}: lvsd uses JavaScript regular expressions without options; write them into the regex`);
  }
  for (const k of ['regex_stack', 'regex_min_offset', 'regex_max_offset']) {
    const n = child(u, k);
    if (n) warn(n, `${k} is not supported; the whole body is searched`);
  }
  return o;
}

/** keepalived's free-form hex ("Ab12f 3": each digit group a byte) to bytes. */
function hexToBytes(hex: string): number[] {
  // Blank-separated groups; two digits a byte, an odd last digit a byte of its own ("3" = 03).
  const bytes: number[] = [];
  for (const group of hex.trim().split(/\s+/).filter(Boolean)) {
    for (let i = 0; i < group.length; i += 2) bytes.push(parseInt(group.slice(i, i + 2).replace(/x/gi, '0'), 16));
  }
  return bytes;
}

function hexToEscapes(hex: string): string {
  // lvsd's send decodes \xHH to one byte; printable ASCII stays readable.
  return hexToBytes(hex).map((b) => (b === 0x5c ? '\\\\' : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
}

function hexToRegex(hex: string): string {
  // Per byte; a nibble written X matches anything.
  let re = '^';
  for (const group of hex.trim().split(/\s+/).filter(Boolean)) {
    for (let i = 0; i < group.length; i += 2) {
      const pair = group.slice(i, i + 2).padStart(2, '0');
      re += byteClass(pair);
    }
  }
  return re;
}

/** One byte of require_reply as a regex: "0a" exactly, "XB" any high nibble, "XX" anything. */
function byteClass(pair: string): string {
  const hex = (n: number): string => `\\x${n.toString(16).padStart(2, '0')}`;
  const [hi, lo] = [pair[0]!, pair[1]!];
  const his = /x/i.test(hi) ? [...Array(16).keys()] : [parseInt(hi, 16)];
  const los = /x/i.test(lo) ? [...Array(16).keys()] : [parseInt(lo, 16)];
  if (his.length * los.length === 256) return '[\\s\\S]';
  const all = his.flatMap((h) => los.map((l) => h * 16 + l));
  return all.length === 1 ? hex(all[0]!) : `[${all.map(hex).join('')}]`;
}
