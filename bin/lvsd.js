#!/usr/bin/env -S MALLOC_ARENA_MAX=1 node --max-semi-space-size=1
// lvsd command-line entry point: runs the compiled CLI (npm run build produces build/).
// --max-semi-space-size=1 (MiB; Node's default is 16): checks make short-lived garbage at a steady
// rate, and a large young generation only lets it pile up: 1 MiB cut the RSS of `lvsd run` at 1,000
// reals from ~120 to ~90 MB at the same CPU per check (issue 13). V8 reads it only at start-up, so it
// is on the interpreter line here, in the packaged entry (packaging/tools/bundle.mjs) and in the
// benchmarks (src/node-flags.ts). MALLOC_ARENA_MAX=1 (glibc reads it at start-up, so it is set
// there too): the check thread allocates in the process's one malloc arena instead of an arena of
// its own, 3-5 MB of RSS at 1,000 reals (issue 21; docs/behaviour.md, "Memory of the check threads").

// <early-signals> (copied verbatim into the packaged bundle's banner by packaging/tools/bundle.mjs)
// The first instruction, before any module loads (that takes ~0.5 s): park HUP/TERM/INT/USR2 so
// none of them kills lvsd by its default action; main() hands them to the daemon's lifecycle
// (src/cli/early-signals.ts). SIGHUP last: a process that catches it has all four parked.
const lvsdEarlySignals = { queued: [], park: (signal) => void lvsdEarlySignals.queued.push(signal) };
for (const signal of ['SIGTERM', 'SIGINT', 'SIGUSR2', 'SIGHUP']) process.on(signal, lvsdEarlySignals.park);
// </early-signals>

const { existsSync } = await import('node:fs');
const entry = new URL('../build/src/cli/main.js', import.meta.url);
// A clone that was never built has no build/: say what to do instead of a module-not-found trace.
if (!existsSync(entry)) {
  process.stderr.write(`lvsd: ${entry.pathname} is missing: this checkout is not built. Run \`npm ci && npm run build\` in ${new URL('..', import.meta.url).pathname}\n`);
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2), lvsdEarlySignals);
