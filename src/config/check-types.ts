// One descriptor per check type, config side: the keys the type takes (its fragment of the check
// schema) and how its CheckSpec is built from the merged keys, with its own load-time rules.
// check-merge.ts merges the levels and calls the type's `build`; nothing else in config/ lists the
// types' keys. The checkers are in src/checks/ (index.ts maps a type to its checker, loaded lazily
// where it pulls a library in), so loading a config never loads a checker.

import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { CheckSpec, CheckType, DialogueStep, HttpUrlSpec, SourcePos } from './model.js';
import type { IssueList } from './issues.js';
import type { PathSeg } from './positions.js';
import { formatPos } from './issues.js';
import { BUILTIN, CHECK_TYPES } from './schema.js';
import { dnsQueryProblem } from './dns-name.js';

/** A misc command (or ping) to verify (exists, executable) once everything else is resolved. */
export interface CommandRef {
  readonly program: string;
  readonly pos: SourcePos;
  /** What the message calls it: "command" (default), "ping". */
  readonly what?: string;
}

/** The program a ping check runs (iputils-ping), looked up on PATH like a misc command name. */
export const PING_PROGRAM = 'ping';

/** The keys every check takes, whatever its type. */
export const COMMON_CHECK_KEYS: readonly string[] = ['type', 'interval', 'timeout', 'rise', 'fall', 'port'];

/** What `build` gets: the merged keys of the final type and where they were written. */
export interface BuildContext {
  get<T>(key: string): T | undefined;
  /** Where a merged key (or a part of its value: `posOf('command', 0)`) was written; null when no level set it. */
  posOf(key: string, ...inside: readonly PathSeg[]): SourcePos | null;
  /** Where `type` was written (the real's address when only the built-in default set it). */
  typePos(): SourcePos;
  readonly common: { intervalMs: number; timeoutMs: number; rise: number; fall: number; port: number };
  /** dns `transport` when the check does not say: follows the service protocol. */
  readonly dnsTransport: 'udp' | 'tcp';
  readonly configDir: string;
  /** False for lvsd.yaml defaults and service checks on their own (a real's check may supply the rest). */
  readonly full: boolean;
  readonly issues: IssueList;
}

export interface CheckTypeDescriptor {
  /** The type-specific keys (beyond COMMON_CHECK_KEYS). */
  readonly keys: readonly string[];
  /** True when the check needs no port (a fwmark real without one is fine). */
  readonly portless: boolean;
  build(ctx: BuildContext): { spec: CheckSpec; command: CommandRef | null };
  /**
   * What a check of this type looks at, as status shows it beside the check's type: "HOST:PORT",
   * "http://HOST:PORT/path", "HOST:PORT udp A example.org". `host` is the real's host as a URL
   * takes it (IPv6 in brackets). Only a spec of this descriptor's type is passed in.
   */
  target(spec: CheckSpec, host: string): string;
}

/** host:port, or the host alone for a portless check given no port. */
function hostPort(spec: CheckSpec, host: string): string {
  return spec.port === 0 ? host : `${host}:${spec.port}`;
}

function httpTarget(spec: CheckSpec, host: string): string {
  if (spec.type !== 'http' && spec.type !== 'https') return hostPort(spec, host);
  const paths = spec.urls?.map((u) => u.path) ?? [spec.path];
  const more = paths.length > 1 ? ` (+${paths.length - 1} more)` : '';
  return `${spec.type}://${hostPort(spec, host)}${paths[0] ?? '/'}${more}`;
}

const HTTP_KEYS = ['path', 'host', 'method', 'expect_status', 'expect_body', 'expect_digest', 'urls', 'tls_verify', 'headers'];

/** dnsQueryProblem per (name, type), so 10,000 reals sharing one query encode it once. */
const queryVerdicts = new Map<string, string | null>();
function queryProblem(query: string, type: string): string | null {
  const id = `${type} ${query}`;
  let verdict = queryVerdicts.get(id);
  if (verdict === undefined) {
    verdict = dnsQueryProblem(query, type);
    if (queryVerdicts.size >= 1000) queryVerdicts.clear();
    queryVerdicts.set(id, verdict);
  }
  return verdict;
}

function buildHttp(type: 'http' | 'https'): CheckTypeDescriptor['build'] {
  return ({ get, posOf, common, full, issues }) => {
    // A HEAD response has no body, so expect_body could never match: say so now, not at 3 a.m.
    for (const key of ['expect_body', 'expect_digest', 'urls'] as const) {
      if (full && get<string>('method') === 'HEAD' && get(key) !== undefined) {
        issues.add(posOf(key)!, `"${key}" cannot match a HEAD response (it has no body); use method GET (method HEAD set at ${formatPos(posOf('method')!)})`);
      }
    }
    const digest = get<string>('expect_digest');
    const urls = get<{ path: string; expect_status?: [number, number][]; expect_body?: string; expect_digest?: string }[]>('urls');
    let spec: CheckSpec = {
      ...common,
      type,
      method: get<'GET' | 'HEAD'>('method') ?? BUILTIN.http.method,
      path: get<string>('path') ?? BUILTIN.http.path,
      host: get<string>('host') ?? null,
      expectStatus: get<[number, number][]>('expect_status') ?? BUILTIN.http.expectStatus.map(([a, b]) => [a, b] as const),
      expectBody: get<string>('expect_body') ?? null,
      tlsVerify: get<boolean>('tls_verify') ?? BUILTIN.http.tlsVerify,
      headers: get<Record<string, string>>('headers') ?? {},
      ...(digest === undefined ? {} : { expectDigest: digest }),
    };
    if (urls !== undefined) {
      // Each page takes the check's expect_status unless it gives its own; body and digest are per page.
      const status = spec.expectStatus;
      const list = urls.map((u): HttpUrlSpec => ({
        path: u.path,
        expectStatus: u.expect_status ?? status,
        expectBody: u.expect_body ?? null,
        expectDigest: u.expect_digest ?? null,
      }));
      spec = { ...spec, urls: list };
    }
    return { spec, command: null };
  };
}

