// keepalived.conf → lvsd: one service per virtual_server (per entry of its virtual_server_group),
// reals with their checkers (keepalived-reals.ts); VRRP and global_defs are noted, not converted.
// Where keepalived logs a value as invalid and runs without it, convert does the same and warns.

import type { ConvertResult, OutMap, OutService, ParseError } from './model.js';
import type { KNode, KeepalivedReadOptions } from './keepalived-parse.js';
import { parseKeepalived } from './keepalived-parse.js';
import { Diagnostics, DocBuilder, commandProblem, endpointText, familyOf, serviceNameFor, uniqueName } from './common.js';
import { SCHEDULERS } from '../config/schema.js';
import { ALERT_RULES_HINT } from './ldirectord.js';
import type { Vip } from './keepalived-vips.js';
import { virtualsOf } from './keepalived-vips.js';
import { METHODS, convertReals, destPort, methodOf, notifyArgv } from './keepalived-reals.js';
import type { DirectiveRecord } from './ledger.js';
import { mark, treeRecords } from './ledger.js';

export { expandRange } from './keepalived-vips.js';

const SCHED_FLAGS = ['flag-1', 'flag-2', 'flag-3', 'sh-port', 'sh-fallback', 'mh-port', 'mh-fallback', 'ops', 'hashed'];
/** keepalived's LVS_MAX_TIMEOUT (global_data.h): persistence_timeout accepts 1 to 31 days. */
const MAX_PERSISTENCE = 86400 * 31;
/** IPVS_SVC_PERSISTENT_TIMEOUT: persistence_timeout without a value, or a granularity alone. */
const DEFAULT_PERSISTENCE = 360;
const VRRP_BLOCKS = ['static_ipaddress', 'static_routes', 'static_rules', 'track_file', 'track_process', 'track_bfd', 'bfd_instance', 'garp_group', 'linkbeat_interfaces', 'net_namespace', 'instance'];

/** The last `keyword` inside `node` (keepalived applies each in turn; the last wins); all are read. */
function child(node: KNode, keyword: string): KNode | undefined {
  const all = (node.children ?? []).filter((c) => c.keyword === keyword);
  for (const c of all) mark(c, 'mapped');
  return all.at(-1);
}

interface Ctx {
  readonly diags: Diagnostics;
  readonly names: Set<string>;
  readonly keys: Map<string, string>;
  readonly errors: ParseError[];
  readonly missing: Set<string>;
}

