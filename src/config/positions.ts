// YAML parsing with line:col positions: every document of a file, its syntax errors, and a lookup
// from a key path (as zod reports it) to the place of that key or value in the text. Size limits
// (limits.ts) are applied before the tree is built and before aliases are expanded.

import { LineCounter, isAlias, isMap, isScalar, isSeq, parseAllDocuments } from 'yaml';
import type { Document, Node } from 'yaml';
import type { SourcePos } from './source-pos.js';
import type { IssueList } from './issues.js';
import { LIMITS, expandedSize, prescanYaml } from './limits.js';

export type PathSeg = string | number;

/** One parsed YAML document with the means to point into it. */
export class YamlDoc {
  constructor(
    readonly file: string,
    /** 1-based position of the document among the file's non-empty documents. */
    readonly index: number,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
    /** Each alias and the node it refers to (from the expansion count). */
    private readonly aliases: ReadonlyMap<Node, Node>,
  ) {}

  /**
   * The plain JS value (maps as objects). Aliases were already counted as expanded against the
   * limits, so yaml's own alias limit (100 uses, which refuses an anchor shared by 100 reals) is off;
   * an alias becomes a shared reference, never a copy.
   */
  toJS(): unknown {
    return this.doc.toJS({ maxAliasCount: -1 });
  }

  posOf(offset: number): SourcePos {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line: Math.max(line, 1), col: Math.max(col, 1) };
  }

  /** Where the document's content begins (its first key). */
  start(): SourcePos {
    const range = this.doc.contents?.range ?? this.doc.range;
    return this.posOf(range[0]);
  }

  has(path: readonly PathSeg[]): boolean {
    return this.walk(path).found;
  }

  /**
   * Position of the key (`mode: 'key'`) or value at `path`. A path that is not in the text (a
   * missing required key) gives the deepest mapping key that is, so the message lands nearby.
   */
  at(path: readonly PathSeg[], mode: 'key' | 'value' = 'value'): SourcePos {
    const w = this.walk(path);
    if (w.found && mode === 'value' && w.node?.range) return this.posOf(w.node.range[0]);
    if (w.key?.range) return this.posOf(w.key.range[0]);
    if (w.node?.range) return this.posOf(w.node.range[0]);
    return this.start();
  }

  private walk(path: readonly PathSeg[]): { found: boolean; key: Node | null; node: Node | null } {
    let node = this.deref(this.doc.contents);
    let key: Node | null = null;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      if (isMap(node)) {
        const pair = node.items.find((p) => keyText(p.key) === String(seg));
        if (!pair) return { found: false, key, node };
        key = isScalar(pair.key) ? pair.key : null;
        const value = this.deref(pair.value as Node | null);
        // `key:` with nothing after it: point at the key rather than at an empty range.
        node = value && !(isScalar(value) && value.value === null) ? value : null;
        if (!node) return { found: i === path.length - 1, key, node: key };
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = this.deref(node.items[seg] as Node | null);
        if (!item) return { found: false, key, node };
        node = item;
        key = null;
      } else {
        return { found: false, key, node };
      }
    }
    return { found: true, key, node };
  }

  private deref(node: Node | null | undefined): Node | null {
    // yaml's Alias.resolve() walks the whole document on each call; the map is built once.
    if (isAlias(node)) return this.aliases.get(node) ?? null;
    return node ?? null;
  }
}

function keyText(key: unknown): string | null {
  if (isScalar(key)) return String(key.value);
  return null;
}

/** What is left of the node limit over all files; each parsed file takes its share. */
export interface NodeBudget {
  remaining: number;
}

/**
 * Parse every document of a file. Syntax errors and warnings go to `issues` (a document with
 * errors is not returned, so it does not cause follow-up noise); empty documents are skipped. A file
 * past the limits is refused as a whole before it is parsed; a document whose aliases expand past
 * them is refused on its own, at the alias, and the other documents are still checked.
 */
export function parseYamlFile(file: string, text: string, issues: IssueList, budget: NodeBudget = { remaining: LIMITS.totalNodes }): YamlDoc[] {
  const lines = new LineCounter();
  const limit = Math.min(LIMITS.nodesPerFile, budget.remaining);
  const scan = prescanYaml(text, limit);
  if (!scan.ok) {
    // Positions without parsing: count the lines before the offset.
    issues.add(positionIn(file, text, scan.offset), scan.message);
    return [];
  }
  let parsed: Document.Parsed[];
  try {
    parsed = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true }) as Document.Parsed[];
  } catch (err) {
    // Block nesting deep enough to exhaust the parser's stack (flow nesting is refused above).
    issues.add({ file, line: 0, col: 0 }, `cannot be parsed: ${(err as Error).message}`);
    return [];
  }
  if (!Array.isArray(parsed)) parsed = [parsed];
  const docs: YamlDoc[] = [];
  let index = 0;
  let fileNodes = 0;
  for (const doc of parsed) {
    const problems = [...doc.errors, ...doc.warnings];
    for (const err of problems) {
      const { line, col } = lines.linePos(err.pos[0]);
      issues.add({ file, line: Math.max(line, 1), col: Math.max(col, 1) }, yamlMessage(err.message) + ipv6Hint(text, err.pos[0]));
    }
    if (doc.errors.length > 0) continue;
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) continue;
    index++;
    const size = expandedSize(doc, limit - fileNodes);
    if (!size.ok) {
      const offset = size.node.range?.[0] ?? doc.range[0];
      const { line, col } = lines.linePos(offset);
      issues.add({ file, line: Math.max(line, 1), col: Math.max(col, 1) }, size.message);
      continue;
    }
    fileNodes += size.nodes;
    docs.push(new YamlDoc(file, index, doc, lines, size.anchors));
  }
  budget.remaining -= fileNodes;
  return docs;
}

function positionIn(file: string, text: string, offset: number): SourcePos {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { file, line, col: offset - start + 1 };
}

/** yaml's messages end with "at line L, column C" which our prefix already says. */
/**
 * An unquoted `[2001:db8::10]:80` is a YAML flow sequence followed by `:80`, which YAML reports as
 * "Unexpected scalar at node end": say what to write instead when the line holds such an address.
 */
function ipv6Hint(text: string, offset: number): string {
  const start = text.lastIndexOf('\n', Math.max(0, offset - 1)) + 1;
  const end = text.indexOf('\n', offset);
  const line = text.slice(start, end < 0 ? undefined : end);
  const m = /(?<![\w"'])\[([0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)\]:(\d+)/.exec(line);
  return m ? ` (an IPv6 address with a port must be quoted: "[${m[1]}]:${m[2]}")` : '';
}

function yamlMessage(message: string): string {
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  return `YAML: ${first}`;
}
