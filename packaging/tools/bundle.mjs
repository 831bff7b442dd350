// Bundles src/cli/main.ts and its production dependencies into one ESM file for the packages, and
// writes the small entry that loads it.
// Usage: node packaging/tools/bundle.mjs OUT_DIR  (writes OUT_DIR/lvsd.js, lvsd-main.js, lvsd-engine.js, lvsd.meta.json)

import { build } from 'esbuild';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const outDir = resolve(process.argv[2] ?? join(root, 'build/pkg'));
await mkdir(outDir, { recursive: true });

// The bundle (lvsd-main.js) exports main(); the entry (lvsd.js) calls it. The config loader thread
// (src/config/loader-thread.ts) runs the bundle as its worker: there nothing calls main(), and the
// loader module is imported by name, since main.ts imports each subcommand (and so the daemon and
// its loader) only when it runs; esbuild keeps those imports lazy.
const entry = `import { isMainThread } from 'node:worker_threads';
export { main } from './src/cli/main.ts';
if (!isMainThread) await import('./src/config/loader-thread.ts');
`;

// The entry's first instruction parks the signals (issue 18), before the bundle is even parsed (a
// 3 MB module is parsed whole before any of its code runs: a banner would come too late). The
// lines are bin/lvsd.js's own <early-signals> block, so there is one source.
const binText = await readFile(join(root, 'bin/lvsd.js'), 'utf8');
const early = /\/\/ <early-signals>[^\n]*\n([\s\S]*?)\/\/ <\/early-signals>\n/.exec(binText);
if (!early) throw new Error('bin/lvsd.js: no <early-signals> block to copy into the packaged entry');
// The packages carry their own Node.js as /usr/lib/lvsd/node (packaging/stage-runtime.sh).
const packagedEntry = `#!/usr/lib/lvsd/node --max-semi-space-size=1
// lvsd, packaged: the signal handlers first, then the bundle (lvsd-main.js, built by packaging/tools/bundle.mjs).
${early[1]}const { main } = await import('./lvsd-main.js');
process.exitCode = await main(process.argv.slice(2), lvsdEarlySignals);
`;

// CommonJS dependencies (pino, prom-client, undici, ...) call require() for node builtins; an ESM
// bundle has no require, so give it one.
const banner = {
  js: "import { createRequire as __lvsdCreateRequire } from 'node:module';\nconst require = __lvsdCreateRequire(import.meta.url);",
};
// The check threads (src/engine/worker-pool.ts) run a bundle of their own, lvsd-engine.js beside
// lvsd-main.js: the checkers and the engine core without the logger, metrics or config parser, so
// each thread loads only what it runs. The main bundle learns its name through the define.
const result = await build({
  stdin: { contents: entry, resolveDir: root, sourcefile: 'lvsd-entry.mjs', loader: 'js' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: join(outDir, 'lvsd-main.js'),
  define: { LVSD_ENGINE_BUNDLE: '"./lvsd-engine.js"' },
  banner,
  legalComments: 'eof',
  metafile: true,
  logLevel: 'warning',
  absWorkingDir: root,
});
const engine = await build({
  entryPoints: [join(root, 'src/engine/thread-entry.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: join(outDir, 'lvsd-engine.js'),
  banner,
  legalComments: 'eof',
  metafile: true,
  logLevel: 'warning',
  absWorkingDir: root,
});
// Whatever the engine bundle holds is in the main bundle too (the in-thread engine, probe, plan);
// the copyright file is generated from the main bundle's inputs, so check that it says so.
for (const input of Object.keys(engine.metafile.inputs)) {
  if (input.includes('node_modules/') && !(input in result.metafile.inputs)) throw new Error(`bundle: ${input} is in lvsd-engine.js but not in lvsd-main.js (packaging/tools/gen-copyright.mjs reads only the latter)`);
}

await writeFile(join(outDir, 'lvsd.meta.json'), JSON.stringify(result.metafile));
await writeFile(join(outDir, 'lvsd.js'), packagedEntry);
await chmod(join(outDir, 'lvsd.js'), 0o755);
