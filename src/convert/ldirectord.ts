// ldirectord.cf → lvsd: global defaults resolved into each virtual (per-virtual values override
// them, as in ldirectord), one service per virtual, reals with ranges, checks via ldirectord-checks.

import type { ConvertResult, OutMap, OutService } from './model.js';
import type { CfLine, CfVirtual } from './ldirectord-parse.js';
import { parseLdirectordCf, parsePort, unquote } from './ldirectord-parse.js';
import { convertReal, normaliseRequest, parseDest, portFor } from './ldirectord-reals.js';
import { DEFAULT_SERVICE_BY_PORT, SERVICES, mapLdirectordCheck } from './ldirectord-checks.js';
import { mark, lineRecords } from './ledger.js';
import { Diagnostics, DocBuilder, commandProblem, endpointText, familyOf, serviceNameFor, timing as checkTiming, uniqueName } from './common.js';
import { SCHEDULERS } from '../config/schema.js';

export const ALERT_RULES_HINT = "alert from Prometheus instead: add the rules lvsd ships, /usr/share/lvsd/prometheus/lvsd-alerts.yml (LvsdRealDown, LvsdServiceOnSorryServers, ...), to rule_files and route them with Alertmanager";

export async function convertLdirectord(file: string, text: string): Promise<ConvertResult> {
  const parsed = parseLdirectordCf(file, text);
  if (!parsed.ok) return { ok: false, format: 'ldirectord', errors: parsed.errors };
  const { globals, virtuals } = parsed.cf;
  const diags = new Diagnostics();
  const global = new DocBuilder(diags, file);
  const g = lastByKey(globals);
  convertGlobals(globals, global);
  const missing = new Set<string>();

  const services: OutService[] = [];
  const names = new Set<string>();
  const keys = new Map<string, number>();
  const errors: { file: string; line: number; col: number; message: string }[] = [];
  for (const v of virtuals) {
    const r = await convertVirtual(file, v, g, diags, names, keys, missing);
    if ('error' in r) errors.push(r.error);
    else if (r.service) services.push(r.service);
    else global.comment('', `virtual at ${file}:${v.head.line} was not converted (see the warning above)`);
  }
  if (errors.length > 0) return { ok: false, format: 'ldirectord', errors };
  // A global default no virtual took (each sets its own, or there is none) changes nothing in ldirectord either.
  for (const l of globals) {
    if (l.outcome === undefined && !diags.list.some((d) => d.line === l.line)) global.note(l.line, '', `${l.key}=${l.value} is a default no virtual uses (each sets its own, or there is none); nothing to carry over`);
  }
  const all = [...globals, ...virtuals.flatMap((v) => [v.head, ...v.lines])];
  settle(all, diags);
  return { ok: true, format: 'ldirectord', global: { value: global.value, comments: global.comments }, services, diagnostics: diags.list, directives: lineRecords(file, all), missingPrograms: [...missing] };
}

/** ldirectord.cf holds one directive a line: a warning or note at its line accounts for it. */
function settle(lines: readonly CfLine[], diags: Diagnostics): void {
  const at = new Map<number, 'warning' | 'note'>();
  for (const d of diags.list) if (d.severity === 'warning' || !at.has(d.line)) at.set(d.line, d.severity);
  for (const l of lines) {
    const s = at.get(l.line);
    if (s) mark(l, s === 'warning' ? 'warned' : 'noted');
  }
}

/** The last line of each key (a later line overrides an earlier one, as in ldirectord); reading one marks them all read. */
interface Lookup {
  get(key: string): CfLine | undefined;
}

function lastByKey(lines: readonly CfLine[]): Lookup {
  const m = new Map<string, CfLine>();
  for (const l of lines) m.set(l.key, l);
  return {
    get: (key) => {
      const l = m.get(key);
      if (l) for (const x of lines) if (x.key === key) mark(x, 'mapped');
      return l;
    },
  };
}

function yesNo(v: string): boolean | null {
  const t = v.toLowerCase();
  return t === 'yes' ? true : t === 'no' ? false : null;
}

/** Globals that are defaults of every virtual: read (and so accounted for) where a virtual takes them. */
const VIRTUAL_DEFAULTS = new Set(['checktimeout', 'negotiatetimeout', 'checkinterval', 'failurecount', 'quiescent', 'fallback', 'fallback6', 'fallbackcommand', 'checkcount', 'connecttimeout']);

