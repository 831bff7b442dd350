// Bundles src/cli/main.ts and its production dependencies into one ESM file for the packages.
// Usage: node packaging/tools/bundle.mjs OUT_DIR  (writes OUT_DIR/lvsd.js, lvsd.meta.json)

import { build } from 'esbuild';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const outDir = resolve(process.argv[2] ?? join(root, 'build/pkg'));
await mkdir(outDir, { recursive: true });

// The same two lines as bin/lvsd.js, but against the TypeScript sources (esbuild strips types).
// The config loader thread (src/config/loader-thread.ts) runs this same bundle as its worker: there
// main() must not run, and the loader module is imported by name, since main.ts imports each
// subcommand (and so the daemon and its loader) only when it runs; esbuild keeps those imports lazy.
const entry = `import { isMainThread } from 'node:worker_threads';
if (isMainThread) {
  const { main } = await import('./src/cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
} else {
  await import('./src/config/loader-thread.ts');
}
`;

const result = await build({
  stdin: { contents: entry, resolveDir: root, sourcefile: 'lvsd-entry.mjs', loader: 'js' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: join(outDir, 'lvsd.js'),
  // The packages carry their own Node.js as /usr/lib/lvsd/node (packaging/stage-runtime.sh).
  // CommonJS dependencies (pino, prom-client, ...) call require() for node builtins; an ESM bundle
  // has no require, so give it one.
  banner: {
    js: "#!/usr/lib/lvsd/node --max-semi-space-size=1\nimport { createRequire as __lvsdCreateRequire } from 'node:module';\nconst require = __lvsdCreateRequire(import.meta.url);",
  },
  legalComments: 'eof',
  metafile: true,
  logLevel: 'warning',
  absWorkingDir: root,
});

await writeFile(join(outDir, 'lvsd.meta.json'), JSON.stringify(result.metafile));