export async function convertKeepalived(file: string, text: string, options: KeepalivedReadOptions = {}): Promise<ConvertResult> {
  const parsed = parseKeepalived(file, text, options);
  if (parsed.errors.length > 0) return { ok: false, format: 'keepalived', errors: parsed.errors };
  const diags = new Diagnostics();
  const global = new DocBuilder(diags, file);
  for (const m of parsed.messages) {
    diags.add(m.severity, m.file, m.line, m.message);
    global.comment('', `${m.severity === 'note' ? 'note: ' : ''}${m.message} [${m.file}:${m.line}]`);
  }
  const warn = (n: KNode, message: string): void => (mark(n, 'warned'), global.warn(n.line, '', message, n.file));
  const note = (n: KNode, message: string): void => (mark(n, 'noted'), global.note(n.line, '', message, n.file));
  const ctx: Ctx = { diags, names: new Set(), keys: new Map(), errors: [], missing: new Set() };
  const groups = new Map<string, KNode>();
  for (const n of parsed.nodes) if (n.keyword === 'virtual_server_group' && n.args[0]) groups.set(n.args[0], n);
  for (const [name, g] of groups) {
    // check_parser.c: "virtual server group %s has no entries - removing"; its virtual_servers are then
    // ignored as for a group never defined (below).
    if ((g.children ?? []).length > 0) continue;
    warn(g, `virtual_server_group ${name} has no entries; keepalived removes it ("has no entries - removing"), and so does lvsd convert`);
    groups.delete(name);
  }

  const services: OutService[] = [];
  const limit = { services: 0 };
  for (const n of parsed.nodes) {
    if (n.keyword === 'virtual_server' && n.args[0] === 'group' && n.args[1] && !groups.has(n.args[1])) {
      // ipwrapper.c link_vsg_to_vs: "Virtual server group %s specified but not configured - ignoring
      // virtual server"; keepalived runs the rest of the file.
      warn(n, `virtual_server group ${n.args[1]}: no virtual_server_group with that name; keepalived ignores this virtual_server ("specified but not configured") and runs the others, and so does lvsd convert`);
    } else if (n.keyword === 'virtual_server') {
      mark(n, 'mapped');
      for (const vip of virtualsOf(n, groups, ctx.errors, limit)) {
        const s = await convertVirtualServer(n, vip, ctx);
        if (s) services.push(s);
      }
    } else if (n.keyword === 'virtual_server_group') {
      // Expanded where a virtual_server uses it (marked there).
    } else if (n.keyword === 'global_defs') {
      note(n, "global_defs is keepalived's own (router id, e-mail, scripts); lvsd.yaml holds lvsd's globals");
    } else if (n.keyword.startsWith('vrrp_') || VRRP_BLOCKS.includes(n.keyword)) {
      note(n, `${n.keyword}${n.args[0] ? ` ${n.args[0]}` : ''} is VRRP/keepalived business, not lvsd's: keep keepalived for it (lvsd convert --keep-vrrp writes a keepalived.conf without the virtual servers)`);
    } else if (n.keyword === 'SSL') {
      warn(n, "SSL { } (client certificate for SSL_GET) is not supported: lvsd's https checks present no client certificate");
    } else {
      warn(n, `${n.keyword} at the top level is not a keepalived.conf(5) block lvsd knows; ignored`);
    }
  }
  for (const g of groups.values()) if (g.outcome === undefined) note(g, `virtual_server_group ${g.args[0]} is used by no virtual_server; keepalived makes no service of it either`);
  if (ctx.errors.length > 0) return { ok: false, format: 'keepalived', errors: ctx.errors };
  const directives: DirectiveRecord[] = [...parsed.readerDirectives, ...treeRecords(parsed.nodes)];
  return { ok: true, format: 'keepalived', global: { value: global.value, comments: global.comments }, services, diagnostics: diags.list, directives, missingPrograms: [...ctx.missing] };
}

const VS_KEYS = new Set([
  'lb_algo', 'lvs_sched', 'lb_kind', 'lvs_method', 'persistence_timeout', 'persistence_granularity', 'persistence_engine', 'protocol',
  'ha_suspend', 'smtp_alert', 'virtualhost', 'snmp_name', 'alpha', 'omega', 'quorum', 'hysteresis', 'quorum_up', 'quorum_down',
  'ip_family', 'sorry_server', 'sorry_server_inhibit', 'sorry_server_lvs_method', 'connect_timeout', 'retry', 'nb_get_retry',
  'delay_before_retry', 'warmup', 'delay_loop', 'inhibit_on_failure', 'real_server', 'quorum_max', ...SCHED_FLAGS,
]);