/** ldirectord's numbers: the first digits of the value (`$1 =~ /(\d+)/`), which must not be 0. */
export function ldNumber(text: string): number | null {
  const m = /(\d+)/.exec(text);
  return m && Number(m[1]) > 0 ? Number(m[1]) : null;
}

function convertGlobals(globals: readonly CfLine[], doc: DocBuilder): void {
  for (const l of globals) {
    if (!VIRTUAL_DEFAULTS.has(l.key)) mark(l, 'mapped');
    switch (l.key) {
      case 'cleanstop': {
        const b = yesNo(l.value);
        if (b === null) doc.warn(l.line, '', `cleanstop=${l.value} is not yes or no; lvsd keeps its default (clean_stop: true)`);
        else doc.value.clean_stop = b;
        break;
      }
      case 'maintenancedir':
        doc.value.maintenance_dir = l.value;
        doc.note(l.line, 'maintenance_dir', 'maintenancedir: lvsd looks for files named IP:PORT or IP in maintenance_dir (host names are not looked up)');
        break;
      case 'autoreload':
        doc.note(l.line, '', 'autoreload: lvsd always reloads when conf.d changes, and on SIGHUP');
        break;
      case 'fork':
        doc.note(l.line, '', 'fork: lvsd always runs checks concurrently (max_concurrent_checks)');
        break;
      case 'supervised':
      case 'logfile':
        doc.note(l.line, '', `${l.key}: lvsd logs JSON lines on stdout (journald); there is no log file to set`);
        break;
      case 'callback':
      case 'execute':
        doc.warn(l.line, '', `${l.key}="${l.value}" has no lvsd equivalent: lvsd reloads by itself when conf.d changes; run one lvsd per config dir (-c DIR)`);
        break;
      case 'readdquiescent':
        doc.note(l.line, '', 'readdquiescent: lvsd repairs its table at every resync (resync_interval), so a real removed by hand comes back');
        break;
      case 'emailalert':
      case 'emailalertfreq':
      case 'emailalertstatus':
      case 'emailalertfrom':
      case 'smtp':
        doc.warn(l.line, '', `${l.key}: lvsd sends no e-mail; ${ALERT_RULES_HINT}`);
        break;
      case 'checkcount':
        doc.warn(l.line, '', 'checkcount (deprecated in ldirectord) is not carried over: lvsd does not retry within a check; use failurecount (check.fall)');
        break;
      default:
        // Check timing, quiescent, fallback and fallbackcommand are defaults applied to every virtual.
        break;
    }
  }
}

type Get = (key: string) => CfLine | undefined;

