// The real_server blocks of one keepalived virtual_server: address and port as keepalived puts them
// in the kernel (ipvswrapper.c), the family rule of check_parser.c (a real of the other family is
// skipped unless tunnelled), weight, method, checkers (keepalived-checks.ts), inhibit_on_failure
// and notify_up/notify_down; the checks folded into one service check when every real has the same.

import type { OutMap } from './model.js';
import type { KNode } from './keepalived-parse.js';
import type { Inherited } from './keepalived-checks.js';
import { CHECKERS, inherit, mapChecker } from './keepalived-checks.js';
import type { DocBuilder } from './common.js';
import { commandProblem, endpointText, familyOf, splitCommand } from './common.js';
import { mark } from './ledger.js';
import { ALERT_RULES_HINT } from './ldirectord.js';

export const METHODS: Readonly<Record<string, string>> = { NAT: 'masq', DR: 'gate', TUN: 'ipip' };

export type At = (n: KNode, path: string, message: string) => void;

export interface RealsContext {
  readonly vs: KNode;
  /** The virtual service's port; 0 for a firewall mark or an all-port service. */
  readonly vport: number;
  readonly fwmark: boolean;
  readonly family: 4 | 6;
  readonly method: string;
  readonly doc: DocBuilder;
  readonly warn: At;
  readonly note: At;
  readonly child: (n: KNode, keyword: string) => KNode | undefined;
  /** Programs of misc checks not runnable here (written anyway; check-config on the director judges). */
  readonly missing: Set<string>;
}

const RS_KEYS = new Set([
  'weight', 'lvs_method', 'lb_kind', 'uthreshold', 'lthreshold', 'smtp_alert', 'inhibit_on_failure', 'notify_up', 'notify_down',
  'delay_loop', 'connect_timeout', 'retry', 'nb_get_retry', 'delay_before_retry', 'warmup', 'alpha', 'virtualhost', ...CHECKERS,
]);

/** The method a real (or sorry server) is forwarded with: its own lvs_method, else the service's. */
export function methodOf(node: KNode, fallback: string, child: RealsContext['child']): string {
  const m = child(node, 'lvs_method') ?? child(node, 'lb_kind');
  return m ? (METHODS[(m.args[0] ?? '').toUpperCase()] ?? fallback) : fallback;
}

/** keepalived's destination port: NAT keeps the real's, the others take the virtual's (0 for a mark). */
export function destPort(method: string, written: number, ctx: Pick<RealsContext, 'vport' | 'fwmark'>): number {
  if (method === 'masq') return written === 0 ? ctx.vport : written;
  return ctx.fwmark ? 0 : ctx.vport;
}

