// keepalived.conf read line by line as keepalived's read_line (lib/parser.c) reads it: comments cut
// (`!`, `#`, outside quotes), `@ID` conditional lines, `$NAME=` definitions (a trailing backslash
// continues one onto the next lines), `$NAME` / `${NAME}` expanded where used (a multi-line
// definition becomes several lines), the built-ins ${_PWD} ${_INSTANCE} ${_RANDOM} ${_ENV NAME}
// ${_HASH} ${_BANG}, ~SEQ repetition, and `include` globs. Every line of the input is accounted for.

import { dirname, resolve } from 'node:path';
import type { ParseError } from './model.js';
import type { InputBudget, InputRead } from './input-file.js';
import { expandGlob } from './glob.js';
import { badCharacter } from './characters.js';

/** One logical line: a statement's text (still to be split at braces and blanks). */
export interface KLine {
  readonly text: string;
  readonly file: string;
  readonly line: number;
  /** Column of text[0] in the physical line (exact for lines read as written). */
  readonly col: number;
}

/** A line the reader itself handled: a definition, an include, a conditional, a ~SEQ. */
export interface ReaderDirective {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly directive: string;
  readonly outcome: 'mapped' | 'noted' | 'warned';
}

export interface ReaderMessage {
  readonly severity: 'note' | 'warning';
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

export interface KLines {
  readonly lines: KLine[];
  readonly errors: ParseError[];
  readonly messages: ReaderMessage[];
  readonly directives: ReaderDirective[];
  /** Every file read, the top one first. */
  readonly files: string[];
}

export interface ReadOptions {
  /** Reads an include (regular files only) within the budget. */
  readonly readFile: (file: string, budget: InputBudget) => InputRead;
  readonly budget: InputBudget;
  /** keepalived's config_id (-i; default: the host name up to the first dot): @ID lines and ${_INSTANCE}. */
  readonly instance: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** keepalived's MAXBUF: fgets reads 1023 characters; a longer line is ignored ("line too long"). */
const MAX_LINE = 1023;
const MAX_INCLUDE_DEPTH = 8;
/** Lines made by expansion and ~SEQ, over the whole input: a definition that expands itself ends here. */
const MAX_MADE_LINES = 200_000;
const MAX_REPLACEMENTS_PER_LINE = 1000;
const MAX_ERRORS = 20;

interface Def {
  value: string;
  multiline: boolean;
  fn?: (params: string[], at: Where) => string;
  minParams: number;
  maxParams: number;
  numbersOnly: boolean;
}

interface Where {
  file: string;
  line: number;
  col: number;
}

type Item = { kind: 'line'; text: string; at: Where } | { kind: 'set'; name: string; value: string } | { kind: 'include'; pattern: string; at: Where; depth: number };

class TooManyErrors extends Error {}

export function readKeepalivedLines(file: string, text: string, opts: ReadOptions): KLines {
  const lines: KLine[] = [];
  const errors: ParseError[] = [];
  const messages: ReaderMessage[] = [];
  const directives: ReaderDirective[] = [];
  const files: string[] = [];
  const defs = new Map<string, Def>();
  let made = 0;

  const error = (at: Where, message: string): void => {
    errors.push({ file: at.file, line: at.line, col: at.col, message });
    if (errors.length >= MAX_ERRORS) throw new TooManyErrors();
  };
  const message = (severity: 'note' | 'warning', at: Where, m: string): void => void messages.push({ severity, file: at.file, line: at.line, message: m });
  const record = (at: Where, directive: string, outcome: ReaderDirective['outcome']): void => void directives.push({ ...at, directive, outcome });

  const builtin = (name: string, def: Omit<Def, 'multiline' | 'value'> & { value?: string }): void => {
    defs.set(name, { value: '', multiline: false, ...def });
  };
  builtin('_PWD', { fn: (_p, at) => (message('note', at, `\${_PWD} is ${dirname(resolve(at.file))} (keepalived expands it to the directory of the file being read: check it is the same on the director)`), dirname(resolve(at.file))), minParams: 0, maxParams: 0, numbersOnly: false });
  builtin('_INSTANCE', { fn: (_p, at) => (message('note', at, `\${_INSTANCE} is "${opts.instance}" (keepalived's -i, by default its host name; lvsd convert --instance sets it)`), opts.instance), minParams: 0, maxParams: 0, numbersOnly: false });
  builtin('_RANDOM', {
    fn: (p, at) => {
      const min = p[0] === undefined ? 0 : Number(p[0]);
      message('warning', at, `\${_RANDOM${p.length ? ` ${p.join(' ')}` : ''}} is a new random number each time keepalived starts; lvsd convert wrote ${min}, the lowest it can be`);
      return String(min);
    },
    minParams: 0,
    maxParams: 2,
    numbersOnly: true,
  });
  builtin('_ENV', { fn: (p, at) => (message('note', at, `\${_ENV ${p[0]}} is taken from lvsd convert's environment ("${opts.env[p[0]!] ?? ''}"); keepalived reads its own`), opts.env[p[0]!] ?? ''), minParams: 1, maxParams: 1, numbersOnly: false });
  builtin('_HASH', { value: '#', minParams: 0, maxParams: 0, numbersOnly: false });
  builtin('_BANG', { value: '!', minParams: 0, maxParams: 0, numbersOnly: false });

  /** keepalived's find_definition: the reference starting at buf[i] (just after '$'), or null. */
  const findRef = (buf: string, i: number, at: Where): { def: Def; end: number; params: string[] } | null => {
    const braces = buf[i] === '{';
    let p = braces ? i + 1 : i;
    if (!/[A-Za-z_]/.test(buf[p] ?? '')) return null;
    const nameStart = p;
    while (p < buf.length && /[A-Za-z0-9_]/.test(buf[p]!)) p++;
    const name = buf.slice(nameStart, p);
    let params: string[] = [];
    if (braces) {
      const paramStart = p;
      while (p < buf.length && /[ \tA-Za-z0-9_]/.test(buf[p]!)) p++;
      const paramText = buf.slice(paramStart, p);
      if (/[ \t]$/.test(paramText) && paramText.trim() !== '') return null;
      if (buf[p] !== '}') return null;
      params = paramText.trim() === '' ? [] : paramText.trim().split(/[ \t]+/);
      p++;
    } else if (p < buf.length && !' \t,)'.includes(buf[p]!)) {
      return null;
    }
    const def = defs.get(name);
    if (!def) return null;
    if (def.multiline && p !== buf.length) return null;
    if (params.length > 0) {
      if (def.maxParams === 0) return null;
      if (def.numbersOnly && params.some((x) => !/^\d+$/.test(x))) {
        error(at, `definition ${name} takes numbers only`);
        return null;
      }
      if (params.length > def.maxParams) {
        error(at, `definition ${name} takes at most ${def.maxParams} parameters, ${params.length} given`);
        return null;
      }
    }
    if (params.length < def.minParams) {
      error(at, `definition ${name} needs ${def.minParams} parameter${def.minParams === 1 ? '' : 's'}: \${${name} ...}`);
      return null;
    }
    return { def, end: p, params };
  };

  /** keepalived's replace_param: the line with every reference replaced, and the lines a multi-line definition adds. */
  const expand = (buf: string, at: Where): { text: string; more: string[] } | null => {
    let pos = 0;
    let count = 0;
    let more: string[] = [];
    while ((pos = buf.indexOf('$', pos)) >= 0 && pos + 1 < buf.length) {
      const ref = findRef(buf, pos + 1, at);
      if (!ref) {
        pos++;
        continue;
      }
      if (++count > MAX_REPLACEMENTS_PER_LINE) {
        error(at, 'a definition expands into itself without end');
        return null;
      }
      let value = ref.def.fn ? ref.def.fn(ref.params, at) : ref.def.value;
      if (ref.def.multiline) {
        const [first, ...rest] = value.split('\n');
        value = first!;
        more = [...rest, ...more];
      }
      // The replacement is scanned again from where it starts (definitions may use definitions).
      buf = buf.slice(0, pos) + value + buf.slice(ref.end);
      if (Buffer.byteLength(buf) > MAX_LINE) {
        error(at, `the line after expanding its definitions is longer than keepalived's ${MAX_LINE} characters`);
        return null;
      }
      if (value.trimStart().startsWith('~')) break;
    }
    return { text: buf, more };
  };

  let pending: Item[] = [];
  let mdef: Def | null = null;

  const defineFrom = (buf: string, at: Where): boolean => {
    const m = /^\$([A-Za-z_][A-Za-z0-9_]*)=[ \t]*/.exec(buf);
    if (!m) return false;
    let value = buf.slice(m[0].length);
    let multiline = false;
    if (value.endsWith('\\')) {
      multiline = true;
      value = value.slice(0, -1).replace(/[ \t]+$/, '');
      value = value === '' ? '' : `${value}\n`;
    }
    const def: Def = { value, multiline, minParams: 0, maxParams: 0, numbersOnly: false };
    defs.set(m[1]!, def);
    mdef = multiline ? def : null;
    record(at, `$${m[1]}=`, 'mapped');
    return true;
  };

  /** A continuation line of a multi-line definition (keepalived's multiline_param_def). */
  const continueDef = (buf: string): void => {
    const def = mdef!;
    let piece = buf;
    if (piece.endsWith('\\')) piece = `${piece.slice(0, -1).replace(/[ \t]+$/, '')}\n`;
    else {
      mdef = null;
      if (def.value === '') def.multiline = false;
    }
    if (piece.length >= 2 || (piece.length > 0 && mdef === null)) def.value += piece;
  };

  const seq = (buf: string, at: Where): void => {
    const m = /^~SEQ(x?)[ \t]*\([ \t]*([^ \t,)]+)[ \t]*,([^)]*)\)[ \t]*(.*)$/.exec(buf);
    const nums = m ? (expand(m[3]!, at)?.text ?? '').split(',').map((s) => s.trim()) : [];
    if (!m || nums.length < 1 || nums.length > 3 || nums.some((n) => !/^-?\d+$/.test(n))) {
      error(at, `~SEQ must be ~SEQ(NAME, [START,] [STEP,] END) TEXT; got "${buf}"`);
      return;
    }
    const n = nums.map(Number);
    const [start, step, end] = n.length === 1 ? [n[0]! < 0 ? -1 : 1, n[0]! < 1 ? -1 : 1, n[0]!] : n.length === 2 ? [n[0]!, n[0]! <= n[1]! ? 1 : -1, n[1]!] : [n[0]!, n[1]!, n[2]!];
    if (step === 0 || (start < end && step < 0) || (start > end && step > 0)) {
      error(at, `~SEQ(${m[2]}, ${nums.join(', ')}) never reaches its end`);
      return;
    }
    const items: Item[] = [];
    for (let v = start; step > 0 ? v <= end : v >= end; v += step) {
      if ((made += 1) > MAX_MADE_LINES) {
        error(at, `~SEQ makes more than ${MAX_MADE_LINES.toLocaleString('en')} lines`);
        return;
      }
      items.push({ kind: 'set', name: m[2]!, value: m[1] ? v.toString(16) : String(v) }, { kind: 'line', text: m[4]!, at });
    }
    record(at, '~SEQ', 'mapped');
    pending = [...items, ...pending];
  };

