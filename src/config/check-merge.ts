// Merges the check of one real, key by key, over built-in < lvsd.yaml defaults < service < real,
// and resolves it into a CheckSpec.
//
// Type-specific keys: a key must apply to the check type in force at the level that sets it (the
// type given there, or else inherited); otherwise it is a mistake and reported. A key that did apply
// where it was set but not to the final type (a later level changed the type) is dropped silently:
// `defaults: {type: http, path: /health}` under a service with `type: dns` just loses `path`.

import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { CheckSpec, CheckType, SourcePos } from './model.js';
import type { IssueList } from './issues.js';
import { formatPos } from './issues.js';
import type { PathSeg, YamlDoc } from './positions.js';
import type { RawCheck } from './schema.js';
import { BUILTIN, checkKeyApplies, typesUsingKey } from './schema.js';
import { formatDuration } from './duration.js';

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

/** A misc command to verify (exists, executable) once everything else is resolved. */
export interface CommandRef {
  readonly program: string;
  readonly pos: SourcePos;
}

type Key = keyof RawCheck;
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
  if (full && timeoutMs >= intervalMs) {
    const ti = merged.get('timeout')?.level ?? -1;
    const ii = merged.get('interval')?.level ?? -1;
    // Point at whichever of the two was written closer to the real; mention where the other one is.
    const [pos, other] = ti >= ii ? [posOf('timeout'), posOf('interval')] : [posOf('interval'), posOf('timeout')];
    const otherName = ti >= ii ? 'interval' : 'timeout';
    const from = other ? ` (${otherName} set at ${formatPos(other)})` : ` (${otherName} is the built-in default)`;
    issues.add(
      pos ?? target.realPos,
      `check timeout ${formatDuration(timeoutMs)} must be shorter than its interval ${formatDuration(intervalMs)}${from}`,
    );
  }

  const port = get<number>('port') ?? target.realPort;
  if (full && port === 0 && finalType !== 'none' && finalType !== 'misc') {
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
    case 'tcp':
      spec = { ...common, type: 'tcp', send: get<string>('send') ?? null, expect: get<string>('expect') ?? null };
      break;
    case 'http':
    case 'https':
      // A HEAD response has no body, so expect_body could never match: say so now, not at 3 a.m.
      if (full && get<string>('method') === 'HEAD' && get<string>('expect_body') !== undefined) {
        issues.add(posOf('expect_body')!, `"expect_body" cannot match a HEAD response (it has no body); use method GET (method HEAD set at ${formatPos(posOf('method')!)})`);
      }
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
      };
      break;
    case 'dns': {
      const query = get<string>('query');
      if (full && query === undefined) issues.add(typePos(), 'a dns check needs "query" (the name to ask for, e.g. query: example.org)');
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