async function convertVirtualServer(vs: KNode, vip: Vip, ctx: Ctx): Promise<OutService | null> {
  const { errors } = ctx;
  const doc = new DocBuilder(ctx.diags, vs.file);
  const warn = (n: KNode, path: string, m: string): void => (mark(n, 'warned'), doc.warn(n.line, path, m, n.file));
  const note = (n: KNode, path: string, m: string): void => (mark(n, 'noted'), doc.note(n.line, path, m, n.file));
  const fail = (n: KNode, message: string): null => (errors.push({ file: n.file, line: n.line, col: n.col, message }), null);
  const protoNode = child(vs, 'protocol');
  const protocol = (protoNode?.args[0] ?? 'TCP').toLowerCase();
  if (!['tcp', 'udp', 'sctp'].includes(protocol)) return fail(protoNode!, `protocol ${protoNode!.args[0]} is not TCP, UDP or SCTP`);
  const methodNode = child(vs, 'lvs_method') ?? child(vs, 'lb_kind');
  const method = methodNode ? (METHODS[(methodNode.args[0] ?? '').toUpperCase()] ?? null) : 'masq';
  if (method === null) return fail(methodNode!, `${methodNode!.keyword} ${methodNode!.args[0] ?? ''} is not NAT, DR or TUN`);
  child(vs, 'lb_kind');
  child(vs, 'lvs_method');
  for (const rs of (vs.children ?? []).filter((c) => c.keyword === 'real_server')) {
    if (!rs.args[0] || familyOf(rs.args[0]) === null) return fail(rs, `real_server needs an IP address, got ${JSON.stringify(rs.args[0] ?? '')}`);
  }
  const family = familyFor(vs, vip, method, warn);
  // The same virtual service twice (two blocks, or a group listing an address twice) is one IPVS
  // service configured twice; keepalived.conf(5) forbids it.
  const key = vip.fwmark !== undefined ? `fwmark ${vip.fwmark} (IPv${family})` : `${protocol.toUpperCase()} ${endpointText(vip.host!, vip.port)}`;
  const first = ctx.keys.get(key);
  if (first !== undefined) return fail(vs, `${key} is already a virtual service (defined at ${first})`);
  ctx.keys.set(key, `${vs.file}:${vs.line}`);

  const value: OutMap = doc.value;
  const name = uniqueName(serviceNameFor({ ...vip, protocol }), ctx.names);
  value.name = name;
  if (vip.fwmark !== undefined) value.fwmark = vip.fwmark;
  else {
    // Port 0 is written: a service address always has one (":0" is every port).
    value.address = vip.port === 0 ? `${endpointText(vip.host!, 0)}:0` : endpointText(vip.host!, vip.port);
    value.protocol = protocol;
  }
  if (vs.args[0] === 'group') doc.comment('name', `one of the services of virtual_server group ${vs.args[1]}`);
  const schedNode = child(vs, 'lvs_sched') ?? child(vs, 'lb_algo');
  child(vs, 'lb_algo');
  const sched = schedNode?.args[0] ?? 'wlc';
  if ((SCHEDULERS as readonly string[]).includes(sched)) value.scheduler = sched;
  else {
    warn(schedNode!, 'scheduler', `scheduler ${sched} is not an IPVS scheduler lvsd knows; wlc is used`);
    value.scheduler = 'wlc';
  }
  if (methodNode && methodNode.args.length > 1) warn(methodNode, 'forwarding', `${methodNode.keyword} ${methodNode.args.join(' ')}: tunnel type and checksum options are not supported; plain ipip`);
  value.forwarding = method;
  if (!methodNode) doc.comment('forwarding', "keepalived's default lvs_method is NAT");

  let persistence = persistenceOf(vs, family, warn);
  if (vip.fwmark === undefined && vip.port === 0) {
    if (!persistence) {
      // check_data.c: "zero port only valid for persistent services - setting" (360 s).
      warn(vip.at, 'persistence', `virtual_server ${vip.host} ${vip.at.args.length < 2 && vs.args[0] !== 'group' ? '(no port)' : '0'}: every port without persistence; keepalived makes it persistent for ${DEFAULT_PERSISTENCE} s ("zero port only valid for persistent services - setting"), and so does lvsd convert`);
      persistence = { timeout: DEFAULT_PERSISTENCE };
    }
    doc.comment('address', 'port 0: every port of the address, one persistent service (ipvsadm -A -t VIP:0 -p)');
  }
  if (persistence) value.persistence = persistence;
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
    value.quorum = Number(quorum.args[0]);
  }
  if (hyst && Number(hyst.args[0]) !== 0) {
    value.hysteresis = Number(hyst.args[0]);
  }
  const qmax = child(vs, 'quorum_max');
  if (qmax) warn(qmax, '', 'quorum_max is not supported by lvsd; left out');
  const notify: OutMap = {};
  for (const event of ['quorum_up', 'quorum_down'] as const) {
    const n = child(vs, event);
    if (!n) continue;
    const argv = notifyArgv(n, warn);
    const problem = await commandProblem(argv);
    if (problem) warn(n, '', `${event}: ${problem}; left out (check-config would refuse it): once installed, add notify: { ${event}: ${JSON.stringify(argv)} }`);
    else notify[event] = argv;
  }
  const alpha = child(vs, 'alpha');
  if (alpha) note(alpha, '', 'alpha: lvsd always starts with every real down until its first check passes');
  const omega = child(vs, 'omega');
  if (omega) warn(omega, '', 'omega: lvsd runs no notify command at shutdown; left out');
  for (const k of ['ha_suspend', 'snmp_name', 'smtp_alert', 'warmup']) {
    const n = child(vs, k);
    if (!n) continue;
    if (k === 'smtp_alert') warn(n, '', `smtp_alert: lvsd sends no e-mail; ${ALERT_RULES_HINT}`);
    else if (k === 'ha_suspend') warn(n, '', 'ha_suspend: lvsd checks whether or not the VIP is configured on this host; left out');
    else if (k === 'warmup') note(n, '', 'warmup: lvsd spreads the first checks with its own jitter');
    else note(n, '', `${k} is not needed by lvsd; left out`);
  }
  for (const n of vs.children ?? []) {
    if (!VS_KEYS.has(n.keyword)) warn(n, '', `${n.keyword} is not a virtual_server keyword of keepalived.conf(5) 2.x; keepalived logs "unknown keyword" and ignores it, and so does lvsd convert`);
  }

  // --- reals ---------------------------------------------------------------------------------
  const r = await convertReals({ vs, vport: vip.port, fwmark: vip.fwmark !== undefined, family, method, doc, warn, note, child, missing: ctx.missing });
  if (r.reals.length === 0) {
    // check_parser.c vs_end_handler: "Virtual server %s has no real servers - ignoring".
    warn(vs, '', `virtual_server ${vs.args.join(' ')} has no real_server ${(vs.children ?? []).some((c) => c.keyword === 'real_server') ? 'of its address family' : ''}: keepalived ignores it ("has no real servers"), and so does lvsd convert`.replace('  ', ' '));
    return null;
  }
  // lvsd gives a mark service of tunnelled reals the family of its first; keepalived IPv4 when they mix.
  const famOf = (x: OutMap): 4 | 6 => (String(x.address).startsWith('[') ? 6 : 4);
  if (vip.fwmark !== undefined && famOf(r.reals[0]!) !== family && r.reals.every((x) => (x.forwarding ?? method) === 'ipip')) {
    const i = r.reals.findIndex((x) => famOf(x) === family);
    if (i > 0) {
      r.reals.unshift(...r.reals.splice(i, 1));
      doc.comment('reals', `an IPv${family} real first: the reals are all tunnelled and of both families, and keepalived then makes an IPv${family} service`);
    }
  }
  value.reals = r.reals;
  Object.assign(notify, r.notify);
  if (Object.keys(notify).length > 0) value.notify = notify;
  if (quorum && typeof value.quorum === 'number') {
    const total = r.reals.reduce((n, x) => n + (typeof x.weight === 'number' ? x.weight : 1), 0);
    if (value.quorum > total) {
      warn(quorum, 'quorum', `quorum ${value.quorum} is more than the weight of all reals together (${total}): the service never has quorum. keepalived (ipwrapper.c, at start and on every change) then serves from the sorry server and takes the reals out; lvsd serves from the sorry server too and keeps healthy reals at weight 0`);
    }
  }

  // --- sorry server ---------------------------------------------------------------------------
  const sorry = child(vs, 'sorry_server');
  const smNode = child(vs, 'sorry_server_lvs_method');
  const inhibitSorry = child(vs, 'sorry_server_inhibit');
  if (sorry) {
    const [h, p] = sorry.args;
    if (!h || familyOf(h) === null) return fail(sorry, 'sorry_server needs an IP address');
    const sm = smNode ? (METHODS[(smNode.args[0] ?? '').toUpperCase()] ?? method) : method;
    // keepalived clears a mark service's DR/TUN sorry port (the kernel ignores it); lvsd wants it written.
    const markPort = vip.fwmark !== undefined && sm !== 'masq' ? Number(p ?? 0) : null;
    const s: OutMap = { address: endpointText(h, markPort ?? destPort(sm, Number(p ?? 0), { vport: vip.port, fwmark: vip.fwmark !== undefined })) };
    if (sm !== method) s.forwarding = sm;
    if (markPort === 0) {
      warn(sorry, 'sorry', `sorry_server ${h} without a port in a firewall-mark service: lvsd needs the port every marked packet goes to; left out (write it)`);
    } else if (familyOf(h) !== family && sm !== 'ipip') {
      warn(sorry, 'sorry', `sorry_server ${h}: IPv${familyOf(h)} in an IPv${family} virtual server with ${sm} forwarding; keepalived skips it ("address family of virtual server and sorry server don't match"), and so does lvsd convert`);
    } else if (r.reals.some((x) => x.address === s.address)) {
      warn(sorry, 'sorry', `sorry_server ${String(s.address)} is also a real_server; IPVS holds one destination per address, so the sorry server is left out`);
    } else {
      if (markPort) doc.comment('sorry', `keepalived puts this sorry server at port 0 (${sm} forwarding keeps each packet's port); lvsd writes the port given`);
      value.sorry = [s];
    }
    if (inhibitSorry) warn(inhibitSorry, 'sorry', 'sorry_server_inhibit: lvsd removes the sorry server when a real is back instead of setting its weight to 0');
  } else {
    for (const n of [smNode, inhibitSorry]) if (n) warn(n, '', `${n.keyword} without a sorry_server: keepalived ignores it, and so does lvsd convert`);
  }
  if (!alpha) doc.comment('reals', 'keepalived without alpha adds every real before its first check; lvsd adds a real only once a check passes (deliberate)');
  return { name, file: vs.file, line: vs.line, reals: r.reals.length, value, comments: doc.comments };
}

