// The ipvsadm command-line grammar for table commands (-A -E -D -a -e -d), with ipvsadm's own
// defaults and error texts, shared by the `-Sn` parser and the in-memory table.
//
// The error texts were recorded from ipvsadm 1.31 on Linux 6.1 (test/fixtures/ipvs/restore/err-*),
// except "illegal tunnel port specified", which follows the same wording but was not observed.

import type { Endpoint, Family, Forwarding, Persistence, Protocol } from '../config/model.js';
import type { IpvsReal, IpvsServiceHead } from './model.js';
import { parseIpvsEndpoint } from './keys.js';
import { realKey, serviceKey } from '../model/keys.js';
import type { ServiceTarget } from '../model/keys.js';
import { IPV6_NETMASK_MAX, IPV6_NETMASK_MIN, PERSISTENCE_TIMEOUT_MAX_S, PERSISTENCE_TIMEOUT_MIN_S } from '../config/ipvsadm-ranges.js';

export type ParsedCommand =
  | { readonly cmd: 'add-service' | 'edit-service'; readonly key: string; readonly service: IpvsServiceHead }
  | { readonly cmd: 'delete-service'; readonly key: string; readonly target: ServiceTarget }
  | {
      readonly cmd: 'add-real' | 'edit-real';
      readonly key: string;
      readonly target: ServiceTarget;
      readonly real: IpvsReal;
      /** Canonical tunnel options of an ipip real as `-Sn` prints them ("--tun-type ipip"). */
      readonly tunnel: readonly string[];
    }
  | { readonly cmd: 'delete-real'; readonly key: string; readonly target: ServiceTarget; readonly address: Endpoint };

export interface ArgError {
  readonly cmd: 'error';
  readonly message: string;
  /** The exit status ipvsadm gives this error. */
  readonly status: number;
  /** ipvsadm -R stops at this line: the lines after it are never applied (captured). */
  readonly fatal: boolean;
}

/** ipvsadm applies a bare `-p` as 360 s (captured; its man page says 300). */
export const BARE_PERSISTENCE_S = 360;
export const DEFAULT_SCHEDULER = 'wlc';
const INT_MAX = 2147483647;

const COMMANDS: Readonly<Record<string, ParsedCommand['cmd']>> = {
  '-A': 'add-service', '--add-service': 'add-service',
  '-E': 'edit-service', '--edit-service': 'edit-service',
  '-D': 'delete-service', '--delete-service': 'delete-service',
  '-a': 'add-real', '--add-server': 'add-real',
  '-e': 'edit-real', '--edit-server': 'edit-real',
  '-d': 'delete-real', '--delete-server': 'delete-real',
};
/** ipvsadm's own command names, used in its messages. */
const CMD_NAMES: Readonly<Record<ParsedCommand['cmd'], string>> = {
  'add-service': 'add-service', 'edit-service': 'edit-service', 'delete-service': 'delete-service',
  'add-real': 'add-server', 'edit-real': 'edit-server', 'delete-real': 'delete-server',
};
const WITH_ARG: Readonly<Record<string, string>> = {
  '-t': 't', '--tcp-service': 't', '-u': 'u', '--udp-service': 'u', '--sctp-service': 'sctp',
  '-f': 'f', '--fwmark-service': 'f', '-s': 's', '--scheduler': 's', '-M': 'M', '--netmask': 'M',
  '-b': 'b', '--sched-flags': 'b', '--pe': 'pe', '-r': 'r', '--real-server': 'r',
  '-w': 'w', '--weight': 'w', '-x': 'x', '--u-threshold': 'x', '-y': 'y', '--l-threshold': 'y',
  '--tun-type': 'tun-type', '--tun-port': 'tun-port',
};
const NO_ARG: Readonly<Record<string, string>> = {
  '-6': '6', '--ipv6': '6', '-o': 'o', '--ops': 'o', '-g': 'g', '--gatewaying': 'g',
  '-m': 'm', '--masquerading': 'm', '-i': 'i', '--ipip': 'i', '-n': 'n', '--numeric': 'n',
  '--tun-nocsum': 'tun-nocsum', '--tun-csum': 'tun-csum', '--tun-remcsum': 'tun-remcsum',
};
/** ipvsadm's option names, for "Illegal '%s' option with the '%s' command". */
const OPT_NAMES: Readonly<Record<string, string>> = {
  s: 'scheduler', p: 'persistent', M: 'netmask', r: 'real-server', fwd: 'forwarding-method',
  w: 'weight', x: 'u-threshold', y: 'l-threshold', o: 'ops', b: 'sched-flags', pe: 'pe',
};
const SERVICE_OPTS = ['s', 'p', 'M', 'o', 'b', 'pe'];
const REAL_OPTS = ['fwd', 'w', 'x', 'y'];
const FLAG_BITS: Readonly<Record<string, number>> = {
  'flag-1': 1, 'flag-2': 2, 'flag-3': 4, 'sh-fallback': 1, 'sh-port': 2, 'mh-fallback': 1, 'mh-port': 2,
};
const TRY_HELP = "Try `ipvsadm -h' or 'ipvsadm --help' for more information.";

