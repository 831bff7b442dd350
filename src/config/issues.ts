// Configuration problems with the exact place an operator has to edit, collected (never thrown) so
// that one run reports every mistake of every file.

import type { SourcePos } from './source-pos.js';

export interface ConfigIssue {
  /** The path as joined from the config dir given by the user, e.g. "/etc/lvsd/conf.d/web.yaml". */
  readonly file: string;
  /** 1-based; 0 when the problem concerns a whole file or directory (it cannot be read, is missing). */
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

/** `FILE:LINE:COL: message`, or `FILE: message` for problems of a whole file or directory. */
export function formatIssue(i: ConfigIssue): string {
  return i.line > 0 ? `${i.file}:${i.line}:${i.col}: ${i.message}` : `${i.file}: ${i.message}`;
}

/** "FILE:LINE" of a position, for messages pointing at another place ("also defined at ..."). */
export function formatPos(p: SourcePos): string {
  return p.line > 0 ? `${p.file}:${p.line}` : p.file;
}

/**
 * Collects issues. The same mistake reached twice (a service-level check error met once per real)
 * is reported once.
 */
export class IssueList {
  private readonly seen = new Set<string>();
  private readonly list: ConfigIssue[] = [];

  add(pos: SourcePos, message: string): void {
    const issue: ConfigIssue = { file: pos.file, line: pos.line, col: pos.col, message };
    const id = formatIssue(issue);
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.list.push(issue);
  }

  get length(): number {
    return this.list.length;
  }

  /** Issues ordered by file (first those given, in that order, then by name), then line and column. */
  sorted(fileOrder: readonly string[]): ConfigIssue[] {
    const rank = (f: string): number => {
      const i = fileOrder.indexOf(f);
      return i < 0 ? fileOrder.length : i;
    };
    const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
    return [...this.list].sort((a, b) => rank(a.file) - rank(b.file) || byName(a.file, b.file) || a.line - b.line || a.col - b.col);
  }
}