  /** One logical line, as read_line goes on with it after reading it. */
  const process = (input: string, at: Where, depth: number): void => {
    let buf = input;
    if (mdef) {
      continueDef(buf);
      record(at, 'definition continued', 'mapped');
      return;
    }
    let col = at.col;
    const cond = /^@(\^?)([^ \t]*)[ \t]+/.exec(buf);
    if (buf.startsWith('@')) {
      if (!cond) {
        record(at, buf, 'noted');
        message('note', at, 'an @ID line with nothing after the ID; keepalived ignores it');
        return;
      }
      const applies = (cond[2] === opts.instance) !== (cond[1] === '^');
      record(at, `@${cond[1]}${cond[2]}`, 'noted');
      message('note', at, `@${cond[1]}${cond[2]}: ${applies ? 'read' : 'skipped'}, as keepalived with config id "${opts.instance}" does (lvsd convert --instance sets it)`);
      if (!applies) return;
      buf = buf.slice(cond[0].length);
      col += cond[0].length;
    }
    if (buf.startsWith('$') && defineFrom(buf, at)) return;
    if (buf.startsWith('~SEQ')) return seq(buf, at);
    if (buf.startsWith('~LST')) return error(at, '~LST is not supported by lvsd convert; write the lines it makes');
    if (!buf.startsWith('~') && buf.includes('$')) {
      const e = expand(buf, at);
      if (!e) return;
      if (e.text !== buf) {
        made += e.more.length;
        if (made > MAX_MADE_LINES) return error(at, `definitions make more than ${MAX_MADE_LINES.toLocaleString('en')} lines`);
        pending = [...e.more.map((t): Item => ({ kind: 'line', text: t, at })), ...pending];
        buf = decomment(e.text).text;
      }
    }
    if (buf === '') return;
    const inc = /^include([rmwba]?)[ \t\f\v\r]+(.*)$/.exec(buf);
    if (inc) {
      record(at, 'include', 'mapped');
      pending.push({ kind: 'include', pattern: inc[2]!.replace(/[ \t]+$/, ''), at, depth });
      return;
    }
    lines.push({ text: buf, file: at.file, line: at.line, col });
  };

