// keepalived.conf → lvsd: one service per virtual_server (per entry of its virtual_server_group),
// reals with their checkers (keepalived-checks.ts); VRRP and global_defs are noted, not converted.

import { isIPv4 } from 'node:net';
import type { Capabilities } from './capabilities.js';
import type { ConvertResult, OutMap, OutService, ParseError } from './model.js';
import type { KNode } from './keepalived-parse.js';
import { parseKeepalived } from './keepalived-parse.js';
import type { Inherited } from './keepalived-checks.js';
import { CHECKERS, inherit, mapChecker } from './keepalived-checks.js';
import { Diagnostics, DocBuilder, commandProblem, endpointText, familyOf, serviceNameFor, splitCommand, uniqueName } from './common.js';
import { SCHEDULERS } from '../config/schema.js';
import { ALERT_RULES_HINT } from './ldirectord.js';

const METHODS: Readonly<Record<string, string>> = { NAT: 'masq', DR: 'gate', TUN: 'ipip' };
const SCHED_FLAGS = ['flag-1', 'flag-2', 'flag-3', 'sh-port', 'sh-fallback', 'mh-port', 'mh-fallback', 'ops', 'hashed'];
const GROUP_LIMIT = 4096;

interface Vip {
  fwmark?: number;
  host?: string;
  port: number;
}

export async function convertKeepalived(file: string, text: string, caps: Capabilities): Promise<ConvertResult> {
  const parsed = parseKeepalived(file, text);
  if (parsed.errors.length > 0) return { ok: false, format: 'keepalived', errors: parsed.errors };
  const diags = new Diagnostics();
  const global = new DocBuilder(diags, file);
  for (const n of parsed.notes) {
    diags.add('note', n.file, n.line, n.message);
    global.comment('', `note: ${n.message} [${n.file}:${n.line}]`);
  }
  const errors: ParseError[] = [];
  const groups = new Map<string, KNode>();
  for (const n of parsed.nodes) if (n.keyword === 'virtual_server_group' && n.args[0]) groups.set(n.args[0], n);

  const services: OutService[] = [];
  const names = new Set<string>();
  const keys = new Map<string, string>();
  for (const n of parsed.nodes) {
    const where = `${n.file}:${n.line}`;
    if (n.keyword === 'virtual_server') {
      const vips = virtualsOf(n, groups, errors, global);
      for (const vip of vips) {
        const s = await convertVirtualServer(n, vip, caps, diags, names, keys, errors);
        if (s) services.push(s);
      }
    } else if (n.keyword === 'virtual_server_group') {
      // Expanded where a virtual_server uses it.
    } else if (n.keyword === 'global_defs') {
      global.note(n.line, '', 'global_defs is keepalived\'s own (router id, e-mail, scripts); lvsd.yaml holds lvsd\'s globals', n.file);
    } else if (n.keyword.startsWith('vrrp_') || ['static_ipaddress', 'static_routes', 'static_rules', 'track_file', 'track_process', 'track_bfd', 'bfd_instance', 'garp_group', 'linkbeat_interfaces', 'net_namespace', 'instance'].includes(n.keyword)) {
      global.note(n.line, '', `${n.keyword}${n.args[0] ? ` ${n.args[0]}` : ''} is VRRP/keepalived business, not lvsd's: keep keepalived for it (lvsd convert --keep-vrrp writes a keepalived.conf without the virtual servers)`, n.file);
    } else if (n.keyword === 'SSL') {
      global.warn(n.line, '', 'SSL { } (client certificate for SSL_GET) is not supported: lvsd\'s https checks present no client certificate', n.file);
    } else {
      global.warn(n.line, '', `${n.keyword} at the top level is not a keepalived.conf(5) block lvsd knows; ignored (${where})`, n.file);
    }
  }
  if (errors.length > 0) return { ok: false, format: 'keepalived', errors };
  return { ok: true, format: 'keepalived', global: { value: global.value, comments: global.comments }, services, diagnostics: diags.list };
}