const fail = (message: string): ArgError => ({ cmd: 'error', message, status: 2, fatal: true });
/** popt's complaints: ipvsadm -R prints them and goes on with the next line (captured). */
const poptFail = (message: string): ArgError => ({ cmd: 'error', message, status: 255, fatal: false });

/** Scheduler flags in the order and spelling ipvsadm prints them ("sh-fallback,sh-port"). */
export function schedFlagNames(scheduler: string, bits: number): string[] {
  const names = scheduler === 'sh' || scheduler === 'mh'
    ? [`${scheduler}-fallback`, `${scheduler}-port`, 'flag-3']
    : ['flag-1', 'flag-2', 'flag-3'];
  return names.filter((_, i) => (bits & (1 << i)) !== 0);
}

/** Dotted IPv4 netmask the way inet_aton reads it: "24" is the number 24, i.e. 0.0.0.24 (captured). */
function parseV4Netmask(text: string): string | null {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n > 0xffffffff) return null;
    return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
  }
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return null;
  return parts.map(Number).join('.');
}

function intIn(text: string, min: number, max: number): number | null {
  if (!/^-?\d+$/.test(text)) return null;
  const n = Number(text);
  return n >= min && n <= max ? n : null;
}

/** Expand popt-style clusters of argument-less short options ("-Sn" -> "-S", "-n"). */
function expand(tokens: readonly string[]): string[] {
  const out: string[] = [];
  for (const t of tokens) {
    if (/^-[A-Za-z6]{2,}$/.test(t) && [...t.slice(1)].every((c) => Object.hasOwn(COMMANDS, `-${c}`) || Object.hasOwn(NO_ARG, `-${c}`))) {
      for (const c of t.slice(1)) out.push(`-${c}`);
    } else out.push(t);
  }
  return out;
}

/**
 * Parse one ipvsadm invocation (without the program name; a leading "ipvsadm" as in -R input is
 * skipped). Only the table commands are understood; anything else is an ArgError.
 */
