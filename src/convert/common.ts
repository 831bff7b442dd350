// Pieces both importers share: diagnostics with their YAML comments, service names, check timing,
// the argv of external checks and its run-here test, address formatting.

import { executableProblem } from '../config/executable.js';
import { formatDuration } from '../config/duration.js';
import { normaliseIp } from '../config/endpoint.js';
import { NAME_PATTERN } from '../config/schema.js';
import type { Diagnostic, OutMap, OutPath, OutService, Severity } from './model.js';

export class Diagnostics {
  readonly list: Diagnostic[] = [];
  private readonly seen = new Set<string>();

  /** The same message for the same line is said once (a group's services share their lines). */
  add(severity: Severity, file: string, line: number, message: string): void {
    const id = `${severity}\0${file}\0${line}\0${message}`;
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.list.push({ severity, file, line, message });
  }
}

/** One output document under construction; its warnings also become comments at their place. */
export class DocBuilder {
  readonly value: OutMap = {};
  readonly comments = new Map<OutPath, string[]>();

  constructor(
    readonly diags: Diagnostics,
    readonly file: string,
  ) {}

  comment(path: OutPath, text: string): void {
    this.comments.set(path, [...(this.comments.get(path) ?? []), text]);
  }

  warn(line: number, path: OutPath, message: string, file = this.file): void {
    this.diags.add('warning', file, line, message);
    this.comment(path, `${message} [${file}:${line}]`);
  }

  note(line: number, path: OutPath, message: string, file = this.file): void {
    this.diags.add('note', file, line, message);
    this.comment(path, `note: ${message} [${file}:${line}]`);
  }
}

/** "10.0.0.1:80" / "[2001:db8::1]:80"; port 0 leaves the port out (fwmark reals). */
export function endpointText(host: string, port: number): string {
  const ip = normaliseIp(host);
  const h = ip?.family === 6 ? `[${ip.host}]` : (ip?.host ?? host);
  return port === 0 ? h : `${h}:${port}`;
}

export function familyOf(host: string): 4 | 6 | null {
  return normaliseIp(host)?.family ?? null;
}

/** A service name lvsd accepts, unique among `taken`. */
export function uniqueName(wanted: string, taken: Set<string>): string {
  let base = wanted.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 56) || 'service';
  if (!NAME_PATTERN.test(base)) base = `s-${base}`.slice(0, 56);
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
  taken.add(name);
  return name;
}

/** Name from the address: "tcp-192.0.2.10-80", "fwmark-12", "tcp-2001-db8--10-80". */
export function serviceNameFor(v: { fwmark?: number; host?: string; port?: number; protocol?: string }): string {
  if (v.fwmark !== undefined) return `fwmark-${v.fwmark}`;
  return `${v.protocol ?? 'tcp'}-${(v.host ?? '').replace(/:/g, '-')}-${v.port ?? 0}`;
}

export function seconds(ms: number): string {
  return formatDuration(ms);
}

/**
 * Interval and timeout as written: lvsd accepts a timeout at or above the interval (a probe never
 * overlaps itself; its next run starts at the later of start + interval and the previous run's
 * end), which is how ldirectord's and keepalived's own loops behave.
 */
export function timing(intervalMs: number, timeoutMs: number): { interval: number | string; timeout: number | string } {
  const text = (ms: number): number | string => (ms % 1000 === 0 ? ms / 1000 : `${ms}ms`);
  return { interval: text(intervalMs), timeout: text(timeoutMs) };
}

/**
 * Split a command line into argv the way keepalived splits misc_path: on blanks outside quotes,
 * with "double" and 'single' quotes grouping and a backslash escaping the next character.
 */
export function splitCommand(text: string): string[] {
  const argv: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
      inWord = true;
    } else if (c === ' ' || c === '\t') {
      if (inWord) argv.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) argv.push(cur);
  return argv;
}

/** null when lvsd could run this program here (the same test check-config applies), else why not. */
export async function commandProblem(argv: readonly string[]): Promise<string | null> {
  const program = argv[0];
  return program === undefined ? 'the command is empty' : executableProblem(program);
}

/** The string a `send`/`expect` YAML key must hold so lvsd's escape decoding gives back `bytes`. */
export function sendText(bytes: string): string {
  return bytes.replace(/\\/g, '\\\\');
}

/** A regex that matches `text` literally. */
export function literalRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

export function isRegex(text: string): boolean {
  try {
    new RegExp(text);
    return true;
  } catch {
    return false;
  }
}

export function countReals(services: readonly OutService[]): number {
  return services.reduce((n, s) => n + s.reals, 0);
}

/** "200-299" for a range, 200 for one code. */
export function statusText(lo: number, hi: number): string | number {
  return lo === hi ? lo : `${lo}-${hi}`;
}
