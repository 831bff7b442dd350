// Merges the check of one real, key by key, over built-in < lvsd.yaml defaults < service < real,
// and resolves it into a CheckSpec.
//
// Type-specific keys: a key must apply to the check type in force at the level that sets it (the
// type given there, or else inherited); otherwise it is a mistake and reported. A key that did apply
// where it was set but not to the final type (a later level changed the type) is dropped silently:
// `defaults: {type: http, path: /health}` under a service with `type: dns` just loses `path`.

import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { CheckSpec, CheckType, DialogueStep, HttpUrlSpec, SourcePos } from './model.js';
import type { IssueList } from './issues.js';
import { formatPos } from './issues.js';
import type { PathSeg, YamlDoc } from './positions.js';
import type { RawCheck } from './schema.js';
import { ALTERNATIVES } from './check-alternatives.js';
import { MAX_TIMER_MS, formatDuration } from './duration.js';
import { BUILTIN, checkKeyApplies, typesUsingKey } from './schema.js';
import { dnsQueryProblem } from './dns-name.js';

export interface CheckLevel {
  /** For messages: "lvsd.yaml defaults", "the service check", "this real's check". */
  readonly label: string;
  readonly check: RawCheck | undefined;
  readonly doc: YamlDoc;
  /** Where the `check` mapping sits in `doc`. */
  readonly path: readonly PathSeg[];
}

export interface CheckTargetInfo {
  /** The real's port; 0 for a fwmark real written without one. */
  readonly realPort: number;
  /** The real's address in the text, for errors about the real as a whole. */
  readonly realPos: SourcePos;
  /** dns `transport` when the check does not say: follows the service protocol. */
  readonly dnsTransport: 'udp' | 'tcp';
  /** Relative command paths ("checks/smtp") are taken from here. */
  readonly configDir: string;
  /**
   * Only report keys that do not apply at their level: used for lvsd.yaml defaults and service
   * checks on their own, whose missing pieces a real's check may still supply.
   */
  readonly partial?: boolean;
}

/** A misc command (or ping) to verify (exists, executable) once everything else is resolved. */
export interface CommandRef {
  readonly program: string;
  readonly pos: SourcePos;
  /** What the message calls it: "command" (default), "ping". */
  readonly what?: string;
}

type Key = keyof RawCheck;

/** The program a ping check runs (iputils-ping), looked up on PATH like a misc command name. */
export const PING_PROGRAM = 'ping';

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
type Origin = { value: unknown; level: number };

