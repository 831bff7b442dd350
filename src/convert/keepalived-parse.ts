// Reads keepalived.conf (keepalived.conf(5), 2.x) into a tree of statements with their file, line
// and column. The lines come from keepalived-lines.ts (comments, definitions, includes,
// conditionals); here each is split into words as keepalived's alloc_strvec does (blanks are its
// isspace set, "quoted strings" are one word, `{` and `}` end a statement) and blocks are built.

import { hostname } from 'node:os';
import type { ParseError } from './model.js';
import type { Outcome } from './ledger.js';
import type { InputBudget, InputRead } from './input-file.js';
import { newBudget, readInput } from './input-file.js';
import type { ReaderDirective, ReaderMessage } from './keepalived-lines.js';
import { readKeepalivedLines } from './keepalived-lines.js';

export interface KNode {
  readonly keyword: string;
  readonly args: string[];
  /** null for a plain statement, the statements inside for a block. */
  children: KNode[] | null;
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** What the converter did with it (see ledger.ts); unset = nobody looked at it. */
  outcome?: Outcome;
}

export interface KParse {
  readonly nodes: KNode[];
  readonly errors: ParseError[];
  /** What the reader itself said (includes, conditionals, built-ins). */
  readonly messages: ReaderMessage[];
  readonly readerDirectives: ReaderDirective[];
  /** Every file read, the top one first (for --keep-vrrp). */
  readonly files: string[];
}

export interface KeepalivedReadOptions {
  readonly readFile?: (file: string, budget: InputBudget) => InputRead;
  readonly budget?: InputBudget;
  readonly instance?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** keepalived's default config id: the host name up to its first dot. */
export function defaultInstance(): string {
  return hostname().split('.')[0] ?? '';
}

interface Token {
  text: string;
  quoted: boolean;
  file: string;
  line: number;
  col: number;
  /** First word of a statement (after a new line or a brace). */
  bol: boolean;
}

const BLANK = /[ \t\f\v\r]/;

export function parseKeepalived(file: string, text: string, options: KeepalivedReadOptions = {}): KParse {
  const r = readKeepalivedLines(file, text, {
    readFile: options.readFile ?? ((f, b) => readInput(f, b, true)),
    budget: options.budget ?? newBudget(),
    instance: options.instance ?? defaultInstance(),
    env: options.env ?? process.env,
  });
  const errors = [...r.errors];
  const tokens: Token[] = [];
  for (const l of r.lines) {
    const t = l.text;
    let bol = true;
    let j = 0;
    while (j < t.length) {
      const c = t[j]!;
      const col = l.col + j;
      if (BLANK.test(c)) {
        j++;
        continue;
      }
      if (c === '{' || c === '}') {
        tokens.push({ text: c, quoted: false, file: l.file, line: l.line, col, bol: true });
        bol = true;
        j++;
        continue;
      }
      if (c === '"') {
        const end = t.indexOf('"', j + 1);
        if (end < 0) {
          errors.push({ file: l.file, line: l.line, col, message: 'unterminated quoted string' });
          break;
        }
        tokens.push({ text: t.slice(j + 1, end), quoted: true, file: l.file, line: l.line, col, bol });
        bol = false;
        j = end + 1;
        continue;
      }
      let k = j + 1;
      while (k < t.length && !BLANK.test(t[k]!) && t[k] !== '"' && t[k] !== '{' && t[k] !== '}') k++;
      tokens.push({ text: t.slice(j, k), quoted: false, file: l.file, line: l.line, col, bol });
      bol = false;
      j = k;
    }
  }
  // A statement is the words up to the end of its line or a brace; "{" opens a block for the
  // statement before it (on the same line or the line above), "}" closes it.
  const root: KNode[] = [];
  const stack: { children: KNode[]; open: Token }[] = [];
  let current: KNode | null = null;
  const container = (): KNode[] => stack[stack.length - 1]?.children ?? root;
  for (const t of tokens) {
    if (!t.quoted && t.text === '{') {
      if (!current || current.children !== null) {
        errors.push({ file: t.file, line: t.line, col: t.col, message: '"{" without a keyword before it' });
        continue;
      }
      current.children = [];
      stack.push({ children: current.children, open: t });
      current = null;
      continue;
    }
    if (!t.quoted && t.text === '}') {
      if (stack.length === 0) {
        errors.push({ file: t.file, line: t.line, col: t.col, message: '"}" without a matching "{"' });
        continue;
      }
      stack.pop();
      current = null;
      continue;
    }
    if (t.bol || !current || current.children !== null) {
      current = { keyword: t.text, args: [], children: null, file: t.file, line: t.line, col: t.col };
      container().push(current);
    } else {
      current.args.push(t.text);
    }
  }
  for (const open of stack) errors.push({ file: open.open.file, line: open.open.line, col: open.open.col, message: '"{" is never closed' });
  return { nodes: root, errors, messages: r.messages, readerDirectives: r.directives, files: r.files };
}
