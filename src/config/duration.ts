// Durations as written in config files ("500ms", "2s", "1.5s", "1m", "1h", or a number of seconds) to milliseconds.

export type DurationParse = { ok: true; ms: number } | { ok: false; error: string };

/** The longest delay a Node.js timer can hold (2^31-1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SYNTAX = /^(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?$/;
const HINT = 'write e.g. "500ms", "2s", "1.5s", "1m", "1h", or a number of seconds';

/**
 * Parse a duration. A bare number (YAML `interval: 2` or the string "2") means seconds, as in
 * ldirectord and keepalived. Fractions of a millisecond are rounded, because timers work in whole ms.
 */
export function parseDuration(value: unknown, opts: { allowZero?: boolean; max?: { ms: number; text: string } } = {}): DurationParse {
  let ms: number;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return { ok: false, error: `${value} is not a valid duration (${HINT})` };
    ms = value * 1000;
  } else if (typeof value === 'string') {
    const m = SYNTAX.exec(value.trim());
    if (!m) return { ok: false, error: `"${value}" is not a duration (${HINT})` };
    ms = Number(m[1]) * UNIT_MS[m[2] ?? 's']!;
  } else {
    return { ok: false, error: `expected a duration, got ${value === null ? 'an empty value' : typeof value} (${HINT})` };
  }
  ms = Math.round(ms);
  if (opts.max) {
    // A value lvsd never waits for itself (a persistence timeout the kernel keeps): its own limit.
    if (ms > opts.max.ms) return { ok: false, error: `${describe(value)} is too long (at most ${opts.max.text})` };
  } else if (ms > MAX_TIMER_MS) {
    // setTimeout cannot wait longer than 2^31-1 ms (about 24.8 days).
    return { ok: false, error: `${describe(value)} is too long (at most 24 days)` };
  }
  if (ms === 0 && !opts.allowZero) return { ok: false, error: `${describe(value)} must be longer than zero` };
  return { ok: true, ms };
}

/** Human form used in messages: "500ms", "2s", "1.5s", "2m", "1h". */
export function formatDuration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : String(value);
}
