// Human log lines for `lvsd run` in a terminal (or --log-format text): the same pino records as the
// JSON lines journald gets, each written as one readable, self-contained line.

import type { DestinationStream } from 'pino';

export type LogFormat = 'json' | 'text';

/** Fields every record has, shown in the line's head rather than as key=value. */
const HEAD = new Set(['level', 'time', 'name', 'msg', 'pid', 'hostname']);

function value(v: unknown): string {
  if (typeof v === 'string') return v === '' || /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v);
}

/** "14:03:07.512 WARN  web 10.0.0.11:80: up -> down reason="..." code=timeout" from one JSON record. */
export function formatTextLine(json: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const time = typeof rec['time'] === 'string' ? rec['time'].slice(11, 23) : '';
  const level = String(rec['level'] ?? '').toUpperCase().padEnd(5);
  const fields = Object.entries(rec)
    .filter(([k, v]) => !HEAD.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${value(v)}`);
  return `${[time, level, String(rec['msg'] ?? ''), ...fields].filter((p) => p !== '').join(' ')}\n`;
}

/** A pino destination that writes text lines to `out` (stdout by default), synchronously. */
export function textDestination(out: { write(s: string): unknown } = process.stdout): DestinationStream {
  return {
    write(line: string): void {
      out.write(formatTextLine(line));
    },
  };
}

/** --log-format, else text when stdout is a terminal and JSON otherwise (journald, pipes). */
export function chooseLogFormat(flag: string | undefined, stdoutIsTty: boolean): LogFormat {
  if (flag === 'json' || flag === 'text') return flag;
  return stdoutIsTty ? 'text' : 'json';
}
