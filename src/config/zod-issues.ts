// Turns zod's issues into messages an operator can act on, placed at the offending key or value.

import type { z } from 'zod';
import type { IssueList } from './issues.js';
import type { PathSeg, YamlDoc } from './positions.js';
import { allowedKeysAt } from './schema.js';

type ZodIssue = z.core.$ZodIssue;

/**
 * Validate `schema` against the document's content and report problems. Returns the parsed value,
 * or, when every problem can be cut out without changing what the rest means (an unknown key, a
 * bad weight...), the value without them, so the rest of the document is still checked; else null.
 */
export function validateDoc<S extends z.ZodType>(
  doc: YamlDoc,
  schema: S,
  fileKind: 'service' | 'global',
  issues: IssueList,
): z.output<S> | null {
  let js: unknown;
  try {
    js = doc.toJS();
  } catch (err) {
    // Aliases were resolved and counted when parsing; anything left here is still this document's problem only.
    issues.add(doc.start(), `YAML: ${(err as Error).message}`);
    return null;
  }
  const result = schema.safeParse(js, { reportInput: true });
  if (result.success) return result.data;
  // A mistake inside an aliased node is met once per alias: report it once, at the anchor's text.
  const seen = new Set<string>();
  for (const issue of result.error.issues) {
    const path = issue.path.filter((p): p is PathSeg => typeof p === 'string' || typeof p === 'number');
    const pos = doc.at(path);
    const id = `${pos.line}:${pos.col}:${issue.code}:${issue.message}:${String(path[path.length - 1])}`;
    if (seen.has(id)) continue;
    seen.add(id);
    report(doc, issue, fileKind, issues);
  }
  const pruned = prune(js, result.error.issues);
  if (pruned === null) return null;
  const again = schema.safeParse(pruned);
  return again.success ? again.data : null;
}

/** Keys whose absence means only "use the default", with no effect on any other rule. */
const HARMLESS = new Set([
  'weight', 'rise', 'fall', 'quiescent', 'scheduler', 'send', 'expect', 'path', 'host', 'method',
  'expect_status', 'expect_body', 'tls_verify', 'query_type', 'expect_rcode', 'expect_answer',
  'dynamic_weight', 'log_level', 'clean_stop', 'max_concurrent_checks', 'check_threads', 'resync_interval', 'drain_timeout',
]);

/**
 * The document with every invalid value cut out, whatever it means for the rest, and the names of
 * the keys cut; null when even that does not validate (a required key is the problem). Only for
 * finding the other problems of an invalid document in the same run (`check-config` promises every
 * problem at once): what it yields is never used as configuration.
 */
export function provisionalDoc<S extends z.ZodType>(doc: YamlDoc, schema: S): { data: z.output<S>; cut: ReadonlySet<string> } | null {
  let js: unknown;
  try {
    js = structuredClone(doc.toJS());
  } catch {
    return null;
  }
  const cut = new Set<string>();
  // A few rounds: cutting one value can expose the next (a union that now fails on another branch).
  for (let round = 0; round < 4; round++) {
    const r = schema.safeParse(js);
    if (r.success) return { data: r.data, cut };
    for (const issue of r.error.issues) {
      const path = issue.path.filter((p): p is PathSeg => typeof p === 'string' || typeof p === 'number');
      if (issue.code === 'unrecognized_keys') {
        const obj = getAt(js, path);
        for (const k of issue.keys) if (obj) delete obj[k];
        continue;
      }
      const last = path[path.length - 1];
      if (typeof last !== 'string') return null;
      const parent = getAt(js, path.slice(0, -1));
      if (!parent || !(last in parent)) return null;
      delete parent[last];
      cut.add(last);
    }
  }
  return null;
}

function prune(js: unknown, zodIssues: readonly ZodIssue[]): unknown {
  const copy: unknown = structuredClone(js);
  for (const issue of zodIssues) {
    let path = issue.path.filter((p): p is PathSeg => typeof p === 'string' || typeof p === 'number');
    if (issue.code === 'unrecognized_keys') {
      const obj = getAt(copy, path);
      for (const k of issue.keys) if (obj) delete obj[k];
      continue;
    }
    // A broken part of `persistence` or `headers` drops the whole mapping.
    for (const whole of ['persistence', 'headers']) {
      const i = path.indexOf(whole);
      if (i >= 0) path = path.slice(0, i + 1);
    }
    const last = path[path.length - 1];
    if (typeof last !== 'string' || !(HARMLESS.has(last) || last === 'persistence' || last === 'headers')) return null;
    const parent = getAt(copy, path.slice(0, -1));
    if (parent) delete parent[last];
  }
  return copy;
}

