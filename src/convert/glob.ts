// keepalived's include globs (glob(3) with GLOB_BRACE): `*`, `?`, `[...]` in any path component and
// `{a,b}` alternatives, sorted, hidden files matched only by a pattern starting with a dot.
// Directories matched are reported apart (keepalived skips them); nothing here opens a file.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const MAX_ALTERNATIVES = 1000;
const MAX_MATCHES = 10_000;

export interface GlobResult {
  readonly matches: string[];
  readonly directories: string[];
}

export function expandGlob(pattern: string): GlobResult {
  const matches = new Set<string>();
  const directories = new Set<string>();
  for (const p of braces(pattern).sort()) {
    for (const m of walk(p)) {
      if (matches.size + directories.size >= MAX_MATCHES) break;
      let isDir = false;
      try {
        isDir = statSync(m).isDirectory();
      } catch {
        continue; // dangling: glob(3) lists it, but nothing can be read
      }
      (isDir ? directories : matches).add(m);
    }
  }
  return { matches: [...matches], directories: [...directories] };
}

/** "{a,b}c" → ["ac", "bc"], innermost first, capped. */
function braces(pattern: string): string[] {
  const m = /\{([^{}]*)\}/.exec(pattern);
  if (!m || !m[1]!.includes(',')) return [pattern];
  const out: string[] = [];
  for (const alt of m[1]!.split(',')) {
    for (const e of braces(pattern.slice(0, m.index) + alt + pattern.slice(m.index + m[0].length))) {
      if (out.length >= MAX_ALTERNATIVES) return out;
      out.push(e);
    }
  }
  return out;
}

function hasMagic(s: string): boolean {
  return /[*?[]/.test(s);
}

function walk(pattern: string): string[] {
  const parts = pattern.split('/');
  let bases = [parts[0] === '' ? '/' : parts[0]!];
  for (const part of parts.slice(1)) {
    if (part === '') continue;
    const next: string[] = [];
    for (const base of bases) {
      if (!hasMagic(part)) {
        next.push(join(base, part));
        continue;
      }
      const re = toRegex(part);
      let names: string[];
      try {
        names = readdirSync(base);
      } catch {
        continue;
      }
      for (const n of names.sort()) if (re.test(n) && (part.startsWith('.') || !n.startsWith('.'))) next.push(join(base, n));
    }
    bases = next.slice(0, MAX_MATCHES);
  }
  return hasMagic(pattern) ? bases : bases.filter((b) => exists(b));
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

function toRegex(part: string): RegExp {
  let re = '';
  for (let i = 0; i < part.length; i++) {
    const c = part[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = part.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let set = part.slice(i + 1, end);
        if (set.startsWith('!')) set = `^${set.slice(1)}`;
        re += `[${set.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}
