// The accounting of one conversion, for the tests that prove nothing is dropped without a word:
// every directive of the input mapped, warned or noted (the corpus test runs it over every file).

import { readFileSync } from 'node:fs';
import { convert, detectFormat, dropped, tally } from '../../src/convert/index.js';
import type { ConvertResult, DirectiveRecord, Format } from '../../src/convert/index.js';

export interface Accounting {
  readonly format: Format;
  readonly result: ConvertResult;
  /** Every directive with its outcome; empty when the input was refused (result.errors say why). */
  readonly directives: readonly DirectiveRecord[];
  /** "FILE:LINE:COL: directive" of each directive nobody accounted for (must be empty). */
  readonly dropped: string[];
  readonly tally: Record<DirectiveRecord['outcome'], number>;
}

export async function accountFile(file: string, format?: Format): Promise<Accounting> {
  return accountText(file, readFileSync(file, 'utf8'), format);
}

export async function accountText(file: string, text: string, format?: Format): Promise<Accounting> {
  const f = format ?? detectFormat(text) ?? 'keepalived';
  const result = await convert(f, file, text);
  const directives = result.ok ? result.directives : [];
  return { format: f, result, directives, dropped: dropped(directives), tally: tally(directives) };
}
