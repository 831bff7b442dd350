// A validated service document to its resolved model: defaults applied, addresses normalised, keys
// built, reals, sorry servers and their checks resolved, and the rules that involve several fields
// of one service checked.

import type { AgentSpec, Endpoint, Family, Forwarding, Persistence, RealConfig, ServiceConfig, SourcePos } from './model.js';
import { formatEndpoint, parseEndpoint } from './endpoint.js';
import { realKey, serviceKey } from '../model/keys.js';
import type { IssueList } from './issues.js';
import { formatPos } from './issues.js';
import type { PathSeg, YamlDoc } from './positions.js';
import type { RawAgent, RawDefaults, RawService, RawSorry, RawReal } from './schema.js';
import { BUILTIN, NAME_PATTERN, NOTIFY_EVENTS } from './schema.js';
import type { CheckLevel, CommandRef } from './check-merge.js';
import type { ListLevel } from './check-list.js';
import { resolveCheckList } from './check-list.js';
import { IPV6_NETMASK_MAX, IPV6_NETMASK_MIN } from './ipvsadm-ranges.js';

export interface ServiceContext {
  readonly doc: YamlDoc;
  /** The service name when the document gives none: file base name, "-2", "-3"... for later documents. */
  readonly defaultName: string;
  readonly defaults: RawDefaults | undefined;
  /** The check under lvsd.yaml `defaults`, as a merge level; null without lvsd.yaml. */
  readonly defaultsCheck: CheckLevel | null;
  readonly configDir: string;
  readonly issues: IssueList;
  /** lvsd.yaml runs the kernel's sync daemon, which refuses mixed-family pools. */
  readonly syncDaemon?: boolean;
}

export interface ResolvedService {
  readonly service: ServiceConfig;
  /** Where the name / kernel identity are written, for duplicate messages across files. */
  readonly namePos: SourcePos;
  /** null when the identity could not be read (an invalid address, already reported). */
  readonly keyPos: SourcePos | null;
  readonly commands: readonly CommandRef[];
}

interface Dest {
  readonly path: PathSeg[];
  readonly endpoint: Endpoint;
  readonly pos: SourcePos;
  readonly forwarding: Forwarding;
}

