// One top-level value of lvsd.yaml (`listen`, `control_socket`) for the commands that only need to
// find the running daemon (status, drain, disable, enable, admin, sync-role). They read it the way
// they always did when the config was invalid: leniently, without validating the rest. A plain
// file (top-level `key: value` lines, a plain or simply quoted value) is read line by line, so
// these commands start without loading the YAML parser; anything else goes to the parser.
// test/unit/config-global-peek.test.ts holds both readings equal over generated files.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const KEY_LINE = /^([A-Za-z_][A-Za-z0-9_-]*):(?:[ \t]+(.*))?$/;
const OPENERS: Record<string, string> = { '"': '"', "'": "'", '[': ']', '{': '}' };
const PLAIN = /^[A-Za-z0-9_./][A-Za-z0-9_./:@%+=-]*$/;
/** Plain scalars YAML 1.2's core schema reads as null, a boolean or a number, not as a string. */
const NOT_A_STRING = [
  /^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE)$/,
  /^[-+]?[0-9._]*(?:[eE][-+]?[0-9]+)?$/,
  /^0[xo]/,
  /^[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)$/,
];

/**
 * The string value of top-level `key` in a plain lvsd.yaml, `undefined` when the file has no such
 * key, or `null` when the file is not plain enough to be sure without the YAML parser.
 */
export function peekPlain(text: string, key: string): { value: string | undefined } | null {
  if (text.includes('\r') || text.charCodeAt(0) === 0xfeff) return null;
  const lines = text.split('\n');
  const seen = new Set<string>();
  let value: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '' || line.startsWith('#')) continue;
    // Indented lines belong to the key above; before any key, the whole mapping is indented.
    if (line.startsWith(' ')) {
      if (seen.size === 0) return null;
      continue;
    }
    const m = KEY_LINE.exec(line);
    if (m === null) return null;
    const name = m[1]!;
    if (seen.has(name)) return null;
    seen.add(name);
    const rest = (m[2] ?? '').trim();
    const closer = OPENERS[rest.charAt(0)];
    if (closer !== undefined && (rest.length < 2 || !rest.endsWith(closer))) return null;
    if (name !== key) continue;
    // A plain value may go on over indented lines; a value on its own lines is not a string here.
    const next = lines.slice(i + 1).find((l) => l.trim() !== '');
    if (next !== undefined && /^[ \t]/.test(next)) return null;
    const v = rest.replace(/[ \t]+#.*$/, '');
    const quoted = /^"([^"\\]*)"$/.exec(v) ?? /^'([^']*)'$/.exec(v);
    if (quoted !== null) value = quoted[1]!;
    else if (PLAIN.test(v) && !NOT_A_STRING.some((p) => p.test(v))) value = v;
    else return null;
  }
  return { value };
}

/** The top-level value as YAML reads it, or undefined when the file is unreadable, not YAML or has no such key. */
export async function peekGlobal(configDir: string, key: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(join(configDir, 'lvsd.yaml'), 'utf8');
  } catch {
    return undefined;
  }
  const plain = peekPlain(text, key);
  if (plain !== null) return plain.value;
  const { parse } = await import('yaml');
  try {
    const raw = parse(text) as Record<string, unknown> | null;
    return typeof raw === 'object' && raw !== null ? raw[key] : undefined;
  } catch {
    return undefined;
  }
}