async function convertVirtual(
  file: string,
  v: CfVirtual,
  g: Lookup,
  diags: Diagnostics,
  names: Set<string>,
  keys: Map<string, number>,
  missing: Set<string>,
): Promise<{ service: OutService | null } | { error: { file: string; line: number; col: number; message: string } }> {
  const own = lastByKey(v.lines);
  const get: Get = (key) => own.get(key) ?? g.get(key);
  const doc = new DocBuilder(diags, file);
  const head = v.head;
  mark(head, 'mapped');
  const v6 = head.key === 'virtual6';
  const err = (l: CfLine, message: string, col = l.valueCol) => ({ error: { file, line: l.line, col, message } });
  const lineOf = (key: string): number => get(key)?.line ?? head.line;
  for (const key of ['checktimeout', 'negotiatetimeout', 'checkinterval', 'failurecount']) {
    const l = get(key);
    if (l && ldNumber(l.value) === null) return err(l, `${key}=${l.value}: ldirectord refuses it (it needs a number of ${key === 'failurecount' ? 'failures' : 'seconds'} above 0)`);
  }
  const connect = get('connecttimeout');
  if (connect) return { error: { file, line: connect.line, col: connect.col, message: 'connecttimeout: ldirectord refuses it ("deprecated in favour of negotiatetimeout"); write negotiatetimeout' } };

  // --- the virtual address ------------------------------------------------------------------
  let fwmark: number | undefined;
  let host: string | undefined;
  let port = 0;
  const addr = head.value.trim();
  if (/^\d+$/.test(addr)) {
    fwmark = Number(addr);
    if (fwmark < 1 || fwmark > 0xffffffff) return err(head, `firewall mark ${addr} is not between 1 and 4294967295`);
  } else {
    const m = v6 ? /^\[([^\]]+)\]:(\S+)$/.exec(addr) : /^([^:\s]+):(\S+)$/.exec(addr);
    if (!m) return err(head, v6 ? 'virtual6 takes [IPv6]:PORT or a firewall mark' : 'virtual takes IP:PORT or a firewall mark');
    const p = parsePort(m[2]!);
    if (p === null || p === 0) return err(head, `"${m[2]}" is not a port number or a known service name`, head.valueCol + m[1]!.length + (v6 ? 3 : 1));
    host = m[1]!;
    port = p;
    const fam = familyOf(host);
    if (fam === null) {
      doc.warn(head.line, '', `virtual=${addr}: "${host}" is a host name; lvsd does not resolve names, so this virtual is not converted (write its address)`);
      return { service: null };
    }
    if ((fam === 6) !== v6) return err(head, v6 ? 'virtual6 needs an IPv6 address in brackets' : 'an IPv6 virtual is written virtual6=[ADDRESS]:PORT');
  }

  // --- protocol, service, checktype -------------------------------------------------------
  const protoLine = get('protocol');
  let protocol = protoLine?.value.toLowerCase() ?? (fwmark !== undefined ? 'fwm' : port === 53 ? 'udp' : 'tcp');
  if (fwmark !== undefined && protocol !== 'fwm') {
    doc.warn(protoLine!.line, '', `protocol=${protocol} on a firewall-mark virtual: ldirectord requires fwm; the mark selects the packets`);
    protocol = 'fwm';
  }
  if (fwmark === undefined && !['tcp', 'udp', 'sctp'].includes(protocol)) {
    return err(protoLine!, `protocol=${protocol} is not tcp or udp for an IP:PORT virtual`);
  }
  const serviceLine = get('service');
  const service = serviceLine?.value.toLowerCase() ?? (fwmark !== undefined ? 'none' : (DEFAULT_SERVICE_BY_PORT[port] ?? 'none'));
  if (!(SERVICES as readonly string[]).includes(service)) return err(serviceLine!, `service=${service} is not one of ${SERVICES.join(', ')}`);
  const checktypeLine = get('checktype');
  const checktype = checktypeLine?.value.toLowerCase() ?? 'negotiate';
  if (!/^(connect|negotiate|external|external-perl|ping|on|off|\d+)$/.test(checktype)) {
    return err(checktypeLine!, `checktype=${checktype} is not connect, negotiate, external, external-perl, ping, on, off or a number`);
  }

  // The same virtual twice would be one IPVS service configured twice: ipvsadm refuses the second.
  const key = fwmark !== undefined ? `fwmark ${fwmark} (IPv${v6 ? 6 : 4})` : `${protocol} ${endpointText(host!, port)}`;
  const first = keys.get(key);
  if (first !== undefined) return err(head, `${key} is already a virtual service (defined at line ${first})`, head.col);
  keys.set(key, head.line);
  const name = uniqueName(serviceNameFor({ fwmark, host, port, protocol }), names);
  const value = doc.value;
  value.name = name;
  if (fwmark !== undefined) value.fwmark = fwmark;
  else value.address = endpointText(host!, port);
  if (fwmark === undefined) value.protocol = protocol;
  for (const key of ['servicename', 'comment']) {
    const l = own.get(key);
    if (l) doc.comment('name', `${key}: ${l.value}`);
  }

  // --- scheduler, persistence, quiescent -----------------------------------------------------
  const sched = get('scheduler')?.value ?? 'wrr';
  if ((SCHEDULERS as readonly string[]).includes(sched)) value.scheduler = sched;
  else {
    doc.warn(lineOf('scheduler'), 'scheduler', `scheduler=${sched} is not an IPVS scheduler lvsd knows; wrr (ldirectord's default) is used`);
    value.scheduler = 'wrr';
  }
  const persistent = get('persistent');
  const netmask = get('netmask');
  if (persistent) {
    if (!/^\d+$/.test(persistent.value) || Number(persistent.value) < 1) return err(persistent, `persistent=${persistent.value} is not a number of seconds`);
    const p: OutMap = { timeout: Number(persistent.value) };
    if (netmask) p.netmask = /^\d+$/.test(netmask.value) ? Number(netmask.value) : netmask.value;
    value.persistence = p;
  } else if (netmask) {
    doc.note(netmask.line, '', `netmask=${netmask.value} without persistent does nothing (as in ldirectord); not carried over`);
  }
  const quiescentLine = get('quiescent');
  // ldirectord's code has said $QUIESCENT = "no" since 2009 (its man page still says yes).
  const quiescent = quiescentLine ? yesNo(quiescentLine.value) : false;
  if (quiescent === null) return err(quiescentLine!, `quiescent=${quiescentLine!.value} is not yes or no`);
  value.quiescent = quiescent;
  if (!quiescentLine) doc.comment('quiescent', "ldirectord's default is quiescent=no (in its code since 2009; its man page says yes)");

  // --- the check ---------------------------------------------------------------------------
  const setting = (key: string): string | undefined => get(key)?.value;
  const mapped = mapLdirectordCheck(
    {
      checktype,
      service,
      protocol,
      request: setting('request') === undefined ? undefined : normaliseRequest(setting('request')!),
      receive: setting('receive'),
      virtualhost: setting('virtualhost'),
      httpmethod: setting('httpmethod'),
      login: setting('login'),
      passwd: setting('passwd'),
      checkcommand: setting('checkcommand'),
    },
  );
  for (const w of mapped.warnings) doc.warn(get(w.directive)?.line ?? lineOf('checktype'), 'check', w.message);
  for (const key of ['login', 'passwd', 'database', 'secret']) {
    const l = get(key);
    if (l && !['pop', 'imap', 'ftp'].includes(service)) doc.warn(l.line, 'check', `${key}: lvsd's ${String(mapped.check?.type ?? 'none')} check does not log in; write a misc check that does`);
  }
  const check: OutMap | null = mapped.check ? { ...mapped.check } : null;
  if (check) {
    const checkport = get('checkport');
    if (checkport) {
      const p = parsePort(checkport.value);
      if (p === null || p === 0) return err(checkport, `checkport=${checkport.value} is not a port number`);
      check.port = p;
    } else if (fwmark !== undefined && check.type !== 'none' && check.type !== 'misc' && check.type !== 'ping') {
      const p = Object.entries(DEFAULT_SERVICE_BY_PORT).find(([, s]) => s === service)?.[0];
      if (p) check.port = Number(p);
    }
    timing(check, mapped.negotiate, get, ldirectordTimeout(mapped.negotiate, own, g));
  }

  // --- reals -------------------------------------------------------------------------------
  const reals: OutMap[] = [];
  for (const l of v.lines.filter((x) => x.key === 'real' || x.key === 'real6')) {
    mark(l, 'mapped');
    const r = await convertReal(l, { file, fwmark, port, v6, doc, mapped, host, service, realsSoFar: reals.length });
    if ('error' in r) return r;
    reals.push(...r.reals);
  }
  if (check === null) {
    for (const r of reals) doc.comment('reals', `real ${String(r.address)} (checktype=off)`);
    value.reals = [];
  } else {
    if (mapped.externalArgv) {
      const problem = await commandProblem(mapped.externalArgv);
      if (problem) {
        // Written as it is: the director is where it must run, and check-config there says so.
        doc.warn(lineOf('checkcommand'), 'check', `checkcommand: ${problem} on this machine; written as it is: install it on the director before lvsd starts (check-config there refuses the check until then)`);
        missing.add(mapped.externalArgv[0]!);
      }
      check.type = 'misc';
      delete check.port;
    }
    value.check = check;
    value.reals = reals;
  }

  // --- fallback (sorry server) ---------------------------------------------------------------
  const sixReals = v6 || String(reals[0]?.address ?? '').startsWith('[');
  const fb = get(sixReals ? 'fallback6' : 'fallback');
  if (fb && check !== null) {
    const s = parseDest(fb.value, fb.key === 'fallback6', port);
    if (!s) return err(fb, `${fb.key}=${fb.value} is not ${fb.key === 'fallback6' ? '[IPv6]' : 'IP'}[:PORT] [gate|masq|ipip]`);
    if (familyOf(s.host) === null) doc.warn(fb.line, '', `${fb.key}: "${s.host}" is a host name; lvsd does not resolve names, so the fallback is left out`);
    else {
      const sorry: OutMap = { address: endpointText(s.host, fwmark !== undefined ? s.port : portFor(s.method, s.port, port)) };
      if (s.method !== 'gate') sorry.forwarding = s.method;
      // One kernel destination per address: a fallback that is also a real cannot be listed twice.
      if (reals.some((r) => r.address === sorry.address)) {
        doc.warn(fb.line, 'sorry', `${fb.key}=${fb.value}: ${String(sorry.address)} is also a real of this virtual; IPVS holds one destination per address, so the fallback is left out (it would be that real, which is down)`);
      } else {
        value.sorry = [sorry];
      }
    }
  }
  const fbc = get('fallbackcommand');
  if (fbc) {
    const argv = fbc.value.split(/\s+/).filter(Boolean);
    const vs = fwmark !== undefined ? String(fwmark) : endpointText(host!, port);
    const problem = await commandProblem(argv);
    if (problem === null) {
      value.notify = { sorry_on: [...argv, 'start', vs, protocol], sorry_off: [...argv, 'stop', vs, protocol] };
    } else {
      doc.warn(fbc.line, '', `fallbackcommand: ${problem}; left out (check-config would refuse it): once installed, add notify: { sorry_on: [${[...argv, 'start', vs, protocol].join(', ')}], sorry_off: [${[...argv, 'stop', vs, protocol].join(', ')}] }`);
    }
  }
  for (const key of ['emailalert', 'emailalertfreq', 'emailalertstatus', 'emailalertfrom', 'smtp']) {
    const l = own.get(key);
    if (l) doc.warn(l.line, '', `${key}: lvsd sends no e-mail; ${ALERT_RULES_HINT}`);
  }
  const ops = own.get('ops');
  if (ops && yesNo(ops.value)) doc.warn(ops.line, '', 'ops=yes (one-packet scheduling) is not supported by lvsd; the service schedules per connection');
  const monitor = own.get('monitorfile');
  if (monitor) doc.warn(monitor.line, '', `monitorfile=${monitor.value}: lvsd logs every check result change as a JSON line instead (journalctl -u lvsd)`);
  const cleanstop = own.get('cleanstop');
  if (cleanstop) doc.warn(cleanstop.line, '', 'cleanstop in a virtual section: lvsd has one clean_stop for all services (lvsd.yaml)');
  const checkcount = own.get('checkcount');
  if (checkcount) doc.warn(checkcount.line, '', 'checkcount (deprecated in ldirectord) is not carried over: use failurecount (check.fall)');

  return {
    service: {
      name,
      file,
      line: head.line,
      reals: reals.length,
      value,
      comments: doc.comments,
    },
  };
}