  const include = (pattern: string, at: Where, depth: number): void => {
    if (depth >= MAX_INCLUDE_DEPTH) return error(at, `includes nested deeper than ${MAX_INCLUDE_DEPTH} (a loop?)`);
    const g = expandGlob(resolve(dirname(at.file), pattern));
    if (g.matches.length === 0) {
      message('note', at, `include ${pattern}: no file matches; nothing read (keepalived does the same)`);
      return;
    }
    for (const skipped of g.directories) message('note', at, `include ${pattern}: ${skipped} is a directory; skipped (as keepalived does)`);
    for (const f of g.matches) {
      const r = opts.readFile(f, opts.budget);
      if (!r.ok) {
        if (r.line > 0) error({ file: f, line: r.line, col: r.col }, r.message);
        else error(at, `include ${f}: ${r.message}`);
        continue;
      }
      readFile(f, r.text, depth + 1);
    }
  };

  const readFile = (f: string, src: string, depth: number): void => {
    files.push(f);
    const phys = src.split('\n');
    const saved = pending;
    pending = [];
    let i = 0;
    for (;;) {
      const item = pending.shift();
      if (item) {
        if (item.kind === 'set') defs.set(item.name, { value: item.value, multiline: false, minParams: 0, maxParams: 0, numbersOnly: false });
        else if (item.kind === 'include') include(item.pattern, item.at, item.depth);
        else process(item.text, item.at, depth);
        continue;
      }
      if (i >= phys.length) break;
      const lineNo = i + 1;
      const raw = phys[i++]!.replace(/\r+$/, '');
      if (raw === '') {
        // An empty line ends a multi-line definition.
        if (mdef) continueDef('');
        continue;
      }
      if (Buffer.byteLength(raw) >= MAX_LINE) {
        error({ file: f, line: lineNo, col: 1 }, `line longer than keepalived reads (${MAX_LINE} characters): keepalived ignores its start and reads the rest as another line`);
        continue;
      }
      const d = decomment(raw);
      for (let k = 0; k < d.commentAt; k++) {
        const bad = badCharacter(raw, k);
        if (bad) error({ file: f, line: lineNo, col: k + 1 }, bad);
      }
      if (d.unterminated) error({ file: f, line: lineNo, col: d.unterminated }, 'unterminated quoted string');
      if (d.text === '') continue;
      process(d.text, { file: f, line: lineNo, col: d.lead + 1 }, depth);
    }
    mdef = null;
    pending = saved;
  };

