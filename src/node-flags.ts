// The V8 flags `lvsd` runs with: on the interpreter line of bin/lvsd.js and of the packaged entry
// (packaging/tools/bundle.mjs), since V8 reads them only at start-up. Benchmarks that start
// `node .../lvsd.js` themselves pass these, so they measure lvsd as installed.

/** A 1 MiB young generation (Node's default: 16): see bin/lvsd.js for the figures. */
export const LVSD_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