function getAt(value: unknown, path: readonly PathSeg[]): Record<PropertyKey, unknown> | null {
  let v = value;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return null;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>) : null;
}

function report(doc: YamlDoc, issue: ZodIssue, fileKind: 'service' | 'global', issues: IssueList): void {
  const path = issue.path.filter((p): p is PathSeg => typeof p === 'string' || typeof p === 'number');
  const label = pathLabel(path);
  const at = (suffix = ''): string => (label ? `${label}${suffix}: ` : '');
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeysAt(fileKind, path);
      for (const key of issue.keys) {
        const where = label ? ` in ${label}` : '';
        issues.add(doc.at([...path, key], 'key'), `unknown key "${key}"${where}${suggest(key, allowed)}`);
      }
      return;
    }
    case 'invalid_type': {
      if (issue.input === undefined) {
        const parent = path.slice(0, -1);
        const key = path[path.length - 1];
        const where = parent.length ? `${pathLabel(parent)}: ` : '';
        issues.add(doc.at(parent, 'key'), `${where}missing required key "${String(key)}"`);
        return;
      }
      issues.add(doc.at(path), `${at()}expected ${expectedWord(issue.expected)}, got ${describeValue(issue.input)}`);
      return;
    }
    case 'invalid_value':
      issues.add(
        doc.at(path),
        `${at()}must be one of ${issue.values.map(String).join(', ')}; got ${describeValue(issue.input)}`,
      );
      return;
    case 'too_small':
      issues.add(doc.at(path), `${at()}${tooSmall(issue)}`);
      return;
    case 'too_big':
      issues.add(doc.at(path), `${at()}${tooBig(issue)}`);
      return;
    case 'invalid_union':
      issues.add(doc.at(path), `${at()}got ${describeValue(issue.input)}, which is not allowed here`);
      return;
    default:
      issues.add(doc.at(path), `${at()}${issue.message}`);
  }
}

function tooSmall(issue: z.core.$ZodIssueTooSmall): string {
  const min = String(issue.minimum);
  if (issue.origin === 'string') return 'must not be empty';
  if (issue.origin === 'array') return `needs at least ${min} item${min === '1' ? '' : 's'}`;
  return `must be at least ${min}; got ${describeValue(issue.input)}`;
}

function tooBig(issue: z.core.$ZodIssueTooBig): string {
  const max = String(issue.maximum);
  if (issue.origin === 'array' && Array.isArray(issue.input)) return `has ${issue.input.length} items; at most ${max} are allowed`;
  return `must be at most ${max}; got ${describeValue(issue.input)}`;
}

/** "reals.check.interval": list indexes are left out, the line:col already says which item. */
export function pathLabel(path: readonly PathSeg[]): string {
  return path.filter((seg) => typeof seg === 'string').join('.');
}

function expectedWord(expected: string): string {
  const words: Record<string, string> = {
    string: 'a string',
    number: 'a number',
    int: 'a whole number',
    boolean: 'true or false',
    array: 'a list',
    object: 'a mapping (key: value)',
    record: 'a mapping (key: value)',
  };
  return words[expected] ?? expected;
}

export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'an empty value';
  if (typeof v === 'string') return `"${v}"`;
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

/** " (did you mean "interval"?)" for a near miss, else the keys allowed here. */
function suggest(key: string, allowed: readonly string[]): string {
  if (allowed.length === 0) return '';
  let best: string | null = null;
  let bestDist = Infinity;
  for (const a of allowed) {
    const d = editDistance(key.toLowerCase(), a);
    if (d < bestDist) [best, bestDist] = [a, d];
  }
  if (best !== null && bestDist <= Math.max(1, Math.floor(key.length / 3))) return ` (did you mean "${best}"?)`;
  return ` (allowed: ${allowed.join(', ')})`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