/**
 * The virtual server's address family as check_parser.c settles it: the address's, else
 * `ip_family`, else the first real (or sorry server) that is not tunnelled, else the reals' if all
 * are of one family, else IPv4.
 */
function familyFor(vs: KNode, vip: Vip, method: string, warn: (n: KNode, path: string, m: string) => void): 4 | 6 {
  const ipf = child(vs, 'ip_family');
  if (vip.host !== undefined) {
    const f = familyOf(vip.host)!;
    if (ipf && ipf.args[0] !== (f === 6 ? 'inet6' : 'inet')) warn(ipf, '', `ip_family ${ipf.args[0]} does not match the address ${vip.host}; keepalived keeps the address's family`);
    return f;
  }
  if (ipf) {
    if (ipf.args[0] === 'inet6') return 6;
    if (ipf.args[0] !== 'inet') warn(ipf, '', `ip_family ${ipf.args[0]} is not inet or inet6; keepalived logs "unknown address family" and ignores it`);
    else return 4;
  }
  const reals = (vs.children ?? []).filter((c) => c.keyword === 'real_server');
  const families = reals.map((rs) => ({ f: familyOf(rs.args[0]!)!, m: methodOf(rs, method, child) }));
  const direct = families.find((x) => x.m !== 'ipip');
  if (direct) return direct.f;
  const all = new Set(families.map((x) => x.f));
  return all.size === 1 ? [...all][0]! : 4;
}

