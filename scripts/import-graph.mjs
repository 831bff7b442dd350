#!/usr/bin/env node
// The import graph of src/: import cycles, "upward" arrows against the layer order declared below
// (README.md "Layout" says the same in prose), and the largest files. Reads the TypeScript sources, so
// it needs no build. `--json` prints the same as one JSON object (test/unit/import-graph.test.ts);
// `--root DIR` reads another tree; `--top N` lists N largest files; `--from FILE` prints what
// loading FILE pulls in statically (its transitive static imports, node_modules packages included).
//
// Usage: node scripts/import-graph.mjs [--json] [--root src] [--top 10] [--from config/load.ts]

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Layers, lowest first. A file may import files of its own layer or of lower layers, never of a
 * higher one. A file's layer is the entry with the longest prefix matching its path under src/
 * (a folder "x/" or one file "x/y.ts"). Keep this in step with README.md "Layout".
 */
export const LAYERS = [
  ['base', ['errors.ts', 'log.ts', 'log-text.ts', 'atomic-file.ts', 'json-state-file.ts', 'version.ts',
    'node-flags.ts', 'private-socket.ts', 'loop-lag.ts', 'throttled-warning.ts', 'paced-log.ts']],
  ['model', ['model/']],
  ['config', ['config/']],
  ['drivers', ['checks/', 'health/', 'scheduler/', 'ipvs/', 'sync-daemon/ipvsadm.ts', 'agent/', 'notify/']],
  ['engine', ['engine/']],
  ['state', ['reconcile/', 'sync-daemon/', 'control/']],
  ['outside', ['announce/', 'observe/']],
  ['daemon', ['daemon/', 'fatal.ts']],
  ['tools', ['convert/']],
  ['cli', ['cli/']],
];

const OVER = 400;

function parseArgs(argv) {
  const here = dirname(fileURLToPath(import.meta.url));
  const opts = { json: false, root: join(here, '..', 'src'), top: 10, from: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') opts.json = true;
    else if (a === '--root') opts.root = resolve(argv[++i]);
    else if (a === '--top') opts.top = Number(argv[++i]);
    else if (a === '--from') opts.from = argv[++i];
    else throw new Error(`import-graph: unknown argument ${a}`);
  }
  return opts;
}

function listTs(root) {
  const out = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(relative(root, p).split(sep).join('/'));
    }
  };
  walk(root);
  return out;
}

/**
 * Every import of one file: { spec, kind: 'static' | 'type' | 'dynamic' }. Import and export
 * statements are matched where a line starts with them (so comments, which start with // or *,
 * never count); `import('...')` anywhere on a line that is not a comment.
 */
export function importsOf(text) {
  const out = [];
  const stat = /^[ \t]*(import|export)\s+(type\s+)?(?:[\w*{}\s,$]*?\s+from\s+)?['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(stat)) out.push({ spec: m[3], kind: m[2] ? 'type' : 'static' });
  for (const line of text.split('\n')) {
    if (/^\s*(\/\/|\*|\/\*)/.test(line)) continue;
    for (const m of line.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push({ spec: m[1], kind: 'dynamic' });
  }
  return out;
}

function resolveSpec(from, spec, files) {
  if (!spec.startsWith('.')) return null;
  const target = join(dirname(from), spec).split(sep).join('/').replace(/\.js$/, '.ts');
  return files.has(target) ? target : null;
}

export function layerOf(file) {
  let best = null;
  for (let i = 0; i < LAYERS.length; i++) {
    for (const prefix of LAYERS[i][1]) {
      const hit = prefix.endsWith('/') ? file.startsWith(prefix) : file === prefix;
      if (hit && (best === null || prefix.length > best.len)) best = { index: i, len: prefix.length };
    }
  }
  return best === null ? -1 : best.index;
}

/** Strongly connected components with more than one file (Tarjan), each sorted, plus self-loops. */
function cyclesOf(nodes, edges) {
  let index = 0;
  const idx = new Map(), low = new Map(), onStack = new Set(), stack = [], sccs = [];
  const visit = (v) => {
    idx.set(v, index); low.set(v, index); index++;
    stack.push(v); onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v), low.get(w))); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const scc = [];
      let w;
      do { w = stack.pop(); onStack.delete(w); scc.push(w); } while (w !== v);
      if (scc.length > 1 || (edges.get(v) ?? new Set()).has(v)) sccs.push(scc.sort());
    }
  };
  for (const v of nodes) if (!idx.has(v)) visit(v);
  return sccs.sort((a, b) => a[0].localeCompare(b[0]));
}