export function resolveService(raw: RawService, ctx: ServiceContext): ResolvedService {
  const { doc, issues } = ctx;
  const name = raw.name ?? ctx.defaultName;
  const namePos = raw.name !== undefined ? doc.at(['name']) : doc.start();
  if (raw.name === undefined && !NAME_PATTERN.test(name)) {
    issues.add(namePos, `the file name makes the service name "${name}", which is not a valid name (letters, digits, ".", "_", "-"); add a "name:" key`);
  }

  // --- identity: address or fwmark --------------------------------------------------------------
  const fwmark = raw.address === undefined ? raw.fwmark : undefined;
  if (raw.address !== undefined && raw.fwmark !== undefined) {
    issues.add(doc.at(['fwmark'], 'key'), 'give either "address" or "fwmark", not both');
  }
  if (raw.address === undefined && raw.fwmark === undefined) {
    issues.add(doc.start(), 'a service needs "address" (IP:PORT) or "fwmark" (a firewall mark)');
  }
  if (raw.fwmark !== undefined && raw.protocol !== undefined) {
    issues.add(doc.at(['protocol'], 'key'), '"protocol" cannot be used with "fwmark": the firewall mark already selects the packets');
  }
  let vip: Endpoint | null = null;
  if (raw.address !== undefined) {
    const r = parseEndpoint(raw.address, false, true);
    if (r.ok) vip = r.endpoint;
    else issues.add(doc.at(['address']), `address: ${r.error}`);
    if (vip?.port === 0 && !raw.persistence) {
      // ipvsadm.c: "Zero port specified for non-persistent service".
      issues.add(doc.at(['address']), 'address: port 0 is every port of the address, which IPVS serves only with persistence (ipvsadm refuses it otherwise): add persistence: { timeout: ... }, or use a fwmark service');
    }
  }
  const protocol = raw.protocol ?? BUILTIN.protocol;
  const serviceForwarding: Forwarding = raw.forwarding ?? ctx.defaults?.forwarding ?? BUILTIN.forwarding;

  // --- destinations: parse all, then settle the family ------------------------------------------
  const parseDest = (path: PathSeg[], text: string, what: string, forwarding: Forwarding): Dest | null => {
    // A fwmark service's sorry server must name its port (see the README configuration reference); reals may omit
    // it: IPVS then keeps each packet's destination port. Reals of an address service default to the VIP port.
    const portOptional = !(fwmark !== undefined && what === 'sorry server');
    const r = parseEndpoint(text, portOptional);
    const pos = doc.at([...path, 'address']);
    if (!r.ok) {
      const hint = portOptional ? '' : ' (a sorry server of a fwmark service needs an explicit port: every marked packet goes there)';
      issues.add(pos, `${what} address: ${r.error}${hint}`);
      return null;
    }
    let endpoint = r.endpoint;
    if (endpoint.port === 0 && vip) endpoint = { ...endpoint, port: vip.port };
    return { path, endpoint, pos, forwarding };
  };
  const reals = raw.reals.map((r, i) => parseDest(['reals', i], r.address, 'real', r.forwarding ?? serviceForwarding));
  const sorry = (raw.sorry ?? []).map((s, i) => parseDest(['sorry', i], s.address, 'sorry server', s.forwarding ?? serviceForwarding));
  const all = [...reals, ...sorry].filter((d): d is Dest => d !== null);

  // IPVS forwards to a destination of the other family only by tunnelling (ip_vs_ctl.c accepts a
  // mixed pool for IP_VS_CONN_F_TUNNEL alone): a fwmark service takes its family from its first
  // destination that is not tunnelled, else from its first one.
  const tunnelled = (d: Dest): boolean => d.forwarding === 'ipip';
  const familyOrigin = vip ? null : (all.find((d) => !tunnelled(d)) ?? all[0] ?? null);
  const family: Family = vip?.family ?? familyOrigin?.endpoint.family ?? 4;
  if (fwmark !== undefined && all.length === 0 && raw.reals.length + (raw.sorry?.length ?? 0) === 0) {
    issues.add(doc.at(['fwmark']), 'a fwmark service takes its address family (IPv4 or IPv6) from its reals: list at least one real or sorry server');
  }
  // Without a valid service address there is nothing to compare the reals with.
  for (const d of vip || fwmark !== undefined ? all : []) {
    if (d.endpoint.family === family) continue;
    const v = (f: Family): string => `IPv${f}`;
    if (tunnelled(d)) {
      if (ctx.syncDaemon) issues.add(d.pos, `${v(d.endpoint.family)} address ${formatEndpoint(d.endpoint)} in an ${v(family)} service: the kernel refuses a mixed-family pool while its connection sync daemon runs (sync_daemon in lvsd.yaml)`);
      continue;
    }
    const why = familyOrigin
      ? `its first destination that is not tunnelled, at ${formatPos(familyOrigin.pos)}, is ${v(family)}`
      : `the service address is ${v(family)}`;
    issues.add(d.pos, `${v(d.endpoint.family)} address ${formatEndpoint(d.endpoint)} in an ${v(family)} service (${why}); IPVS mixes families only for tunnelled destinations (forwarding: ipip)`);
  }

  // --- checks -----------------------------------------------------------------------------------
  const serviceCheck: ListLevel = { label: 'the service check', check: raw.check, checks: raw.checks, doc, path: ['check'], listPath: ['checks'] };
  const baseLevels: ListLevel[] = ctx.defaultsCheck ? [ctx.defaultsCheck, serviceCheck] : [serviceCheck];
  const serviceProtocol = fwmark !== undefined ? null : protocol;
  const commands: CommandRef[] = [];
  // Reported once for the service on its own, so a service without reals is still checked.
  resolveCheckList(baseLevels, { realPort: 1, realPos: doc.start(), serviceProtocol, configDir: ctx.configDir, partial: true }, issues);

  // Reals without a check of their own resolve to the same specs for the same port: resolve once per
  // port and share the (immutable) result. It is the per-real cost of big configs (issue 13).
  const shared = new Map<number, ReturnType<typeof resolveCheckList>>();

  // One kernel destination per address: a sorry server cannot also be a real of the same service.
  const seen = new Map<string, { pos: SourcePos; sorry: boolean }>();
  const build = (d: Dest | null, rawDest: RawReal | RawSorry, isSorry: boolean): RealConfig | null => {
    if (!d) return null;
    const key = realKey(d.endpoint);
    const forwarding = rawDest.forwarding ?? serviceForwarding;
    const first = seen.get(key);
    if (first) {
      const what = isSorry ? 'sorry server' : 'real';
      const msg = first.sorry === isSorry ? `${what} ${key} is listed twice in this service` : `sorry server ${key} is also a real of this service`;
      issues.add(d.pos, `${msg} (also at ${formatPos(first.pos)})`);
    } else {
      seen.set(key, { pos: d.pos, sorry: isSorry });
    }
    if (vip && forwarding !== 'masq' && d.endpoint.port !== vip.port) {
      // ipvsadm silently rewrites the port for gate/ipip; the table would never match the config.
      issues.add(d.pos, `with forwarding ${forwarding} the port cannot be changed: ${key} must use the service port ${vip.port} (or use forwarding: masq)`);
    }
    const checkTarget = { realPort: d.endpoint.port, realPos: d.pos, serviceProtocol, configDir: ctx.configDir } as const;
    let check: RealConfig['check'];
    let checks: RealConfig['checks'];
    if (isSorry) {
      // Sorry servers are never probed; the spec only carries the port for consumers that show it.
      check = { type: 'none', ...timing(), port: d.endpoint.port };
    } else {
      const rawReal = rawDest as RawReal;
      const realLevel: ListLevel = {
        label: "this real's check",
        check: rawReal.check,
        checks: rawReal.checks,
        doc,
        path: [...d.path, 'check'],
        listPath: [...d.path, 'checks'],
      };
      const port = d.endpoint.port;
      const own = rawReal.check !== undefined || rawReal.checks !== undefined || port === 0;
      let r = own ? undefined : shared.get(port);
      if (r === undefined) {
        const before = issues.length;
        r = resolveCheckList([...baseLevels, realLevel], checkTarget, issues);
        commands.push(...r.commands);
        // Only a clean result is shared: an issue may point at this real.
        if (!own && issues.length === before) shared.set(port, r);
      }
      check = r.specs[0]!;
      if (r.specs.length > 1) checks = r.specs;
    }
    return {
      key,
      address: d.endpoint,
      weight: rawDest.weight ?? BUILTIN.weight,
      forwarding,
      check,
      slowStartMs: isSorry ? 0 : ((rawDest as RawReal).slow_start ?? raw.slow_start ?? ctx.defaults?.slow_start ?? BUILTIN.slowStartMs),
      ...agentOf(isSorry ? null : resolveAgent(ctx.defaults?.agent, raw.agent, (rawDest as RawReal).agent, doc, d.path, issues)),
      ...(checks === undefined ? {} : { checks }),
      pos: doc.at(d.path),
    };
  };
  const realConfigs = raw.reals.map((r, i) => build(reals[i] ?? null, r, false)).filter((r) => r !== null);
  const sorryConfigs = (raw.sorry ?? []).map((s, i) => build(sorry[i] ?? null, s, true)).filter((s) => s !== null);

  // Notify: each event's command from the service, else from lvsd.yaml defaults; programs are
  // checked at load like MISC commands.
  const notifyCommands: Partial<Record<(typeof NOTIFY_EVENTS)[number], readonly string[]>> = {};
  for (const event of NOTIFY_EVENTS) {
    const own = raw.notify?.[event];
    const inherited = ctx.defaults?.notify?.[event];
    const argv = own ?? inherited;
    if (!argv) continue;
    notifyCommands[event] = argv;
    const pos = own ? doc.at(['notify', event]) : (ctx.defaultsCheck?.doc.at(['defaults', 'notify', event]) ?? doc.start());
    commands.push({ program: argv[0]!, pos });
  }
  const notify = {
    commands: notifyCommands,
    timeoutMs: raw.notify?.timeout ?? ctx.defaults?.notify?.timeout ?? BUILTIN.notifyTimeoutMs,
  };

  const common = {
    name,
    family,
    scheduler: raw.scheduler ?? ctx.defaults?.scheduler ?? BUILTIN.scheduler,
    persistence: raw.persistence ? resolvePersistence(raw.persistence, family, doc, issues) : null,
    quiescent: raw.quiescent ?? ctx.defaults?.quiescent ?? BUILTIN.quiescent,
    quorum: raw.quorum ?? ctx.defaults?.quorum ?? BUILTIN.quorum,
    hysteresis: raw.hysteresis ?? ctx.defaults?.hysteresis ?? BUILTIN.hysteresis,
    notify,
    reals: realConfigs,
    sorry: sorryConfigs,
    pos: doc.start(),
  };
  let service: ServiceConfig;
  let keyPos: SourcePos | null;
  if (fwmark !== undefined) {
    service = { ...common, kind: 'fwmark', fwmark, key: serviceKey({ kind: 'fwmark', fwmark, family }) };
    keyPos = doc.at(['fwmark']);
  } else {
    const v = vip ?? { host: '0.0.0.0', family: 4 as const, port: 0 };
    service = { ...common, kind: 'address', vip: v, protocol, key: serviceKey({ kind: 'address', protocol, vip: v }) };
    keyPos = vip ? doc.at(['address']) : null;
  }
  return { service, namePos, keyPos, commands };
}