function virtualsOf(n: KNode, groups: Map<string, KNode>, errors: ParseError[], global: DocBuilder): Vip[] {
  const [a, b] = n.args;
  const err = (message: string): Vip[] => (errors.push({ file: n.file, line: n.line, col: n.col, message }), []);
  if (a === 'fwmark') {
    if (!b || !/^\d+$/.test(b) || Number(b) < 1) return err(`virtual_server fwmark needs a mark from 1 to 4294967295, got ${JSON.stringify(b ?? '')}`);
    return [{ fwmark: Number(b), port: 0 }];
  }
  if (a === 'group') {
    const g = b ? groups.get(b) : undefined;
    if (!g) return err(`virtual_server group ${b ?? ''}: no virtual_server_group with that name`);
    const out: Vip[] = [];
    for (const e of g.children ?? []) {
      if (e.keyword === 'fwmark') {
        out.push({ fwmark: Number(e.args[0]), port: 0 });
        continue;
      }
      const hosts = expandRange(e.keyword);
      if (!hosts) {
        errors.push({ file: e.file, line: e.line, col: e.col, message: `"${e.keyword}" is not an address, an address range (A-B, A-LAST) or a prefix (A/nn)` });
        continue;
      }
      if (hosts.length > GROUP_LIMIT) {
        errors.push({ file: e.file, line: e.line, col: e.col, message: `"${e.keyword}" expands to ${hosts.length} addresses (at most ${GROUP_LIMIT})` });
        continue;
      }
      const port = Number(e.args[0] ?? 0);
      if (port === 0) {
        global.warn(e.line, '', `${e.keyword} without a port (all ports) cannot be an lvsd address service; use a fwmark service instead. Left out`, e.file);
        continue;
      }
      for (const h of hosts) out.push({ host: h, port });
    }
    return out;
  }
  if (!a || familyOf(a) === null) return err(`virtual_server takes an IP address (and port), "fwmark N" or "group NAME"; got ${JSON.stringify(a ?? '')}`);
  if (!b || !/^\d+$/.test(b) || Number(b) === 0) {
    global.warn(n.line, '', `virtual_server ${a} without a port (all ports) cannot be an lvsd address service; use a fwmark service. Left out`, n.file);
    return [];
  }
  return [{ host: a, port: Number(b) }];
}

/** 192.168.200.3-10, 192.168.200.250-192.168.201.10, 192.168.202.8/29, 2001:db8::1-a (last group). */
export function expandRange(text: string): string[] | null {
  if (familyOf(text) !== null) return [text];
  const cidr = /^([\d.]+)\/(\d{1,2})$/.exec(text);
  if (cidr && isIPv4(cidr[1]!)) {
    const bits = Number(cidr[2]);
    if (bits > 32) return null;
    const size = 2 ** (32 - bits);
    const base = Math.floor(v4(cidr[1]!) / size) * size;
    return Array.from({ length: Math.min(size, GROUP_LIMIT + 1) }, (_, i) => fromV4(base + i));
  }
  const dash = text.lastIndexOf('-');
  if (dash < 0) return null;
  const from = text.slice(0, dash);
  const to = text.slice(dash + 1);
  if (isIPv4(from)) {
    const end = isIPv4(to) ? v4(to) : /^\d{1,3}$/.test(to) ? Math.floor(v4(from) / 256) * 256 + Number(to) : NaN;
    if (!Number.isFinite(end) || end < v4(from) || (!isIPv4(to) && Number(to) > 255)) return null;
    return Array.from({ length: Math.min(end - v4(from) + 1, GROUP_LIMIT + 1) }, (_, i) => fromV4(v4(from) + i));
  }
  if (familyOf(from) === 6 && /^[0-9a-f]{1,4}$/i.test(to)) {
    const full = new URL(`http://[${from}]/`).hostname.slice(1, -1);
    const lastColon = full.lastIndexOf(':');
    const prefix = full.slice(0, lastColon + 1);
    const start = parseInt(full.slice(lastColon + 1) || '0', 16);
    const end = parseInt(to, 16);
    if (end < start) return null;
    return Array.from({ length: Math.min(end - start + 1, GROUP_LIMIT + 1) }, (_, i) => `${prefix}${(start + i).toString(16)}`);
  }
  return null;
}