/** One shortest cycle through `start` inside its component, for a readable line. */
function cycleThrough(start, scc, edges) {
  const inScc = new Set(scc);
  const prev = new Map([[start, null]]);
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift();
    for (const w of edges.get(v) ?? []) {
      if (!inScc.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let x = v; x !== start; x = prev.get(x)) path.splice(1, 0, x);
        return [...path, start];
      }
      if (!prev.has(w)) { prev.set(w, v); queue.push(w); }
    }
  }
  return [start, start];
}

export function analyse(root, top = 10) {
  const list = listTs(root);
  const files = new Set(list);
  const edges = new Map();
  const kinds = new Map();
  const packages = new Map();
  const lines = new Map();
  for (const f of list) {
    const text = readFileSync(join(root, f), 'utf8');
    lines.set(f, text.split('\n').length - (text.endsWith('\n') ? 1 : 0));
    const out = new Set();
    const pk = new Set();
    for (const { spec, kind } of importsOf(text)) {
      const t = resolveSpec(f, spec, files);
      if (t !== null) {
        out.add(t);
        const key = `${f}\0${t}`;
        const was = kinds.get(key);
        // A pair imported both ways counts as its strongest: static > dynamic > type.
        const rank = { type: 0, dynamic: 1, static: 2 };
        if (was === undefined || rank[kind] > rank[was]) kinds.set(key, kind);
      } else if (!spec.startsWith('.') && kind === 'static') {
        pk.add(spec);
      }
    }
    edges.set(f, out);
    packages.set(f, pk);
  }
  const cycles = cyclesOf(list, edges).map((scc) => ({ files: scc, example: cycleThrough(scc[0], scc, edges) }));
  const upward = [];
  const unlayered = [];
  for (const f of list) {
    const lf = layerOf(f);
    if (lf < 0) { unlayered.push(f); continue; }
    for (const t of edges.get(f)) {
      const lt = layerOf(t);
      if (lt > lf) upward.push({ from: f, to: t, kind: kinds.get(`${f}\0${t}`), fromLayer: LAYERS[lf][0], toLayer: LAYERS[lt][0] });
    }
  }
  const largest = [...lines].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return {
    files: list.length,
    edges: [...edges.values()].reduce((n, s) => n + s.size, 0),
    layers: LAYERS.map(([name, prefixes]) => ({ name, prefixes })),
    cycles,
    upward,
    unlayered,
    largest: largest.slice(0, top).map(([file, n]) => ({ file, lines: n })),
    over400: largest.filter(([, n]) => n > OVER).map(([file, n]) => ({ file, lines: n })),
    graph: { edges, kinds, packages },
  };
}

/** What loading `start` pulls in before any code runs: static (non-type) imports, transitively. */
export function staticClosure(result, start) {
  const { edges, kinds, packages } = result.graph;
  const seen = new Set([start]);
  const pk = new Set();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift();
    for (const p of packages.get(v) ?? []) pk.add(p);
    for (const w of edges.get(v) ?? []) {
      if (kinds.get(`${v}\0${w}`) !== 'static' || seen.has(w)) continue;
      seen.add(w);
      queue.push(w);
    }
  }
  return { files: [...seen].sort(), packages: [...pk].sort() };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const r = analyse(opts.root, opts.top);
  if (opts.from !== null) {
    const c = staticClosure(r, opts.from);
    if (opts.json) { console.log(JSON.stringify(c, null, 2)); return; }
    console.log(`${opts.from} loads ${c.files.length} src files statically; packages: ${c.packages.join(', ') || '(none)'}`);
    for (const f of c.files) console.log(`  ${f}`);
    return;
  }
  if (opts.json) {
    const { graph, ...rest } = r;
    console.log(JSON.stringify(rest, null, 2));
    return;
  }
  console.log(`src: ${r.files} files, ${r.edges} imports between them`);
  console.log(`layers (lowest first): ${r.layers.map((l) => l.name).join(' < ')}`);
  console.log(`\nimport cycles: ${r.cycles.length}`);
  for (const c of r.cycles) {
    console.log(`  ${c.files.length} files: ${c.example.join(' -> ')}`);
    if (c.files.length > c.example.length - 1) console.log(`    (component: ${c.files.join(', ')})`);
  }
  console.log(`\nupward arrows (against the layer order): ${r.upward.length}`);
  for (const u of r.upward) console.log(`  ${u.from} (${u.fromLayer}) -> ${u.to} (${u.toLayer})${u.kind === 'static' ? '' : ` [${u.kind}]`}`);
  if (r.unlayered.length > 0) console.log(`\nfiles in no layer: ${r.unlayered.join(', ')}`);
  console.log(`\nlargest src files (${r.over400.length} over ${OVER} lines):`);
  for (const l of r.largest) console.log(`  ${String(l.lines).padStart(5)}  ${l.file}`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
