#!/usr/bin/env -S node --max-semi-space-size=1
// lvsd command-line entry point: runs the compiled CLI (npm run build produces build/).
// --max-semi-space-size=1 (MiB; Node's default is 16): checks make short-lived garbage at a steady
// rate, and a large young generation only lets it pile up: 1 MiB cut the RSS of `lvsd run` at 1,000
// reals from ~120 to ~90 MB at the same CPU per check (issue 13). V8 reads it only at start-up, so it
// is on the interpreter line here, in the packaged entry (packaging/tools/bundle.mjs) and in the
// benchmarks (src/node-flags.ts).
import { existsSync } from 'node:fs';

const entry = new URL('../build/src/cli/main.js', import.meta.url);
// A clone that was never built has no build/: say what to do instead of a module-not-found trace.
if (!existsSync(entry)) {
  process.stderr.write(`lvsd: ${entry.pathname} is missing: this checkout is not built. Run \`npm ci && npm run build\` in ${new URL('..', import.meta.url).pathname}\n`);
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
