// YAML parsing with line:col positions: every document of a file, its syntax errors, and a lookup
// from a key path (as zod reports it) to the place of that key or value in the text.

import { LineCounter, isAlias, isMap, isScalar, isSeq, parseAllDocuments } from 'yaml';
import type { Document, Node } from 'yaml';
import type { SourcePos } from './model.js';
import type { IssueList } from './issues.js';

export type PathSeg = string | number;

/** One parsed YAML document with the means to point into it. */
export class YamlDoc {
  constructor(
    readonly file: string,
    /** 1-based position of the document among the file's non-empty documents. */
    readonly index: number,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  /** The plain JS value (maps as objects). */
  toJS(): unknown {
    return this.doc.toJS({ maxAliasCount: 100 });
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
    if (isAlias(node)) return (node.resolve(this.doc) as Node | undefined) ?? null;
    return node ?? null;
  }
}

function keyText(key: unknown): string | null {
  if (isScalar(key)) return String(key.value);
  return null;
}

/**
 * Parse every document of a file. Syntax errors and warnings go to `issues` (a document with
 * errors is not returned, so it does not cause follow-up noise); empty documents are skipped.
 */
export function parseYamlFile(file: string, text: string, issues: IssueList): YamlDoc[] {
  const lines = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const docs: YamlDoc[] = [];
  let index = 0;
  for (const doc of parsed) {
    const problems = [...doc.errors, ...doc.warnings];
    for (const err of problems) {
      const { line, col } = lines.linePos(err.pos[0]);
      issues.add({ file, line: Math.max(line, 1), col: Math.max(col, 1) }, yamlMessage(err.message));
    }
    if (doc.errors.length > 0) continue;
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) continue;
    index++;
    docs.push(new YamlDoc(file, index, doc, lines));
  }
  return docs;
}

/** yaml's messages end with "at line L, column C" which our prefix already says. */
function yamlMessage(message: string): string {
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  return `YAML: ${first}`;
}
