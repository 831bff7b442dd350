// Merges the check of one real, key by key, over built-in < lvsd.yaml defaults < service < real,
// and resolves it into a CheckSpec.
//
// Type-specific keys: a key must apply to the check type in force at the level that sets it (the
// type given there, or else inherited); otherwise it is a mistake and reported. A key that did apply
// where it was set but not to the final type (a later level changed the type) is dropped silently:
// `defaults: {type: http, path: /health}` under a service with `type: dns` just loses `path`.

import type { CheckSpec, CheckType, Protocol, SourcePos } from './model.js';
import type { IssueList } from './issues.js';
import type { PathSeg, YamlDoc } from './positions.js';
import type { RawCheck } from './schema.js';
import { CHECK_TYPE_DESCRIPTORS, checkKeyApplies, typesUsingKey } from './check-types/index.js';
import type { CheckTypeDescriptor, CommandRef } from './check-types/index.js';
import { MAX_TIMER_MS, formatDuration } from './duration.js';
import { BUILTIN } from './schema.js';

export type { CommandRef } from './check-types/index.js';
export { PING_PROGRAM } from './check-types/ping.js';

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
  /** The service's protocol; null for a fwmark service. */
  readonly serviceProtocol: Protocol | null;
  /** Relative command paths ("checks/smtp") are taken from here. */
  readonly configDir: string;
  /**
   * Only report keys that do not apply at their level: used for lvsd.yaml defaults and service
   * checks on their own, whose missing pieces a real's check may still supply.
   */
  readonly partial?: boolean;
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

  const merged = new Map<string, Origin>();
  for (const [i, level] of levels.entries()) {
    for (const [key, value] of Object.entries(level.check ?? {}) as [string, unknown][]) {
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
  const descriptor: CheckTypeDescriptor<CheckSpec> = CHECK_TYPE_DESCRIPTORS[finalType];
  for (const alt of descriptor.alternatives ?? []) {
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

  const get = <T>(key: string): T | undefined => merged.get(key)?.value as T | undefined;
  const posOf = (key: string, ...inside: readonly PathSeg[]): SourcePos | null => {
    const o = merged.get(key);
    return o ? levels[o.level]!.doc.at([...levels[o.level]!.path, key, ...inside]) : null;
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
  if (full && port === 0 && !descriptor.portless) {
    issues.add(target.realPos, `this real has no port, so its ${finalType} check needs "port" (check: { port: N })`);
  }

  return descriptor.build({
    get,
    posOf,
    typePos,
    common: {
      intervalMs,
      timeoutMs,
      rise: get<number>('rise') ?? BUILTIN.check.rise,
      fall: get<number>('fall') ?? BUILTIN.check.fall,
      port,
    },
    serviceProtocol: target.serviceProtocol,
    configDir: target.configDir,
    full,
    issues,
  });
}
