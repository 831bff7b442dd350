// Reads keepalived.conf (keepalived.conf(5), 2.x) into a tree of statements with their file, line
// and column: `!`/`#` comments, "quoted strings", { blocks }, `include` (globs, relative to the
// including file), $NAME=value definitions with $NAME / ${NAME} substitution, @id conditionals.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { ParseError } from './model.js';

export interface KNode {
  readonly keyword: string;
  readonly args: string[];
  /** null for a plain statement, the statements inside for a block. */
  children: KNode[] | null;
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

export interface KParse {
  readonly nodes: KNode[];
  readonly errors: ParseError[];
  /** Lines the reader skipped or could not follow (includes not found, @conditionals). */
  readonly notes: { file: string; line: number; message: string }[];
  /** Every file read, the top one first (for --keep-vrrp). */
  readonly files: string[];
}

interface Token {
  text: string;
  quoted: boolean;
  line: number;
  col: number;
  /** First token of its (logical) line. */
  bol: boolean;
}

const MAX_INCLUDE_DEPTH = 8;

export function parseKeepalived(file: string, text: string, readFile: (f: string) => string = (f) => readFileSync(f, 'utf8')): KParse {
  const errors: ParseError[] = [];
  const notes: KParse['notes'] = [];
  const files: string[] = [];
  const defs = new Map<string, string>();

  function tokenize(f: string, src: string, depth: number): Token[] {
    files.push(f);
    const out: Token[] = [];
    const lines = src.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      let line = lines[i]!;
      const lineNo = i + 1;
      // A trailing backslash continues the line (keepalived joins them).
      while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i]!;
      const trimmed = line.trimStart();
      const def = /^\$([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(trimmed);
      if (def) {
        defs.set(def[1]!, def[2]!.trim());
        continue;
      }
      let body = line;
      const cond = /^(\s*)@(\^?)([A-Za-z0-9_-]+)\s+/.exec(line);
      if (cond) {
        notes.push({ file: f, line: lineNo, message: `@${cond[2]}${cond[3]} conditional line: read as if it applied to this director (keepalived's config_id); check it` });
        body = ' '.repeat(cond[0].length) + line.slice(cond[0].length);
      }
      body = body.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, a: string | undefined, b: string | undefined) => defs.get((a ?? b)!) ?? m);
      const lineTokens: Token[] = [];
      let j = 0;
      while (j < body.length) {
        const c = body[j]!;
        if (c === ' ' || c === '\t') {
          j++;
          continue;
        }
        if (c === '!' || c === '#') break;
        if (c === '{' || c === '}') {
          lineTokens.push({ text: c, quoted: false, line: lineNo, col: j + 1, bol: lineTokens.length === 0 });
          j++;
          continue;
        }
        if (c === '"') {
          const end = body.indexOf('"', j + 1);
          if (end < 0) {
            errors.push({ file: f, line: lineNo, col: j + 1, message: 'unterminated quoted string' });
            break;
          }
          lineTokens.push({ text: body.slice(j + 1, end), quoted: true, line: lineNo, col: j + 1, bol: lineTokens.length === 0 });
          j = end + 1;
          continue;
        }
        let k = j;
        while (k < body.length && !/[\s{}]/.test(body[k]!)) k++;
        lineTokens.push({ text: body.slice(j, k), quoted: false, line: lineNo, col: j + 1, bol: lineTokens.length === 0 });
        j = k;
      }
      const first = lineTokens[0];
      if (first && !first.quoted && first.text === 'include') {
        const pattern = lineTokens[1]?.text;
        if (pattern === undefined) {
          errors.push({ file: f, line: lineNo, col: first.col, message: 'include needs a file name' });
          continue;
        }
        if (depth >= MAX_INCLUDE_DEPTH) {
          errors.push({ file: f, line: lineNo, col: first.col, message: `includes nested deeper than ${MAX_INCLUDE_DEPTH} (a loop?)` });
          continue;
        }
        const matches = expandGlob(resolve(dirname(f), pattern));
        if (matches.length === 0) notes.push({ file: f, line: lineNo, message: `include ${pattern}: no file matches; nothing read (keepalived does the same)` });
        for (const inc of matches) {
          let incText: string;
          try {
            incText = readFile(inc);
          } catch (e) {
            errors.push({ file: f, line: lineNo, col: lineTokens[1]!.col, message: `include ${inc}: ${(e as Error).message}` });
            continue;
          }
          out.push(...tokenize(inc, incText, depth + 1));
        }
        continue;
      }
      out.push(...lineTokens.map((t) => ({ ...t, file: f }) as Token & { file: string }));
    }
    return out;
  }

  const tokens = tokenize(file, text, 0) as (Token & { file: string })[];
  // Build the tree: a statement is the tokens of one line; "{" opens a block for the statement
  // before it (on the same line or the line above), "}" closes it.
  const root: KNode[] = [];
  const stack: { children: KNode[]; open: Token & { file: string } }[] = [];
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
  return { nodes: root, errors, notes, files };
}

/** Glob with * and ? in the last path component (what keepalived configs use), sorted. */
function expandGlob(pattern: string): string[] {
  if (!/[*?[]/.test(pattern)) {
    try {
      return statSync(pattern).isFile() ? [pattern] : [];
    } catch {
      return [];
    }
  }
  const dir = dirname(pattern);
  const base = pattern.slice(dir.length + 1);
  const re = new RegExp(`^${base.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
  try {
    return readdirSync(dir).filter((n) => re.test(n)).sort().map((n) => join(dir, n));
  } catch {
    return [];
  }
}