export function parseCommandLine(
  input: readonly string[],
  options: { readonly savedOutput?: boolean } = {},
): ParsedCommand | ArgError {
  const tokens = expand(input[0] === 'ipvsadm' ? input.slice(1) : input);
  let cmd: ParsedCommand['cmd'] | null = null;
  const opts = new Map<string, string>();
  let fwd: Forwarding | null = null;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const c = Object.hasOwn(COMMANDS, t) ? COMMANDS[t] : undefined;
    if (c) {
      if (cmd) return fail(`invalid option \`${t}'`);
      cmd = c;
    } else if (t === '-p' || t === '--persistent') {
      const next = tokens[i + 1];
      if (next !== undefined && !next.startsWith('-')) {
        opts.set('p', next);
        i++;
      } else opts.set('p', String(BARE_PERSISTENCE_S));
    } else if (Object.hasOwn(WITH_ARG, t)) {
      const v = tokens[i + 1];
      if (v === undefined) return poptFail(`${t}: missing argument`);
      opts.set(WITH_ARG[t]!, v);
      i++;
    } else if (Object.hasOwn(NO_ARG, t)) {
      const o = NO_ARG[t]!;
      if (o === 'g' || o === 'm' || o === 'i') fwd = o === 'g' ? 'gate' : o === 'm' ? 'masq' : 'ipip';
      else opts.set(o, '');
    } else if (t.startsWith('-')) {
      return poptFail(`${t}: unknown option`);
    } else {
      return { cmd: 'error', message: TRY_HELP, status: 255, fatal: true };
    }
  }
  if (!cmd) return { cmd: 'error', message: TRY_HELP, status: 255, fatal: true };
  if (fwd) opts.set('fwd', '');

  const isService = cmd === 'add-service' || cmd === 'edit-service' || cmd === 'delete-service';
  const allowed = cmd === 'delete-service' || cmd === 'delete-real' ? [] : isService ? SERVICE_OPTS : REAL_OPTS;
  for (const o of [...SERVICE_OPTS, ...REAL_OPTS]) {
    if (opts.has(o) && !allowed.includes(o)) {
      return fail(`Illegal '${OPT_NAMES[o]}' option with the '${CMD_NAMES[cmd]}' command`);
    }
  }
  if (isService && opts.has('r')) {
    return fail(`Illegal 'real-server' option with the '${CMD_NAMES[cmd]}' command`);
  }

  // The virtual service.
  const protoOpt = (['t', 'u', 'sctp', 'f'] as const).filter((o) => opts.has(o));
  if (protoOpt.length !== 1) {
    return fail(`You need to supply the 'service-address' option for the '${CMD_NAMES[cmd]}' command`);
  }
  let target: ServiceTarget;
  if (protoOpt[0] === 'f') {
    // ipvsadm prints marks of 2^31 and up as negative numbers (and refuses those as input).
    const text = opts.get('f')!;
    let mark = intIn(text, options.savedOutput ? -0x80000000 : 1, 0xffffffff);
    if (mark !== null && mark < 0) mark += 2 ** 32;
    if (mark === null || mark === 0) return fail(`invalid fwmark value \`${text}' specified`);
    target = { kind: 'fwmark', fwmark: mark, family: opts.has('6') ? 6 : 4 };
  } else {
    const ep = parseIpvsEndpoint(opts.get(protoOpt[0]!)!);
    if (!ep || (ep.family === 6 && ep.port === null)) return fail('illegal virtual server address[:port] specified');
    const protocol: Protocol = protoOpt[0] === 't' ? 'tcp' : protoOpt[0] === 'u' ? 'udp' : 'sctp';
    target = { kind: 'address', protocol, vip: { host: ep.host, family: ep.family, port: ep.port ?? 0 } };
  }
  const key = serviceKey(target);
  const family: Family = target.kind === 'fwmark' ? target.family : target.vip.family;
  const svcPort = target.kind === 'address' ? target.vip.port : 0;

  if (cmd === 'delete-service') return { cmd, key, target };
  if (cmd === 'add-service' || cmd === 'edit-service') {
    const scheduler = opts.get('s') ?? DEFAULT_SCHEDULER;
    let persistence: Persistence | null = null;
    if (opts.has('p')) {
      const timeoutS = intIn(opts.get('p')!, PERSISTENCE_TIMEOUT_MIN_S, PERSISTENCE_TIMEOUT_MAX_S);
      if (timeoutS === null) return fail(`invalid timeout value \`${opts.get('p')}' specified`);
      let netmask = family === 6 ? '128' : '255.255.255.255';
      const m = opts.get('M');
      if (m !== undefined) {
        if (family === 6) {
          const bits = intIn(m, IPV6_NETMASK_MIN, IPV6_NETMASK_MAX);
          if (bits === null) return fail('illegal ipv6 netmask specified');
          netmask = String(bits);
        } else {
          const dotted = parseV4Netmask(m);
          if (dotted === null) return fail('illegal virtual server persistent mask specified');
          netmask = dotted;
        }
      }
      persistence = { timeoutS, netmask };
    } else if (opts.has('M') && family === 6 && intIn(opts.get('M')!, IPV6_NETMASK_MIN, IPV6_NETMASK_MAX) === null) {
      return fail('illegal ipv6 netmask specified');
    }
    if (target.kind === 'address' && svcPort === 0 && !persistence) {
      return fail('Zero port specified for non-persistent service');
    }
    if (opts.has('o') && target.kind === 'address' && target.protocol !== 'udp') {
      return fail('One-Packet Scheduling is only for UDP virtual services');
    }
    const extraArgs: string[] = [];
    if (opts.has('pe')) extraArgs.push('--pe', opts.get('pe')!);
    if (opts.has('o')) extraArgs.push('-o');
    if (opts.has('b')) {
      let bits = 0;
      for (const flag of opts.get('b')!.split(',')) {
        const bit = Object.hasOwn(FLAG_BITS, flag) ? FLAG_BITS[flag] : undefined;
        if (bit === undefined) return fail(`invalid scheduler flag \`${flag}'`);
        if (/^(sh|mh)-/.test(flag) && !flag.startsWith(`${scheduler}-`)) {
          return fail(`incompatible scheduler flag \`${flag}'`);
        }
        bits |= bit;
      }
      if (bits) extraArgs.push('-b', schedFlagNames(scheduler, bits).join(','));
    }
    const common = { key, family, scheduler, persistence, extraArgs };
    const service: IpvsServiceHead = target.kind === 'address'
      ? { ...common, kind: 'address', protocol: target.protocol, vip: target.vip }
      : { ...common, kind: 'fwmark', fwmark: target.fwmark };
    return { cmd, key, service };
  }

  // A real server.
  if (!opts.has('r')) {
    return fail(`You need to supply the 'real-server' option for the '${CMD_NAMES[cmd]}' command`);
  }
  const ep = parseIpvsEndpoint(opts.get('r')!);
  if (!ep || (ep.family === 6 && ep.port === null)) {
    return fail('illegal real server address[:port] specified');
  }
  const forwarding: Forwarding = fwd ?? 'gate';
  let port = ep.port ?? svcPort;
  // ipvsadm gives direct-routing and tunnelled reals the service's port (captured); fwmark keeps it.
  if (cmd !== 'delete-real' && target.kind === 'address' && forwarding !== 'masq') port = svcPort;
  const address: Endpoint = { host: ep.host, family: ep.family, port };
  if (cmd === 'delete-real') return { cmd, key, target, address };
  if (ep.family !== family && forwarding !== 'ipip') {
    return fail('Different address family is allowed only for tunneling servers');
  }
  const weight = opts.has('w') ? intIn(opts.get('w')!, 0, INT_MAX) : 1;
  if (weight === null) return fail('illegal weight specified');
  const upper = opts.has('x') ? intIn(opts.get('x')!, 0, INT_MAX) : 0;
  if (upper === null) return fail('illegal u_threshold specified');
  const lower = opts.has('y') ? intIn(opts.get('y')!, 0, INT_MAX) : 0;
  if (lower === null) return fail('illegal l_threshold specified');
  let tunnel: string[] = [];
  if (forwarding === 'ipip') {
    const type = opts.get('tun-type') ?? 'ipip';
    const csum = opts.has('tun-remcsum') ? '--tun-remcsum' : opts.has('tun-csum') ? '--tun-csum' : '--tun-nocsum';
    if (type === 'ipip') tunnel = ['--tun-type', 'ipip'];
    else if (type === 'gre') tunnel = ['--tun-type', 'gre', csum];
    else if (type === 'gue') {
      const tunPort = intIn(opts.get('tun-port') ?? '', 1, 65535);
      if (tunPort === null) {
        if (!opts.has('tun-port')) return fail("You need to supply the 'tun-port' option for the 'gue' tunnel type");
        return fail('illegal tunnel port specified');
      }
      tunnel = ['--tun-type', 'gue', '--tun-port', String(tunPort), csum];
    } else return fail('illegal tunnel type specified');
  }
  const plainIpip = tunnel.length === 2 && tunnel[1] === 'ipip';
  const real: IpvsReal = {
    key: realKey(address), address, forwarding, weight, upperThreshold: upper, lowerThreshold: lower,
    ...(tunnel.length > 0 && !plainIpip ? { tunnel } : {}),
  };
  return { cmd, key, target, real, tunnel };
}

/** Whether ipvsadm knows this option (so `-Sn` text with anything else can keep it aside). */
export function isKnownOption(token: string): boolean {
  return [COMMANDS, WITH_ARG, NO_ARG].some((o) => Object.hasOwn(o, token)) || token === '-p' || token === '--persistent';
}

/** Split one -R line into arguments the way ipvsadm does (whitespace-separated). */
export function splitLine(line: string): string[] {
  return line.trim().split(/\s+/).filter((t) => t !== '');
}
