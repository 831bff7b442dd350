// The V8 flags and environment `lvsd` runs with, read only at start-up (by V8, by glibc): the flags
// on the interpreter line of bin/lvsd.js and of the packaged entry (packaging/tools/bundle.mjs); the
// environment on bin/lvsd.js's line (env -S) and, for the packaged daemon, in lvsd.service and the
// heartbeat/OCF start (packaging/common/daemon-functions.sh: rpmlint refuses an env "#!" line).
// Benchmarks that start `node .../lvsd.js` themselves pass these, so they measure lvsd as installed.

/** A 1 MiB young generation (Node's default: 16): see bin/lvsd.js for the figures. */
export const LVSD_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/**
 * One glibc malloc arena for the process: the check thread (issue 21) otherwise gets an arena of
 * its own, 3-5 MB of RSS at 1,000 reals that the threads' native allocations could share
 * (docs/behaviour.md, "Memory of the check threads"). glibc reads it when the process starts.
 */
export const LVSD_NODE_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '1' };
