// What an importer produces: YAML-ready documents (lvsd.yaml and one per virtual service) with the
// comments to place in them, and the warnings and notes an operator reads on stderr.

import type { DirectiveRecord } from './ledger.js';

/** A YAML value as the writer emits it; object key order is the output order. */
export type OutValue = string | number | boolean | OutValue[] | OutMap;
export interface OutMap {
  [key: string]: OutValue;
}

/** A dotted path into a document ("reals.0.check.type"); "" is the document itself. */
export type OutPath = string;

export interface OutDoc {
  readonly value: OutMap;
  /** Comment lines to write just before the key (or list item) at a path. */
  readonly comments: Map<OutPath, string[]>;
}

export interface OutService extends OutDoc {
  readonly name: string;
  /** Where the virtual service was defined in the input. */
  readonly file: string;
  readonly line: number;
  readonly reals: number;
}

export type Severity = 'warning' | 'note';

/** "FILE:LINE: warning: ..." on stderr; notes are facts, warnings ask the operator to act or check. */
export interface Diagnostic {
  readonly severity: Severity;
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

export interface ParseError {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

export type Format = 'ldirectord' | 'keepalived';

export type ConvertResult =
  | {
      ok: true;
      format: Format;
      global: OutDoc;
      services: OutService[];
      diagnostics: Diagnostic[];
      /** Every directive of the input with what became of it (ledger.ts). */
      directives: DirectiveRecord[];
      /** Programs of misc checks that are not runnable here: written anyway, warned about. */
      missingPrograms: string[];
    }
  | { ok: false; format: Format; errors: ParseError[] };

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}: ${d.severity}: ${d.message}`;
}

export function formatParseError(e: ParseError): string {
  return `${e.file}:${e.line}:${e.col}: error: ${e.message}`;
}