  try {
    readFile(file, text, 0);
  } catch (e) {
    if (!(e instanceof TooManyErrors)) throw e;
  }
  return { lines, errors, messages, directives, files };
}

/**
 * keepalived's decomment: leading blanks, comments (`!`, `#` outside quotes; `\#` and `\!` are the
 * characters) and trailing blanks removed. `commentAt` is where the comment started in `raw`.
 */
export function decomment(raw: string): { text: string; lead: number; commentAt: number; unterminated: number } {
  const lead = raw.length - raw.replace(/^[ \t]+/, '').length;
  let out = '';
  let quote = false;
  let quoteAt = 0;
  let i = lead;
  let commentAt = raw.length;
  for (; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '"') {
      quote = !quote;
      quoteAt = i + 1;
    } else if (c === '\\') {
      // A backslash ending the line continues a definition; keepalived keeps it after the last word.
      if (i + 1 === raw.length) return { text: `${out.replace(/[ \t]+$/, '')}\\`, lead, commentAt, unterminated: quote ? quoteAt : 0 };
      const next = raw[i + 1]!;
      if (!quote && (next === '#' || next === '!')) out += next;
      else out += c + next;
      i++;
      continue;
    } else if (!quote && (c === '!' || c === '#')) {
      commentAt = i;
      break;
    }
    out += c;
  }
  return { text: out.replace(/[ \t]+$/, ''), lead, commentAt, unterminated: quote ? quoteAt : 0 };
}