function v4(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function fromV4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

function child(node: KNode, keyword: string): KNode | undefined {
  return (node.children ?? []).filter((c) => c.keyword === keyword).at(-1);
}

const VS_KEYS = new Set([
  'lb_algo', 'lvs_sched', 'lb_kind', 'lvs_method', 'persistence_timeout', 'persistence_granularity', 'persistence_engine', 'protocol',
  'ha_suspend', 'smtp_alert', 'virtualhost', 'snmp_name', 'alpha', 'omega', 'quorum', 'hysteresis', 'quorum_up', 'quorum_down',
  'ip_family', 'sorry_server', 'sorry_server_inhibit', 'sorry_server_lvs_method', 'connect_timeout', 'retry', 'nb_get_retry',
  'delay_before_retry', 'warmup', 'delay_loop', 'inhibit_on_failure', 'real_server', 'quorum_max', ...SCHED_FLAGS,
]);

async function convertVirtualServer(
  vs: KNode,
  vip: Vip,
  caps: Capabilities,
  diags: Diagnostics,
  names: Set<string>,
  keys: Map<string, string>,
  errors: ParseError[],
): Promise<OutService | null> {
  const doc = new DocBuilder(diags, vs.file);
  const warn = (n: KNode, path: string, m: string): void => doc.warn(n.line, path, m, n.file);
  const note = (n: KNode, path: string, m: string): void => doc.note(n.line, path, m, n.file);
  const protoNode = child(vs, 'protocol');
  const protocol = (protoNode?.args[0] ?? 'TCP').toLowerCase();
  if (!['tcp', 'udp', 'sctp'].includes(protocol)) {
    errors.push({ file: protoNode!.file, line: protoNode!.line, col: protoNode!.col, message: `protocol ${protoNode!.args[0]} is not TCP, UDP or SCTP` });
    return null;
  }
  // The same virtual service twice (two blocks, or a group listing an address twice) is one IPVS
  // service configured twice; keepalived.conf(5) forbids it.
  const firstReal = (vs.children ?? []).find((c) => c.keyword === 'real_server')?.args[0];
  const key = vip.fwmark !== undefined ? `fwmark ${vip.fwmark} (IPv${firstReal && familyOf(firstReal) === 6 ? 6 : 4})` : `${protocol.toUpperCase()} ${endpointText(vip.host!, vip.port)}`;
  const first = keys.get(key);
  if (first !== undefined) {
    errors.push({ file: vs.file, line: vs.line, col: vs.col, message: `${key} is already a virtual service (defined at ${first})` });
    return null;
  }
  keys.set(key, `${vs.file}:${vs.line}`);
  const value: OutMap = doc.value;
  const name = uniqueName(serviceNameFor({ ...vip, protocol }), names);
  value.name = name;
  if (vip.fwmark !== undefined) value.fwmark = vip.fwmark;
  else {
    value.address = endpointText(vip.host!, vip.port);
    value.protocol = protocol;
  }
  if (vs.args[0] === 'group') doc.comment('name', `one of the services of virtual_server group ${vs.args[1]}`);

  const sched = (child(vs, 'lvs_sched') ?? child(vs, 'lb_algo'))?.args[0] ?? 'wlc';
  if ((SCHEDULERS as readonly string[]).includes(sched)) value.scheduler = sched;
  else {
    warn(child(vs, 'lvs_sched') ?? child(vs, 'lb_algo')!, 'scheduler', `scheduler ${sched} is not an IPVS scheduler lvsd knows; wlc is used`);
    value.scheduler = 'wlc';
  }
  const methodNode = child(vs, 'lvs_method') ?? child(vs, 'lb_kind');
  const method = methodNode ? (METHODS[methodNode.args[0]!.toUpperCase()] ?? null) : 'masq';
  if (method === null) {
    errors.push({ file: methodNode!.file, line: methodNode!.line, col: methodNode!.col, message: `${methodNode!.keyword} ${methodNode!.args[0]} is not NAT, DR or TUN` });
    return null;
  }
  if (methodNode && methodNode.args.length > 1) warn(methodNode, 'forwarding', `${methodNode.keyword} ${methodNode.args.join(' ')}: tunnel type and checksum options are not supported; plain ipip`);
  value.forwarding = method;
  if (!methodNode) doc.comment('forwarding', "keepalived's default lvs_method is NAT");

  const pt = child(vs, 'persistence_timeout');
  const pg = child(vs, 'persistence_granularity');
  if (pt || pg) {
    const p: OutMap = { timeout: pt?.args[0] ? Number(pt.args[0]) : 360 };
    if (pg) p.netmask = /^\d+$/.test(pg.args[0]!) ? Number(pg.args[0]) : pg.args[0]!;
    value.persistence = p;
  }
  const pe = child(vs, 'persistence_engine');
  if (pe) warn(pe, 'persistence', `persistence_engine ${pe.args[0]} is not supported by lvsd; plain persistence`);
  for (const f of SCHED_FLAGS) {
    const n = child(vs, f);
    if (n) warn(n, 'scheduler', `${f}: scheduler flags${f === 'ops' ? ' and one-packet scheduling' : ''} are not supported by lvsd; left out`);
  }
  if (vip.fwmark !== undefined && protoNode) doc.comment('fwmark', `protocol ${protoNode.args[0]} not written: the firewall mark selects the packets`);

  // --- quorum, alpha/omega, notify ------------------------------------------------------------
  const quorum = child(vs, 'quorum');
  const hyst = child(vs, 'hysteresis');
  if (quorum && Number(quorum.args[0]) !== 1) {
    if (caps.quorum) value.quorum = Number(quorum.args[0]);
    else warn(quorum, '', `quorum ${quorum.args[0]} is not supported by this lvsd: the service stays up while any real is up`);
  }
  if (hyst && Number(hyst.args[0]) !== 0) {
    if (caps.hysteresis) value.hysteresis = Number(hyst.args[0]);
    else warn(hyst, '', `hysteresis ${hyst.args[0]} is not supported by this lvsd; left out`);
  }
  const qmax = child(vs, 'quorum_max');
  if (qmax) warn(qmax, '', 'quorum_max is not supported by lvsd; left out');
  const notify: OutMap = {};
  for (const [kw, event] of [['quorum_up', 'quorum_up'], ['quorum_down', 'quorum_down']] as const) {
    const n = child(vs, kw);
    if (!n) continue;
    if (!caps.notify.includes(event)) {
      warn(n, '', `${kw} is not supported by this lvsd; watch lvsd's metrics or lvsd status instead`);
      continue;
    }
    const argv = notifyArgv(n, warn);
    const problem = await commandProblem(argv);
    if (problem) warn(n, '', `${kw}: ${problem}; left out (check-config would refuse it): once installed, add notify: { ${event}: ${JSON.stringify(argv)} }`);
    else notify[event] = argv;
  }
  const alpha = child(vs, 'alpha');
  if (alpha) note(alpha, '', 'alpha: lvsd always starts with every real down until its first check passes');
  const omega = child(vs, 'omega');
  if (omega) warn(omega, '', 'omega: lvsd runs no notify command at shutdown; left out');
  for (const k of ['ha_suspend', 'snmp_name', 'ip_family', 'smtp_alert']) {
    const n = child(vs, k);
    if (!n) continue;
    if (k === 'smtp_alert') warn(n, '', `smtp_alert: lvsd sends no e-mail; ${ALERT_RULES_HINT}`);
    else if (k === 'ha_suspend') warn(n, '', 'ha_suspend: lvsd checks whether or not the VIP is configured on this host; left out');
    else note(n, '', `${k} is not needed by lvsd; left out`);
  }
  for (const n of vs.children ?? []) {
    if (!VS_KEYS.has(n.keyword) && !CHECKERS.includes(n.keyword)) warn(n, '', `${n.keyword} is not a virtual_server keyword lvsd knows (keepalived.conf(5) 2.x); ignored`);
  }

  // --- reals ---------------------------------------------------------------------------------
  const base: Inherited = inherit({ delayLoopMs: null, connectTimeoutMs: null, retry: null, delayBeforeRetryMs: null, virtualhost: null }, vs);
  const vsInhibit = child(vs, 'inhibit_on_failure');
  const reals: OutMap[] = [];
  const checks: (OutMap | OutMap[])[] = [];
  const inhibits: boolean[] = [];
  const notifies = { real_up: [] as string[][], real_down: [] as string[][] };
  for (const rs of (vs.children ?? []).filter((c) => c.keyword === 'real_server')) {
    const path = `reals.${reals.length}`;
    const host = rs.args[0];
    if (!host || familyOf(host) === null) {
      errors.push({ file: rs.file, line: rs.line, col: rs.col, message: `real_server needs an IP address, got ${JSON.stringify(host ?? '')}` });
      continue;
    }
    const rmNode = child(rs, 'lvs_method') ?? child(rs, 'lb_kind');
    const rm: string = rmNode ? (METHODS[rmNode.args[0]!.toUpperCase()] ?? method) : method;
    let port = Number(rs.args[1] ?? 0);
    if (vip.fwmark === undefined && (port === 0 || rm !== 'masq')) {
      if (port !== 0 && port !== vip.port) doc.comment(path, `real_server ${host} ${port}: IPVS uses the virtual's port ${vip.port} with ${rm} forwarding`);
      port = vip.port;
    }
    const real: OutMap = { address: endpointText(host, port) };
    const weight = child(rs, 'weight');
    if (weight && Number(weight.args[0]) !== 1) real.weight = Number(weight.args[0]);
    if (rm && rm !== method) real.forwarding = rm;
    for (const k of ['uthreshold', 'lthreshold']) {
      const n = child(rs, k);
      if (n) warn(n, path, `${k} (connection limit) is not supported by lvsd; left out`);
    }
    const rsmtp = child(rs, 'smtp_alert');
    if (rsmtp) warn(rsmtp, path, `smtp_alert: lvsd sends no e-mail; ${ALERT_RULES_HINT}`);
    const inh = inherit(base, rs);
    const inhibit = child(rs, 'inhibit_on_failure');
    inhibits.push(inhibit ? inhibit.args[0] !== 'false' && inhibit.args[0] !== 'no' : vsInhibit !== undefined);
    for (const [kw, event] of [['notify_up', 'real_up'], ['notify_down', 'real_down']] as const) {
      const n = child(rs, kw);
      if (n) notifies[event].push(notifyArgv(n, (x, p, m) => warn(x, p, m)));
      else notifies[event].push([]);
    }
    const mapped: OutMap[] = [];
    for (const ck of (rs.children ?? []).filter((c) => CHECKERS.includes(c.keyword))) {
      const m = await mapChecker(ck, inh, { host, port }, caps, (n, msg) => warn(n, `${path}.check`, msg), (n, msg) => note(n, `${path}.check`, msg));
      if (m) mapped.push(m);
    }
    if (mapped.length === 0) {
      checks.push({ type: 'none', interval: (inh.delayLoopMs ?? 60_000) / 1000 });
    } else if (mapped.length === 1 || !caps.checks) {
      if (mapped.length > 1) {
        warn(rs, `${path}.check`, `real_server ${host} has ${mapped.length} checkers; this lvsd runs one check per real (no checks: list), so only the first (${String(mapped[0]!.type)}) is kept`);
      }
      checks.push(mapped[0]!);
    } else {
      checks.push(mapped);
    }
    reals.push(real);
  }
  // One check for the whole service when every real has the same one, else one per real.
  const same = checks.length > 0 && checks.every((c) => JSON.stringify(c) === JSON.stringify(checks[0]));
  if (same) {
    // The checkers' comments follow their check to the service.
    for (const [path, lines] of [...doc.comments]) {
      const m = /^reals\.\d+\.check(\..*)?$/.exec(path);
      if (!m) continue;
      doc.comments.delete(path);
      const to = `${Array.isArray(checks[0]) ? 'checks' : 'check'}${m[1] ?? ''}`;
      doc.comments.set(to, [...new Set([...(doc.comments.get(to) ?? []), ...lines])]);
    }
    const c = checks[0]!;
    if (Array.isArray(c)) value.checks = c;
    else value.check = c;
  } else {
    reals.forEach((r, i) => {
      const c = checks[i]!;
      if (Array.isArray(c)) r.checks = c;
      else r.check = c;
    });
  }
  if (inhibits.length > 0) {
    value.quiescent = inhibits.every(Boolean) ? true : inhibits.some(Boolean) && inhibits.filter(Boolean).length * 2 >= inhibits.length;
    if (new Set(inhibits).size > 1) warn(vs, 'quiescent', `inhibit_on_failure is set on some reals only; lvsd has one quiescent per service: ${String(value.quiescent)}`);
  }
  value.reals = reals;
  for (const event of ['real_up', 'real_down'] as const) {
    const argvs = notifies[event].filter((a) => a.length > 0);
    if (argvs.length === 0) continue;
    const kw = event === 'real_up' ? 'notify_up' : 'notify_down';
    if (!caps.notify.includes(event)) {
      warn(vs, '', `${kw} is not supported by this lvsd; watch lvsd's metrics or lvsd status instead`);
      continue;
    }
    const problem = await commandProblem(argvs[0]!);
    if (problem) {
      warn(vs, '', `${kw}: ${problem}; left out (check-config would refuse it): once installed, add notify: { ${event}: ${JSON.stringify(argvs[0])} }`);
      continue;
    }
    notify[event] = argvs[0]!;
    if (argvs.length !== notifies[event].length || new Set(argvs.map((a) => JSON.stringify(a))).size > 1) {
      warn(vs, 'notify', `${kw} differs between reals; lvsd has one ${event} command per service: ${argvs[0]!.join(' ')} (it gets the real in LVSD_* variables)`);
    }
  }
  if (Object.keys(notify).length > 0) value.notify = notify;

  // --- sorry server ---------------------------------------------------------------------------
  const sorry = child(vs, 'sorry_server');
  if (sorry) {
    const [h, p] = sorry.args;
    if (!h || familyOf(h) === null) {
      errors.push({ file: sorry.file, line: sorry.line, col: sorry.col, message: 'sorry_server needs an IP address' });
      return null;
    }
    const smNode = child(vs, 'sorry_server_lvs_method');
    const sm = smNode ? METHODS[smNode.args[0]!.toUpperCase()] ?? method : method;
    const port = vip.fwmark !== undefined ? Number(p ?? 0) : sm === 'masq' && p ? Number(p) : vip.port;
    const s: OutMap = { address: endpointText(h, port) };
    if (sm !== method) s.forwarding = sm;
    if (reals.some((r) => r.address === s.address)) {
      warn(sorry, 'sorry', `sorry_server ${String(s.address)} is also a real_server; IPVS holds one destination per address, so the sorry server is left out`);
    } else {
      value.sorry = [s];
    }
    const inhibitSorry = child(vs, 'sorry_server_inhibit');
    if (inhibitSorry) warn(inhibitSorry, 'sorry', 'sorry_server_inhibit: lvsd removes the sorry server when a real is back instead of setting its weight to 0');
  }
  if (!alpha) doc.comment('reals', 'keepalived without alpha adds every real before its first check; lvsd adds a real only once a check passes (deliberate)');
  return { name, file: vs.file, line: vs.line, reals: reals.length, value, comments: doc.comments };
}

function notifyArgv(n: KNode, warn: (n: KNode, path: string, m: string) => void): string[] {
  const argv = splitCommand(n.args[0] ?? '');
  if (n.args.length > 1) warn(n, 'notify', `${n.keyword}: the user/group ${n.args.slice(1).join(' ')} is not supported; lvsd runs it as its own user`);
  return argv;
}
