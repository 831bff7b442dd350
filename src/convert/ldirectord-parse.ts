// Reads ldirectord.cf (ldirectord 4.x syntax, ldirectord(8)) into global lines and `virtual` blocks,
// with the line and column of every directive. Only syntax is judged here; meaning is in ldirectord.ts.

import type { ParseError } from './model.js';
import type { Outcome } from './ledger.js';
import { badCharacter } from './characters.js';

export interface CfLine {
  readonly key: string;
  /** The value with one pair of surrounding quotes removed. */
  readonly value: string;
  /** The value as written (quotes kept), for real= lines whose fields are quoted one by one. */
  readonly raw: string;
  readonly line: number;
  readonly col: number;
  readonly valueCol: number;
  /** What the converter did with it (ledger.ts); unset = nobody looked at it. */
  outcome?: Outcome;
}

export interface CfVirtual {
  readonly head: CfLine;
  readonly lines: CfLine[];
}

export interface CfFile {
  readonly globals: CfLine[];
  readonly virtuals: CfVirtual[];
}

export const GLOBAL_DIRECTIVES = new Set([
  'autoreload', 'callback', 'checkcount', 'checkinterval', 'checktimeout', 'cleanstop', 'connecttimeout',
  'emailalert', 'emailalertfreq', 'emailalertfrom', 'emailalertstatus', 'execute', 'failurecount', 'fallback',
  'fallback6', 'fallbackcommand', 'fork', 'logfile', 'maintenancedir', 'negotiatetimeout', 'quiescent',
  'readdquiescent', 'smtp', 'supervised',
]);

export const VIRTUAL_DIRECTIVES = new Set([
  'real', 'real6', 'checktype', 'checkcommand', 'checktimeout', 'connecttimeout', 'negotiatetimeout',
  'checkinterval', 'checkcount', 'failurecount', 'quiescent', 'fallback', 'fallback6', 'fallbackcommand',
  'emailalert', 'emailalertfreq', 'emailalertstatus', 'emailalertfrom', 'smtp', 'httpmethod', 'virtualhost',
  'login', 'passwd', 'database', 'secret', 'request', 'receive', 'scheduler', 'persistent', 'netmask',
  'protocol', 'service', 'checkport', 'monitorfile', 'cleanstop', 'ops', 'servicename', 'comment',
]);

const LINE = /^(\s*)([A-Za-z][A-Za-z0-9_-]*)(\s*=\s*)(.*?)\s*$/;

export function unquote(text: string): string {
  const m = /^"(.*)"$/.exec(text) ?? /^'(.*)'$/.exec(text);
  return m ? m[1]! : text;
}

export function parseLdirectordCf(file: string, text: string): { ok: true; cf: CfFile } | { ok: false; errors: ParseError[] } {
  const errors: ParseError[] = [];
  const globals: CfLine[] = [];
  const virtuals: CfVirtual[] = [];
  let current: CfVirtual | null = null;
  text.split(/\r?\n/).forEach((rawLine, i) => {
    const lineNo = i + 1;
    if (/^[ \t]*(#.*)?$/.test(rawLine)) return;
    const hash = rawLine.indexOf('#');
    let bad = false;
    for (let k = 0; k < (hash < 0 ? rawLine.length : hash) && !bad; k++) {
      const why = badCharacter(rawLine, k);
      if (why && !(why.includes('U+000D') && k === rawLine.length - 1)) {
        errors.push({ file, line: lineNo, col: k + 1, message: why });
        bad = true;
      }
    }
    if (bad) return;
    const m = LINE.exec(rawLine);
    const firstCol = rawLine.length - rawLine.trimStart().length + 1;
    if (!m) {
      errors.push({ file, line: lineNo, col: firstCol, message: 'expected "directive = value"' });
      return;
    }
    const [, indent, key, eq, rawValue] = m as unknown as [string, string, string, string, string];
    const col = indent.length + 1;
    const entry: CfLine = {
      key,
      value: unquote(rawValue),
      raw: rawValue,
      line: lineNo,
      col,
      valueCol: col + key.length + eq.length,
    };
    const indented = indent.length > 0;
    if (key === 'virtual' || key === 'virtual6') {
      current = { head: entry, lines: [] };
      virtuals.push(current);
      return;
    }
    if (indented && current) {
      if (!VIRTUAL_DIRECTIVES.has(key)) {
        errors.push({ file, line: lineNo, col, message: `unknown directive "${key}" in a virtual section (ldirectord(8) lists the valid ones)` });
        return;
      }
      current.lines.push(entry);
      return;
    }
    if (indented && !current) {
      errors.push({ file, line: lineNo, col, message: `indented "${key}" outside a virtual section (write "virtual=..." above it, or remove the indentation)` });
      return;
    }
    current = null;
    if (!GLOBAL_DIRECTIVES.has(key)) {
      const hint = VIRTUAL_DIRECTIVES.has(key) ? ' (it belongs in a virtual section: indent it under "virtual=...")' : '';
      errors.push({ file, line: lineNo, col, message: `unknown global directive "${key}"${hint}` });
      return;
    }
    globals.push(entry);
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, cf: { globals, virtuals } };
}

/** Split a real= value into fields: blanks separate, "double quotes" group. */
export function fields(text: string): { text: string; col: number; quoted: boolean }[] {
  const out: { text: string; col: number; quoted: boolean }[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.push({ text: m[1] ?? m[2]!, col: m.index, quoted: m[1] !== undefined });
  }
  return out;
}

/** Well-known port names ldirectord resolves through /etc/services. */
export const PORT_NAMES: Readonly<Record<string, number>> = {
  ftp: 21, ssh: 22, telnet: 23, smtp: 25, domain: 53, http: 80, www: 80, pop3: 110, nntp: 119, ntp: 123,
  imap: 143, imap2: 143, snmp: 161, ldap: 389, https: 443, submission: 587, ldaps: 636, imaps: 993,
  pop3s: 995, 'ms-sql-s': 1433, oracle: 1521, radius: 1812, mysql: 3306, 'http-alt': 8080, 'sip': 5060,
  postgresql: 5432, squid: 3128,
};

export function parsePort(text: string): number | null {
  if (/^\d{1,5}$/.test(text)) {
    const n = Number(text);
    return n >= 0 && n <= 65535 ? n : null;
  }
  return PORT_NAMES[text] ?? null;
}