const agentOf = (agent: AgentSpec | null): { agent?: AgentSpec } => (agent ? { agent } : {});

/** The agent of one real: its keys over the service's over lvsd.yaml defaults; a port is required. */
function resolveAgent(
  defaults: RawAgent | undefined,
  service: RawAgent | undefined,
  real: RawAgent | undefined,
  doc: YamlDoc,
  path: PathSeg[],
  issues: IssueList,
): AgentSpec | null {
  // An empty mapping at every level (the shipped lvsd.yaml shows `agent: {}`) is no agent.
  if (![defaults, service, real].some((a) => a && Object.keys(a).length > 0)) return null;
  const pick = <K extends keyof RawAgent>(k: K): RawAgent[K] | undefined => real?.[k] ?? service?.[k] ?? defaults?.[k];
  const port = pick('port');
  const intervalMs = pick('interval') ?? BUILTIN.agent.intervalMs;
  const timeoutMs = pick('timeout') ?? Math.min(BUILTIN.agent.timeoutMs, intervalMs);
  if (port === undefined) {
    issues.add(real ? doc.at([...path, 'agent']) : service ? doc.at(['agent']) : doc.at(path), 'agent: needs "port" (the TCP port the realserver\'s agent listens on)');
    return null;
  }
  if (timeoutMs > intervalMs) {
    issues.add(real?.timeout !== undefined ? doc.at([...path, 'agent', 'timeout']) : service?.timeout !== undefined ? doc.at(['agent', 'timeout']) : doc.at(path), 'agent: timeout must not be longer than interval');
  }
  return { port, intervalMs, timeoutMs, send: pick('send') ?? null };
}

