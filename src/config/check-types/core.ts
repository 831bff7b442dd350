// What every check type's descriptor is (config side): its fragment of the check schema, its
// defaults, how its CheckSpec is built from the merged keys with its own load-time rules, what status
// shows as its target, and the few facts the rest of config/ asks of a type (needs a port? list forms?).
// One file per type beside this one; index.ts is the registry. The checkers are in src/checks/
// (index.ts there maps a type to its checker), so loading a config never loads a checker.

import type { z } from 'zod';
import type { Protocol } from '../../model/endpoint.js';
import type { IssueList } from '../issues.js';
import type { PathSeg } from '../positions.js';
import type { SourcePos } from '../source-pos.js';

/** The fields every check spec has, whatever its type. */
export interface CheckCommon {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly rise: number;
  readonly fall: number;
  /** The port the check connects to: `check.port`, else the real's port. */
  readonly port: number;
}

/** A misc command (or ping) to verify (exists, executable) once everything else is resolved. */
export interface CommandRef {
  readonly program: string;
  readonly pos: SourcePos;
  /** What the message calls it: "command" (default), "ping". */
  readonly what?: string;
}

/** The keys every check takes, whatever its type. */
export const COMMON_CHECK_KEYS: readonly string[] = ['type', 'interval', 'timeout', 'rise', 'fall', 'port'];

/** What `build` gets: the merged keys of the final type and where they were written. */
export interface BuildContext {
  get<T>(key: string): T | undefined;
  /** Where a merged key (or a part of its value: `posOf('command', 0)`) was written; null when no level set it. */
  posOf(key: string, ...inside: readonly PathSeg[]): SourcePos | null;
  /** Where `type` was written (the real's address when only the built-in default set it). */
  typePos(): SourcePos;
  readonly common: CheckCommon;
  /** The service's protocol; null for a fwmark service (a dns check's default transport follows it). */
  readonly serviceProtocol: Protocol | null;
  readonly configDir: string;
  /** False for lvsd.yaml defaults and service checks on their own (a real's check may supply the rest). */
  readonly full: boolean;
  readonly issues: IssueList;
}

/** A list key that says what other keys of the same type say one at a time (urls vs path). */
export interface Alternative {
  /** The list form. */
  readonly key: string;
  /** The single form it replaces as a whole. */
  readonly instead: readonly string[];
  readonly why: string;
}

export interface CheckTypeDescriptor<S extends CheckCommon = CheckCommon, F extends z.ZodRawShape = z.ZodRawShape> {
  /**
   * The type-specific keys (beyond COMMON_CHECK_KEYS) with their value schemas: the type's part of
   * the check mapping. Two types may share a key only with the same schema (tcp and udp `send`).
   */
  readonly fields: F;
  /** Keys holding lists of mappings, with the keys an entry takes (for "unknown key" suggestions). */
  readonly listEntries?: Readonly<Record<string, readonly string[]>>;
  /** Keys that replace others as a whole when a more specific level sets them (check-merge.ts). */
  readonly alternatives?: readonly Alternative[];
  /** True when the check needs no port (a fwmark real without one is fine). */
  readonly portless: boolean;
  build(ctx: BuildContext): { spec: S; command: CommandRef | null };
  /**
   * What a check of this type looks at, as status shows it beside the check's type: "HOST:PORT",
   * "http://HOST:PORT/path", "HOST:PORT udp A example.org". `host` is the real's host as a URL
   * takes it (IPv6 in brackets).
   */
  target(spec: NoInfer<S>, host: string): string;
}

/** host:port, or the host alone for a portless check given no port: the `target` of most types. */
export function hostPort(spec: CheckCommon, host: string): string {
  return spec.port === 0 ? host : `${host}:${spec.port}`;
}

/** The descriptor of a type whose spec is S, its fields kept exact (the check schema's type comes from them). */
export function describeCheckType<S extends CheckCommon, const F extends z.ZodRawShape>(d: CheckTypeDescriptor<S, F>): CheckTypeDescriptor<S, F> {
  return d;
}
