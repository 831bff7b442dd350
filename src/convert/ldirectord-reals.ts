// ldirectord.cf `real=` and `real6=` lines → lvsd reals: one address or an IPv4 range A->B, the
// forwarding method and its port rule, the weight, and the per-real request/receive pair as a
// check override (ldirectord's own parsing, from its Perl code).

import { isIPv4 } from 'node:net';
import type { OutMap } from './model.js';
import type { CfLine } from './ldirectord-parse.js';
import { fields, parsePort, unquote } from './ldirectord-parse.js';
import type { mapLdirectordCheck } from './ldirectord-checks.js';
import { familyOf, endpointText } from './common.js';
import type { DocBuilder } from './common.js';

const FORWARDING: Readonly<Record<string, string>> = { gate: 'gate', masq: 'masq', ipip: 'ipip' };
const RANGE_LIMIT = 4096;

/** ldirectord's request is a path with or without its leading slash. */
export function normaliseRequest(r: string): string {
  return r.startsWith('/') ? r : `/${r}`;
}

/** gate and ipip cannot change the port: IPVS uses the virtual's, as ldirectord(8) says. */
export function portFor(method: string, realPort: number, vport: number): number {
  return method === 'masq' && realPort !== 0 ? realPort : vport;
}

export interface Dest {
  host: string;
  port: number;
  method: string;
}

export function parseDest(text: string, v6: boolean, defaultPort: number): Dest | null {
  const f = fields(text);
  const spec = f[0]?.text ?? '';
  const method = (f[1]?.text ?? 'gate').toLowerCase();
  if (!FORWARDING[method]) return null;
  const m = v6 ? /^\[([^\]]+)\](?::(\S+))?$/.exec(spec) : /^([^:]+)(?::(\S+))?$/.exec(spec);
  if (!m) return null;
  const port = m[2] === undefined ? defaultPort : parsePort(m[2]);
  if (port === null) return null;
  return { host: m[1]!, port, method };
}

export interface RealCtx {
  file: string;
  fwmark: number | undefined;
  port: number;
  v6: boolean;
  doc: DocBuilder;
  mapped: ReturnType<typeof mapLdirectordCheck>;
  host: string | undefined;
  service: string;
  realsSoFar: number;
}