function timing(): { intervalMs: number; timeoutMs: number; rise: number; fall: number } {
  const { intervalMs, timeoutMs, rise, fall } = BUILTIN.check;
  return { intervalMs, timeoutMs, rise, fall };
}

function resolvePersistence(
  raw: NonNullable<RawService['persistence']>,
  family: Family,
  doc: YamlDoc,
  issues: IssueList,
): Persistence {
  const timeoutMs = raw.timeout;
  if (timeoutMs % 1000 !== 0) {
    issues.add(doc.at(['persistence', 'timeout']), 'persistence: timeout must be a whole number of seconds (IPVS counts in seconds)');
  }
  const timeoutS = Math.max(1, Math.round(timeoutMs / 1000));
  if (raw.netmask === undefined) return { timeoutS, netmask: family === 4 ? '255.255.255.255' : '128' };
  const netmask = parseNetmask(raw.netmask, family);
  if (netmask === null) {
    const want = family === 4 ? 'a dotted IPv4 netmask such as 255.255.255.0, or a prefix length 0-32' : `a prefix length ${IPV6_NETMASK_MIN}-${IPV6_NETMASK_MAX} (IPv6 services have no dotted netmask, and ipvsadm refuses 0)`;
    issues.add(doc.at(['persistence', 'netmask']), `persistence: netmask ${JSON.stringify(raw.netmask)} is not valid here; write ${want}`);
  }
  return { timeoutS, netmask: netmask ?? (family === 4 ? '255.255.255.255' : '128') };
}

/** IPv4: a contiguous dotted mask (a prefix length is converted); IPv6: a prefix length as text. */
export function parseNetmask(value: string | number, family: Family): string | null {
  const text = String(value).trim().replace(/^\//, '');
  if (/^\d{1,3}$/.test(text)) {
    const len = Number(text);
    if (family === 6) return len >= IPV6_NETMASK_MIN && len <= IPV6_NETMASK_MAX ? String(len) : null;
    if (len > 32) return null;
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    return [24, 16, 8, 0].map((s) => (mask >>> s) & 255).join('.');
  }
  if (family === 6) return null;
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  const mask = parts.reduce((acc, p) => ((acc << 8) | Number(p)) >>> 0, 0);
  // Contiguous ones then zeros: inverting gives 2^k - 1.
  const inv = ~mask >>> 0;
  if ((inv & (inv + 1)) !== 0) return null;
  return parts.map(Number).join('.');
}