/**
 * ldirectord's timeouts (ld_read_config): a connect, external or ping check waits the virtual's
 * checktimeout, else the virtual's negotiatetimeout, else the global checktimeout, else the global
 * negotiatetimeout, else 5 s; a negotiate check the same with the two names swapped, else 30 s.
 */
function ldirectordTimeout(negotiate: boolean, own: Lookup, g: Lookup): { seconds: number; from: CfLine | null } {
  const [a, b] = negotiate ? ['negotiatetimeout', 'checktimeout'] : ['checktimeout', 'negotiatetimeout'];
  const from = own.get(a) ?? own.get(b) ?? g.get(a) ?? g.get(b) ?? null;
  return { seconds: from ? (ldNumber(from.value) ?? 0) : negotiate ? 30 : 5, from };
}

function timing(check: OutMap, negotiate: boolean, get: Get, timeout: { seconds: number }): void {
  const timeoutS = timeout.seconds;
  const intervalLine = get('checkinterval');
  const intervalS = intervalLine ? (ldNumber(intervalLine.value) ?? 0) : 10;
  if (check.type === 'none') {
    check.interval = intervalS;
    return;
  }
  Object.assign(check, checkTiming(intervalS * 1000, timeoutS * 1000));
  check.rise = 1;
  const fc = get('failurecount');
  check.fall = fc ? Math.max(1, ldNumber(fc.value) ?? 1) : 1;
}