export async function convertReal(l: CfLine, ctx: RealCtx): Promise<{ reals: OutMap[] } | { error: { file: string; line: number; col: number; message: string } }> {
  const err = (message: string, col = l.valueCol) => ({ error: { file: ctx.file, line: l.line, col, message } });
  const f = fields(l.raw);
  const spec = f[0];
  if (!spec) return err('real needs an address: real=IP[:PORT] gate|masq|ipip [WEIGHT]');
  const is6 = l.key === 'real6';
  const m = is6 ? /^\[([^\]]+)\](?:->\[([^\]]+)\])?(?::(\S+))?$/.exec(spec.text) : /^([^:>-]+(?:-(?!>)[^:>-]*)*)(?:->([^:]+))?(?::(\S+))?$/.exec(spec.text);
  if (!m) return err(is6 ? 'real6 takes [IPv6][:PORT]' : `"${spec.text}" is not IP[->IP][:PORT]`, l.valueCol + spec.col);
  const from = m[1]!;
  const to = m[2];
  let rport = 0;
  if (m[3] !== undefined) {
    const p = parsePort(m[3]);
    if (p === null) return err(`"${m[3]}" is not a port number or a known service name`, l.valueCol + spec.col + spec.text.lastIndexOf(':') + 1);
    rport = p;
  }
  const methodField = f[1] && !f[1].quoted ? f[1] : undefined;
  const method = methodField ? methodField.text.toLowerCase() : 'gate';
  if (!FORWARDING[method]) return err(`"${methodField!.text}" is not gate, masq or ipip`, l.valueCol + methodField!.col);
  let next = methodField ? 2 : 1;
  let weight = 1;
  if (f[next] && !f[next]!.quoted && /^\d+$/.test(f[next]!.text)) {
    weight = Number(f[next]!.text);
    next++;
  }
  const quoted = f.slice(next).filter((x) => x.quoted).map((x) => x.text);
  const thresholds = quoted.filter((q) => /^[<>]?[lu]:/.test(q) || /^\d+:\d+$/.test(q));
  const rr = quoted.filter((q) => !thresholds.includes(q));
  const path = `reals.${ctx.realsSoFar}`;

  // ldirectord resolves what is not an address; four dotted numbers that are not one (192.168.1.312)
  // resolve to nothing, and ldirectord refuses the file: "invalid address ... (could not resolve host)".
  for (const [h, at] of [[from, 0], [to, spec.text.indexOf('->') + 2]] as const) {
    if (h !== undefined && /^\d+\.\d+\.\d+\.\d+$/.test(h) && familyOf(h) === null) {
      return err(`invalid address (${h}) for real server: not an IPv4 address (ldirectord refuses the file: "could not resolve host")`, l.valueCol + spec.col + at);
    }
  }
  // Addresses: one, or an IPv4 range "a->b".
  let hosts: string[];
  if (familyOf(from) === null || (to !== undefined && familyOf(to) === null)) {
    ctx.doc.warn(l.line, 'reals', `real=${spec.text}: host names are not resolved by lvsd; this real is left out (write its address${to ? 'es' : ''})`);
    return { reals: [] };
  }
  if (to !== undefined) {
    if (!isIPv4(from) || !isIPv4(to)) return err('address ranges (A->B) are IPv4 only', l.valueCol + spec.col);
    const a = ipv4ToInt(from);
    const b = ipv4ToInt(to);
    if (b < a) return err(`range ${from}->${to} ends before it starts`, l.valueCol + spec.col);
    if (b - a >= RANGE_LIMIT) return err(`range ${from}->${to} holds ${b - a + 1} addresses (at most ${RANGE_LIMIT})`, l.valueCol + spec.col);
    hosts = [];
    for (let n = a; n <= b; n++) hosts.push(intToIpv4(n));
  } else {
    hosts = [from];
  }
  if ((familyOf(from) === 6) !== is6) return err(is6 ? 'real6 needs an IPv6 address in brackets' : 'an IPv6 real is written real6=[ADDRESS]:PORT', l.valueCol + spec.col);

  let port = rport;
  if (ctx.fwmark === undefined) {
    port = portFor(method, rport, ctx.port);
    if (rport !== 0 && port !== rport) ctx.doc.comment(path, `real ${spec.text} ${method}: IPVS uses the virtual's port ${ctx.port} (as ldirectord does)`);
  }
  const out: OutMap[] = [];
  for (const h of hosts) {
    const real: OutMap = { address: endpointText(h, port) };
    if (weight !== 1) real.weight = weight;
    if (method !== 'gate') real.forwarding = method;
    const override = realCheck(rr, ctx, l, path);
    if (ctx.mapped.externalArgv) {
      const vs = ctx.fwmark !== undefined ? String(ctx.fwmark) : ctx.host!;
      override.command = [...ctx.mapped.externalArgv, vs, String(ctx.port), h, String(port)];
    }
    if (Object.keys(override).length > 0) real.check = override;
    out.push(real);
  }
  if (thresholds.length > 0) ctx.doc.warn(l.line, path, `connection thresholds ${thresholds.map((t) => `"${t}"`).join(' ')} are not supported by lvsd (no -x/-y); left out`);
  return { reals: out };
}

function realCheck(rr: readonly string[], ctx: RealCtx, l: CfLine, path: string): OutMap {
  const o: OutMap = {};
  if (rr.length === 0) return o;
  const [request, receive] = rr;
  const type = ctx.mapped.check?.type;
  if (type === 'http' || type === 'https') {
    if (request !== undefined) o.path = normaliseRequest(unquote(request));
    if (receive !== undefined) o.expect_body = receive;
  } else if (type === 'dns') {
    if (request !== undefined) o.query = request.replace(/^\//, '');
    if (receive !== undefined) o.expect_answer = receive;
  } else if (type === 'tcp' && ctx.service === 'simpletcp') {
    if (request !== undefined) o.send = request.replace(/\\(?!n)/g, '\\\\');
    if (receive !== undefined) o.expect = receive;
  } else {
    ctx.doc.warn(l.line, path, `the per-real request/receive pair is not used by a ${String(type)} check; left out`);
  }
  return o;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}