export async function convertReals(ctx: RealsContext): Promise<{ reals: OutMap[]; notify: OutMap }> {
  const { vs, doc, warn, note, child } = ctx;
  const base: Inherited = inherit({ delayLoopMs: null, connectTimeoutMs: null, retry: null, delayBeforeRetryMs: null, virtualhost: null }, vs);
  const vsInhibit = child(vs, 'inhibit_on_failure');
  const reals: OutMap[] = [];
  const checks: (OutMap | OutMap[])[] = [];
  const inhibits: boolean[] = [];
  const notifies = { real_up: [] as string[][], real_down: [] as string[][] };
  for (const rs of (vs.children ?? []).filter((c) => c.keyword === 'real_server')) {
    mark(rs, 'mapped');
    const path = `reals.${reals.length}`;
    const host = rs.args[0]!;
    const rm = methodOf(rs, ctx.method, child);
    const family = familyOf(host)!;
    if (family !== ctx.family && rm !== 'ipip') {
      // check_parser.c rs_end_handler: "Address family of virtual server and real server don't match - skipping real server".
      warn(rs, 'reals', `real_server ${host}: an IPv${family} real in an IPv${ctx.family} virtual server with ${rm} forwarding; keepalived skips it ("address family of virtual server and real server don't match"), and so does lvsd convert`);
      for (const c of rs.children ?? []) mark(c, 'warned');
      continue;
    }
    const written = Number(rs.args[1] ?? 0);
    const port = destPort(rm, written, ctx);
    if (written !== 0 && port !== written) doc.comment(path, `real_server ${host} ${written}: IPVS uses port ${port === 0 ? '0 (the packet\'s own port)' : port} with ${rm} forwarding, as keepalived sets it`);
    const real: OutMap = { address: endpointText(host, port) };
    if (reals.some((x) => x.address === real.address)) {
      // check_data.c: "real server %s is duplicated - removing second rs" (or the kernel refuses the second destination).
      warn(rs, 'reals', `real_server ${host} ${written || ''}: ${String(real.address)} is already a real of this virtual server; keepalived removes the second ("duplicated"), and so does lvsd convert`.replace(' :', ':'));
      for (const c of rs.children ?? []) mark(c, 'warned');
      continue;
    }
    const weight = child(rs, 'weight');
    if (weight) {
      const w = weight.args[0] ?? '';
      if (/^\d+$/.test(w) && Number(w) <= 65535) {
        if (Number(w) !== 1) real.weight = Number(w);
      } else {
        warn(weight, path, `weight ${w}: keepalived accepts 0 to 65535; it logs the error and keeps weight 1`);
      }
    }
    if (rm !== ctx.method) real.forwarding = rm;
    for (const k of ['uthreshold', 'lthreshold']) {
      const n = child(rs, k);
      if (n) warn(n, path, `${k} (connection limit) is not supported by lvsd; left out`);
    }
    const rsmtp = child(rs, 'smtp_alert');
    if (rsmtp) warn(rsmtp, path, `smtp_alert: lvsd sends no e-mail; ${ALERT_RULES_HINT}`);
    const alpha = child(rs, 'alpha');
    if (alpha) note(alpha, path, 'alpha: lvsd always starts with every real down until its first check passes');
    const inh = inherit(base, rs);
    const inhibit = child(rs, 'inhibit_on_failure');
    inhibits.push(inhibit ? inhibit.args[0] !== 'false' && inhibit.args[0] !== 'no' : vsInhibit !== undefined);
    for (const [kw, event] of [['notify_up', 'real_up'], ['notify_down', 'real_down']] as const) {
      const n = child(rs, kw);
      if (n) notifies[event].push(notifyArgv(n, warn));
      else notifies[event].push([]);
    }
    for (const n of rs.children ?? []) {
      if (!RS_KEYS.has(n.keyword)) warn(n, path, `${n.keyword} is not a real_server keyword of keepalived.conf(5) 2.x; keepalived logs "unknown keyword" and ignores it, and so does lvsd convert`);
    }
    const mapped: OutMap[] = [];
    for (const ck of (rs.children ?? []).filter((c) => CHECKERS.includes(c.keyword))) {
      mark(ck, 'mapped');
      // keepalived checks the port written on real_server, whatever port the kernel table holds.
      const checkPort = written !== 0 ? written : port;
      const m = await mapChecker(ck, inh, { host, port: checkPort }, (n, msg) => warn(n, `${path}.check`, msg), (n, msg) => note(n, `${path}.check`, msg), ctx.missing);
      if (m && m.port === undefined && checkPort !== port && !['misc', 'ping', 'none'].includes(String(m.type))) m.port = checkPort;
      if (m) mapped.push(m);
    }
    const portless = mapped.find((m) => m.port === undefined && port === 0 && written === 0 && !['misc', 'ping', 'none'].includes(String(m.type)));
    if (portless) {
      // keepalived's checker connects to port 0, which always fails: the real never stays in the table.
      warn(rs, path, `real_server ${host} has no port and its ${String(portless.type)} check no connect_port: keepalived checks port 0, which never answers, so the real is out of its table from the first failed check on (at once with alpha); lvsd convert leaves it out (give the real or its checker a port)`);
      for (const c of rs.children ?? []) mark(c, 'warned');
      inhibits.pop();
      notifies.real_up.pop();
      notifies.real_down.pop();
      continue;
    }
    if (mapped.length === 0) {
      checks.push({ type: 'none', interval: (inh.delayLoopMs ?? 60_000) / 1000 });
    } else if (mapped.length === 1) {
      checks.push(mapped[0]!);
    } else {
      checks.push(mapped);
    }
    reals.push(real);
  }
  foldChecks(ctx, reals, checks);
  if (inhibits.length > 0 && reals.length > 0) {
    const value = doc.value;
    value.quiescent = inhibits.every(Boolean) ? true : inhibits.some(Boolean) && inhibits.filter(Boolean).length * 2 >= inhibits.length;
    if (new Set(inhibits).size > 1) warn(vs, 'quiescent', `inhibit_on_failure is set on some reals only; lvsd has one quiescent per service: ${String(value.quiescent)}`);
  }
  const notify: OutMap = {};
  for (const event of ['real_up', 'real_down'] as const) {
    const argvs = notifies[event].filter((a) => a.length > 0);
    if (argvs.length === 0) continue;
    const kw = event === 'real_up' ? 'notify_up' : 'notify_down';
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
  return { reals, notify };
}

/** One check for the whole service when every real has the same one, else one per real. */
function foldChecks(ctx: RealsContext, reals: OutMap[], checks: (OutMap | OutMap[])[]): void {
  const { doc } = ctx;
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
    if (Array.isArray(c)) doc.value.checks = c;
    else doc.value.check = c;
  } else {
    reals.forEach((r, i) => {
      const c = checks[i]!;
      if (Array.isArray(c)) r.checks = c;
      else r.check = c;
    });
  }
}

export function notifyArgv(n: KNode, warn: At): string[] {
  const argv = splitCommand(n.args[0] ?? '');
  if (n.args.length > 1) warn(n, 'notify', `${n.keyword}: the user/group ${n.args.slice(1).join(' ')} is not supported; lvsd runs it as its own user`);
  return argv;
}