export function resolveCheck(
  levels: readonly CheckLevel[],
  target: CheckTargetInfo,
  issues: IssueList,
): { spec: CheckSpec; command: CommandRef | null } {
  // The type in force at each level, and which level set it (-1: built-in).
  let type: CheckType = BUILTIN.check.type;
  let typeLevel = -1;
  const typeAt: { type: CheckType; from: number }[] = [];
  for (const [i, level] of levels.entries()) {
    if (level.check?.type !== undefined) [type, typeLevel] = [level.check.type, i];
    typeAt.push({ type, from: typeLevel });
  }
  const finalType = type;
  const label = (i: number): string => (i < 0 ? 'the built-in default' : levels[i]!.label);

  const merged = new Map<Key, Origin>();
  for (const [i, level] of levels.entries()) {
    for (const [key, value] of Object.entries(level.check ?? {}) as [Key, unknown][]) {
      if (key === 'type' || value === undefined) continue;
      const here = typeAt[i]!;
      if (!checkKeyApplies(key, here.type)) {
        const owners = typesUsingKey(key).join(' and ');
        const inherited = here.from === i ? '' : ` (type ${here.type} from ${label(here.from)})`;
        issues.add(level.doc.at([...level.path, key], 'key'), `"${key}" does not apply to checks of type ${here.type}${inherited}; it is for ${owners} checks`);
        continue;
      }
      if (!checkKeyApplies(key, finalType)) continue;
      merged.set(key, { value, level: i });
    }
  }

  // Keys that say the same thing two ways (urls vs path, dialogue vs send/expect): the most specific
  // level wins as a whole; both at one level is a mistake.
  for (const alt of ALTERNATIVES) {
    if (!checkKeyApplies(alt.key, finalType)) continue;
    const own = merged.get(alt.key);
    if (own === undefined) continue;
    for (const other of alt.instead) {
      const o = merged.get(other);
      if (o === undefined) continue;
      if (o.level === own.level) {
        const lv = levels[own.level]!;
        issues.add(lv.doc.at([...lv.path, other], 'key'), `"${other}" cannot be used together with "${alt.key}": ${alt.why}`);
        merged.delete(other);
      } else if (o.level < own.level) {
        merged.delete(other);
      }
    }
    if (alt.instead.some((k) => (merged.get(k)?.level ?? -2) > own.level)) merged.delete(alt.key);
  }

  const get = <T>(key: Key): T | undefined => merged.get(key)?.value as T | undefined;
  const posOf = (key: Key): SourcePos | null => {
    const o = merged.get(key);
    return o ? levels[o.level]!.doc.at([...levels[o.level]!.path, key]) : null;
  };
  const typePos = (): SourcePos =>
    typeLevel < 0 ? target.realPos : levels[typeLevel]!.doc.at([...levels[typeLevel]!.path, 'type']);

  const intervalMs = get<number>('interval') ?? BUILTIN.check.intervalMs;
  const timeoutMs = get<number>('timeout') ?? BUILTIN.check.timeoutMs;
  const full = !target.partial;
  // A timeout longer than the interval is allowed (ldirectord's sample has checktimeout=3 with
  // checkinterval=1, keepalived allows connect_timeout above delay_loop): a probe never overlaps
  // itself, the next run starts at the later of start + interval and the end of the previous run.

  // The first round waits for the slowest first check: interval + timeout + 1 s, one timer. Beyond
  // what a timer holds it fired at once, and a sorry server went in before any check ran.
  if (intervalMs + timeoutMs + 1000 > MAX_TIMER_MS) {
    issues.add(
      posOf('interval') ?? posOf('timeout') ?? target.realPos,
      `interval + timeout (${formatDuration(intervalMs)} + ${formatDuration(timeoutMs)}) is longer than a timer can hold: together at most 596h (a timer holds 24.8 days)`,
    );
  }

  const port = get<number>('port') ?? target.realPort;
  if (full && port === 0 && finalType !== 'none' && finalType !== 'misc' && finalType !== 'ping') {
    issues.add(target.realPos, `this real has no port, so its ${finalType} check needs "port" (check: { port: N })`);
  }

  const common = {
    intervalMs,
    timeoutMs,
    rise: get<number>('rise') ?? BUILTIN.check.rise,
    fall: get<number>('fall') ?? BUILTIN.check.fall,
    port,
  };
  let command: CommandRef | null = null;
  let spec: CheckSpec;
  switch (finalType) {
    case 'tcp': {
      const dialogue = get<{ send?: string; expect?: string }[]>('dialogue');
      spec = {
        ...common,
        type: 'tcp',
        send: get<string>('send') ?? null,
        expect: get<string>('expect') ?? null,
        ...(dialogue === undefined ? {} : { dialogue: dialogue.map((d): DialogueStep => ({ send: d.send ?? null, expect: d.expect ?? null })) }),
      };
      break;
    }
    case 'udp':
      spec = { ...common, type: 'udp', send: get<string>('send') ?? '', expect: get<string>('expect') ?? null };
      break;
    case 'ping':
      // `ping` must be installed for the check to run: verified at load like a misc command.
      if (full) command = { program: PING_PROGRAM, pos: typePos(), what: 'ping' };
      // ICMP has no port: 0, so one host behind several services and ports is pinged once.
      spec = { ...common, port: 0, type: 'ping' };
      break;
    case 'http':
    case 'https':
      // A HEAD response has no body, so expect_body could never match: say so now, not at 3 a.m.
      for (const key of ['expect_body', 'expect_digest', 'urls'] as const) {
        if (full && get<string>('method') === 'HEAD' && get(key) !== undefined) {
          issues.add(posOf(key)!, `"${key}" cannot match a HEAD response (it has no body); use method GET (method HEAD set at ${formatPos(posOf('method')!)})`);
        }
      }
      const digest = get<string>('expect_digest');
      const urls = get<{ path: string; expect_status?: [number, number][]; expect_body?: string; expect_digest?: string }[]>('urls');
      spec = {
        ...common,
        type: finalType,
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
      break;
    case 'dns': {
      const query = get<string>('query');
      if (full && query === undefined) issues.add(typePos(), 'a dns check needs "query" (the name to ask for, e.g. query: example.org)');
      // What the DNS checker's encoder can send (dns-name.ts follows it): what loads is what it can send.
      const problem = query === undefined ? null : queryProblem(query, get<string>('query_type') ?? BUILTIN.dns.queryType);
      if (problem !== null) issues.add(posOf('query')!, `query: ${problem}`);
      spec = {
        ...common,
        type: 'dns',
        query: query ?? '',
        queryType: get<string>('query_type') ?? BUILTIN.dns.queryType,
        transport: get<'udp' | 'tcp'>('transport') ?? target.dnsTransport,
        expectRcode: get<string>('expect_rcode') ?? BUILTIN.dns.expectRcode,
        expectAnswer: get<string>('expect_answer') ?? null,
      };
      break;
    }
    case 'misc': {
      const argv = get<string[]>('command');
      if (full && argv === undefined) {
        issues.add(typePos(), 'a misc check needs "command" (the program and its arguments as a list)');
      }
      const program = argv?.[0] ?? '';
      // A relative path with a slash is relative to the config dir, not to the daemon's cwd.
      const resolved = program.includes('/') && !isAbsolute(program) ? resolvePath(target.configDir, program) : program;
      if (full && argv !== undefined) {
        const o = merged.get('command')!;
        command = { program: resolved, pos: levels[o.level]!.doc.at([...levels[o.level]!.path, 'command', 0]) };
      }
      spec = {
        ...common,
        type: 'misc',
        command: argv ? [resolved, ...argv.slice(1)] : [],
        dynamicWeight: get<boolean>('dynamic_weight') ?? false,
      };
      break;
    }
    case 'none':
      spec = { ...common, type: 'none' };
      break;
  }
  return { spec, command };
}
