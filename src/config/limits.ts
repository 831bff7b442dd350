// Size limits of the configuration, enforced before anything big is built: a file's size is known
// from fstat before it is read, its documents and nodes are counted by yaml's lexer (a flat token
// stream, no tree) before it is parsed, and YAML aliases are counted as expanded (memoised per
// anchor, so linear in the text) before the document is turned into data. A 50 MB file or an alias
// bomb is then one positioned `too large` issue instead of gigabytes of heap.

import { CST, Lexer, isAlias, isMap, isPair, isSeq } from 'yaml';
import type { Document, Node } from 'yaml';

/**
 * The limits, chosen with a wide margin over an honest big configuration: 10,000 reals with a
 * per-real check override, comments and anchors are about 2 MB, 130,000 nodes (see README
 * "Limits"). Raising them only needs a change here.
 */
export const LIMITS = {
  /** One file (lvsd.yaml or a conf.d file), from fstat, before reading. */
  fileBytes: 4 * 1024 * 1024,
  /** All files together. */
  totalBytes: 16 * 1024 * 1024,
  /** YAML documents (virtual services) in one file. */
  documentsPerFile: 10_000,
  /** YAML nodes (scalars, mappings, lists) in one file, counting each alias as what it expands to. */
  nodesPerFile: 250_000,
  /** The same over all files. */
  totalNodes: 500_000,
  /** Nesting of flow collections ([ ] { }); deeper input would exhaust the parser's stack. */
  flowDepth: 64,
} as const;

const MiB = 1024 * 1024;
export function formatBytes(n: number): string {
  return n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} bytes`;
}

export type PrescanResult = { ok: true; nodes: number } | { ok: false; offset: number; message: string };

/**
 * Count a file's documents and nodes with yaml's lexer, stopping at the first limit crossed. Each
 * scalar, collection start, list item and alias counts as one node: about what the parser builds.
 */
export function prescanYaml(text: string, nodeBudget: number): PrescanResult {
  let offset = 0;
  let documents = 0;
  let nodes = 0;
  let depth = 0;
  let pendingScalar = false;
  // The lexer marks the start of the stream and each document after a `...` with DOCUMENT; a `---`
  // starts a document unless it directly follows that marker.
  let markerOnly = false;
  const tooMany = (): PrescanResult => ({ ok: false, offset, message: `too large: more than ${LIMITS.documentsPerFile.toLocaleString('en')} YAML documents in one file (split it into several files)` });
  for (const token of new Lexer().lex(text)) {
    if (token === CST.DOCUMENT || token === '---') {
      if (token === CST.DOCUMENT || !markerOnly) documents++;
      markerOnly = token === CST.DOCUMENT;
      if (documents > LIMITS.documentsPerFile) return tooMany();
      if (token === CST.DOCUMENT) continue;
      offset += token.length;
      continue;
    }
    const kind = token[0];
    if (markerOnly && kind !== '#' && kind !== '%' && kind !== ' ' && kind !== '\n' && kind !== '\r' && token !== '') markerOnly = false;
    switch (token) {
      case CST.SCALAR:
        // A marker, not text: the plain or block scalar's text follows as the next token.
        pendingScalar = true;
        continue;
      case CST.FLOW_END:
        continue;
      case '{':
      case '[':
        if (++depth > LIMITS.flowDepth) {
          return { ok: false, offset, message: `too deeply nested: more than ${LIMITS.flowDepth} levels of [ ] or { }` };
        }
        nodes++;
        break;
      case '}':
      case ']':
        depth = Math.max(0, depth - 1);
        break;
      case '-':
      case ':':
        nodes++;
        break;
      default: {
        const c = token[0];
        if (pendingScalar || c === '"' || c === "'" || c === '*') nodes++;
        pendingScalar = false;
      }
    }
    offset += token.length;
    if (nodes > nodeBudget) return { ok: false, offset, message: tooManyNodes(nodeBudget) };
  }
  return { ok: true, nodes };
}

export function tooManyNodes(budget: number): string {
  return budget < LIMITS.nodesPerFile
    ? `too large: the configuration holds more than ${LIMITS.totalNodes.toLocaleString('en')} YAML nodes in all files`
    : `too large: more than ${LIMITS.nodesPerFile.toLocaleString('en')} YAML nodes in one file (aliases counted as expanded)`;
}

export type ExpandResult =
  | { ok: true; nodes: number; anchors: Map<Node, Node> }
  | { ok: false; node: Node; message: string };

/**
 * The number of nodes of a composed document once every alias is replaced by what it refers to,
 * computed without expanding anything (each anchored node's size is remembered), plus the map from
 * each alias to its node. Stops at `budget`: an alias bomb is refused at the alias that crosses it.
 * An alias inside the node it refers to (a cycle) is refused too: its data would be infinite.
 */
export function expandedSize(doc: Document.Parsed, budget: number): ExpandResult {
  const anchors = new Map<string, Node>();
  const sizes = new Map<Node, number>();
  const open = new Set<Node>();
  const targets = new Map<Node, Node>();
  let total = 0;
  let failure: { node: Node; message: string } | null = null;

  const visit = (node: unknown): number => {
    if (failure || node === null || node === undefined) return 0;
    if (isPair(node)) return visit(node.key) + visit(node.value);
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (target === undefined) return 1; // yaml itself reports the unknown anchor
      if (open.has(target)) {
        failure = { node, message: `YAML: alias *${node.source} refers to a node that contains it (the data would be infinite)` };
        return 0;
      }
      targets.set(node, target);
      const size = sizes.get(target) ?? 1;
      total += size;
      if (total > budget) failure = { node, message: `${tooManyNodes(budget)}; alias *${node.source} crosses the limit` };
      return size;
    }
    const n = node as Node;
    if (n.anchor) {
      anchors.set(n.anchor, n);
      open.add(n);
    }
    // Count the node itself at once, so the limit is met where it is crossed.
    total += 1;
    let size = 1;
    if (isMap(n) || isSeq(n)) {
      for (const item of n.items) size += visit(item);
    }
    if (n.anchor) {
      open.delete(n);
      sizes.set(n, size);
    }
    if (!failure && total > budget) failure = { node: n, message: tooManyNodes(budget) };
    return size;
  };
  visit(doc.contents);
  if (failure) return { ok: false, ...(failure as { node: Node; message: string }) };
  return { ok: true, nodes: total, anchors: targets };
}
