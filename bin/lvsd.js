#!/usr/bin/env node
// lvsd command-line entry point: runs the compiled CLI (npm run build produces build/).
import { existsSync } from 'node:fs';

const entry = new URL('../build/src/cli/main.js', import.meta.url);
// A clone that was never built has no build/: say what to do instead of a module-not-found trace.
if (!existsSync(entry)) {
  process.stderr.write(`lvsd: ${entry.pathname} is missing: this checkout is not built. Run \`npm ci && npm run build\` in ${new URL('..', import.meta.url).pathname}\n`);
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