/** persistence_timeout / persistence_granularity as check_parser.c reads them, keepalived's fallbacks included. */
function persistenceOf(vs: KNode, family: 4 | 6, warn: (n: KNode, path: string, m: string) => void): OutMap | null {
  const pt = child(vs, 'persistence_timeout');
  const pg = child(vs, 'persistence_granularity');
  let timeout: number | null = null;
  if (pt) {
    const t = pt.args[0];
    if (t === undefined) timeout = DEFAULT_PERSISTENCE;
    else if (/^\d+$/.test(t) && Number(t) >= 1 && Number(t) <= MAX_PERSISTENCE) timeout = Number(t);
    else warn(pt, 'persistence', `persistence_timeout ${t}: keepalived accepts 1 to ${MAX_PERSISTENCE} seconds; it logs "persistence_timeout invalid" and runs ${pg ? `with the ${DEFAULT_PERSISTENCE} s its persistence_granularity implies` : 'without persistence'}, and so does lvsd convert`);
  }
  let netmask: string | number | null = null;
  if (pg) {
    const g = pg.args[0] ?? '';
    const ok = family === 6 ? /^\d+$/.test(g) && Number(g) >= 1 && Number(g) <= 128 : familyOf(g) === 4;
    if (!ok) warn(pg, 'persistence', `persistence_granularity ${g}: not an IPv${family} ${family === 6 ? 'prefix length (1-128)' : 'netmask'}; keepalived logs it and ignores it, and so does lvsd convert`);
    else {
      netmask = family === 6 ? Number(g) : g;
      timeout ??= DEFAULT_PERSISTENCE;
    }
  }
  if (timeout === null) return null;
  const p: OutMap = { timeout };
  if (netmask !== null) p.netmask = netmask;
  return p;
}