export const CHECK_TYPE_DESCRIPTORS: Readonly<Record<CheckType, CheckTypeDescriptor>> = {
  tcp: {
    keys: ['send', 'expect', 'dialogue'],
    portless: false,
    target: (spec, host) => hostPort(spec, host) + (spec.type === 'tcp' && spec.dialogue ? ` (dialogue, ${spec.dialogue.length} steps)` : ''),
    build: ({ get, common }) => {
      const dialogue = get<{ send?: string; expect?: string }[]>('dialogue');
      const spec: CheckSpec = {
        ...common,
        type: 'tcp',
        send: get<string>('send') ?? null,
        expect: get<string>('expect') ?? null,
        ...(dialogue === undefined ? {} : { dialogue: dialogue.map((d): DialogueStep => ({ send: d.send ?? null, expect: d.expect ?? null })) }),
      };
      return { spec, command: null };
    },
  },
  http: { keys: HTTP_KEYS, portless: false, build: buildHttp('http'), target: httpTarget },
  https: { keys: HTTP_KEYS, portless: false, build: buildHttp('https'), target: httpTarget },
  dns: {
    keys: ['query', 'query_type', 'transport', 'expect_rcode', 'expect_answer'],
    portless: false,
    target: (spec, host) => hostPort(spec, host) + (spec.type === 'dns' ? ` ${spec.transport} ${spec.queryType} ${spec.query}` : ''),
    build: ({ get, posOf, typePos, common, dnsTransport, full, issues }) => {
      const query = get<string>('query');
      if (full && query === undefined) issues.add(typePos(), 'a dns check needs "query" (the name to ask for, e.g. query: example.org)');
      // What the DNS checker's encoder can send (dns-name.ts follows it): what loads is what it can send.
      const problem = query === undefined ? null : queryProblem(query, get<string>('query_type') ?? BUILTIN.dns.queryType);
      if (problem !== null) issues.add(posOf('query')!, `query: ${problem}`);
      const spec: CheckSpec = {
        ...common,
        type: 'dns',
        query: query ?? '',
        queryType: get<string>('query_type') ?? BUILTIN.dns.queryType,
        transport: get<'udp' | 'tcp'>('transport') ?? dnsTransport,
        expectRcode: get<string>('expect_rcode') ?? BUILTIN.dns.expectRcode,
        expectAnswer: get<string>('expect_answer') ?? null,
      };
      return { spec, command: null };
    },
  },
  misc: {
    keys: ['command', 'dynamic_weight'],
    portless: true,
    // The program only: its arguments may be long, and may hold what an operator would not show.
    target: (spec, host) => (spec.type === 'misc' ? `${spec.command[0] ?? ''} for ${hostPort(spec, host)}` : hostPort(spec, host)),
    build: ({ get, posOf, typePos, common, configDir, full, issues }) => {
      const argv = get<string[]>('command');
      if (full && argv === undefined) issues.add(typePos(), 'a misc check needs "command" (the program and its arguments as a list)');
      const program = argv?.[0] ?? '';
      // A relative path with a slash is relative to the config dir, not to the daemon's cwd.
      const resolved = program.includes('/') && !isAbsolute(program) ? resolvePath(configDir, program) : program;
      const at = posOf('command', 0);
      const command = full && argv !== undefined && at !== null ? { program: resolved, pos: at } : null;
      const spec: CheckSpec = {
        ...common,
        type: 'misc',
        command: argv ? [resolved, ...argv.slice(1)] : [],
        dynamicWeight: get<boolean>('dynamic_weight') ?? false,
      };
      return { spec, command };
    },
  },
  udp: {
    keys: ['send', 'expect'],
    portless: false,
    target: hostPort,
    build: ({ get, common }) => ({ spec: { ...common, type: 'udp', send: get<string>('send') ?? '', expect: get<string>('expect') ?? null }, command: null }),
  },
  ping: {
    keys: [],
    portless: true,
    target: (_spec, host) => host,
    // `ping` must be installed for the check to run: verified at load like a misc command. ICMP has
    // no port: 0, so one host behind several services and ports is pinged once.
    build: ({ typePos, common, full }) => ({
      spec: { ...common, port: 0, type: 'ping' },
      command: full ? { program: PING_PROGRAM, pos: typePos(), what: 'ping' } : null,
    }),
  },
  none: { keys: [], portless: true, target: hostPort, build: ({ common }) => ({ spec: { ...common, type: 'none' }, command: null }) },
};

/** Type-specific keys per type, as the messages and the key checks need them. */
export const CHECK_KEYS_BY_TYPE: Readonly<Record<CheckType, readonly string[]>> = Object.fromEntries(
  CHECK_TYPES.map((t) => [t, CHECK_TYPE_DESCRIPTORS[t].keys]),
) as Record<CheckType, readonly string[]>;

export function checkKeyApplies(key: string, type: CheckType): boolean {
  return COMMON_CHECK_KEYS.includes(key) || CHECK_KEYS_BY_TYPE[type].includes(key);
}

/** The check types a type-specific key belongs to, for messages ("http and https"). */
export function typesUsingKey(key: string): CheckType[] {
  return CHECK_TYPES.filter((t) => CHECK_KEYS_BY_TYPE[t].includes(key));
}
