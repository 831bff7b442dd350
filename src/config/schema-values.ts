// Leaf value schemas shared by the documents (schema.ts) and the check types' fragments
// (check-types/*.ts): durations, regexes, escaped strings, status lists, case-insensitive enums.

import { z } from 'zod';
import { parseDuration } from './duration.js';

export function durationSchema(opts: { allowZero?: boolean; max?: { ms: number; text: string } } = {}) {
  return z.unknown().transform((v, ctx) => {
    const r = parseDuration(v, opts);
    if (r.ok) return r.ms;
    ctx.issues.push({ code: 'custom', message: r.error, input: v });
    return z.NEVER;
  });
}

export const regexSchema = z.string().superRefine((v, ctx) => {
  try {
    new RegExp(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(err as Error).message}` });
  }
});

/** Decode the escapes a `send` string may carry when YAML did not already (plain or single-quoted). */
export function decodeEscapes(text: string): { ok: true; value: string } | { ok: false; error: string } {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = text[++i];
    if (next === 'r') out += '\r';
    else if (next === 'n') out += '\n';
    else if (next === 't') out += '\t';
    else if (next === '\\') out += '\\';
    else if (next === 'x' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      // Binary payloads (UDP probes): one byte; the checkers send "\x00".."\xff" as Latin-1, byte-exact.
      out += String.fromCharCode(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else return { ok: false, error: `unknown escape "\\${next ?? ''}" (only \\r \\n \\t \\\\ and \\xHH are understood)` };
  }
  return { ok: true, value: out };
}

export const sendSchema = z.string().transform((v, ctx) => {
  const r = decodeEscapes(v);
  if (r.ok) return r.value;
  ctx.issues.push({ code: 'custom', message: r.error, input: v });
  return z.NEVER;
});

/** Parse expect_status: 200, "200-299", or a list of those, into inclusive ranges. */
export function parseStatusList(value: unknown): { ok: true; ranges: [number, number][] } | { ok: false; error: string } {
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) return { ok: false, error: 'expect_status needs at least one code or range' };
  const ranges: [number, number][] = [];
  for (const item of items) {
    const text = typeof item === 'number' || typeof item === 'string' ? String(item).trim() : null;
    const m = text === null ? null : /^(\d{3})(?:\s*-\s*(\d{3}))?$/.exec(text);
    if (!m) {
      return { ok: false, error: `${JSON.stringify(item)} is not a status code or range (write 200, or "200-299")` };
    }
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < 100 || hi > 599 || lo > hi) {
      return { ok: false, error: `"${text}" is not a range of HTTP status codes between 100 and 599` };
    }
    ranges.push([lo, hi]);
  }
  return { ok: true, ranges };
}

export const statusSchema = z.unknown().transform((v, ctx) => {
  const r = parseStatusList(v);
  if (r.ok) return r.ranges;
  ctx.issues.push({ code: 'custom', message: r.error, input: v });
  return z.NEVER;
});

/** Case-insensitive enum that yields the canonical upper-case name. */
export function upperEnum<const T extends readonly string[]>(values: T, what: string) {
  return z.string().transform((v, ctx) => {
    const up = v.toUpperCase();
    if ((values as readonly string[]).includes(up)) return up as T[number];
    ctx.issues.push({ code: 'custom', message: `"${v}" is not a ${what} (one of ${values.join(', ')})`, input: v });
    return z.NEVER;
  });
}

/**
 * Case-insensitive enum that yields the canonical lower-case name: keepalived users write
 * `protocol TCP` and `lb_algo WLC`, and the kernel's names are lower-case.
 */
export function lowerEnum<const T extends readonly string[]>(values: T) {
  return z.string().transform((v, ctx) => {
    const low = v.toLowerCase();
    if ((values as readonly string[]).includes(low)) return low as T[number];
    ctx.issues.push({ code: 'custom', message: `must be one of ${values.join(', ')} (any case); got "${v}"`, input: v });
    return z.NEVER;
  });
}
