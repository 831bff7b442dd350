// The accounting of a conversion: every directive of the input, where it is and what became of it
// (mapped into the output, warned about, noted), so that a test can prove, file by file, that
// nothing was dropped without a word. A directive nobody marked is `dropped`: a bug in convert.

/** What became of a directive: carried into the output, warned about, or noted. */
export type Outcome = 'mapped' | 'warned' | 'noted';

export interface DirectiveRecord {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** The keyword (keepalived), the key (ldirectord), or what the reader handled ("include", "$NAME="). */
  readonly directive: string;
  readonly outcome: Outcome | 'dropped';
}

const RANK: Readonly<Record<Outcome, number>> = { mapped: 1, noted: 2, warned: 3 };

/** Record what became of a directive; a warning outranks a note, a note outranks mapped. */
export function mark(node: { outcome?: Outcome }, outcome: Outcome): void {
  if (node.outcome === undefined || RANK[outcome] > RANK[node.outcome]) node.outcome = outcome;
}

interface Marked {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly outcome?: Outcome;
}

/**
 * Records for a tree of keepalived statements. A block warned or noted as a whole (vrrp_instance,
 * global_defs) accounts for the statements inside it; a block that was converted does not.
 */
export function treeRecords<T extends Marked & { keyword: string; children: T[] | null }>(nodes: readonly T[], covered?: Outcome): DirectiveRecord[] {
  const out: DirectiveRecord[] = [];
  for (const n of nodes) {
    const outcome = n.outcome ?? covered ?? 'dropped';
    out.push({ file: n.file, line: n.line, col: n.col, directive: n.keyword, outcome });
    if (n.children) out.push(...treeRecords(n.children, n.outcome === 'warned' || n.outcome === 'noted' ? n.outcome : covered));
  }
  return out;
}

/** Records for flat lines (ldirectord.cf). */
export function lineRecords(file: string, lines: readonly { key: string; line: number; col: number; outcome?: Outcome }[]): DirectiveRecord[] {
  return lines.map((l) => ({ file, line: l.line, col: l.col, directive: l.key, outcome: l.outcome ?? 'dropped' }));
}

/** Directives dropped without a word, as "FILE:LINE:COL: directive" (empty when all are accounted for). */
export function dropped(records: readonly DirectiveRecord[]): string[] {
  return records.filter((r) => r.outcome === 'dropped').map((r) => `${r.file}:${r.line}:${r.col}: ${r.directive}`);
}

/** How many directives had each outcome. */
export function tally(records: readonly DirectiveRecord[]): Record<DirectiveRecord['outcome'], number> {
  const t = { mapped: 0, warned: 0, noted: 0, dropped: 0 };
  for (const r of records) t[r.outcome]++;
  return t;
}
