// Test instrumentation (node --import): holds the load of lvsd's CLI (build/src/cli/main.js) until
// the test lets it go, so a test can send a signal at the exact point the issue 18 window was: the
// entry has run its first instruction and the modules have not loaded. Writes `held` into
// LVSD_TEST_HOLD_DIR when it holds and waits there for a file named `release`.

import { register } from 'node:module';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';

let holdDir: string | null = null;

// In the process's main thread: install this same file as the module hooks (they run in their own thread).
if (isMainThread && process.env['LVSD_TEST_HOLD_DIR']) {
  register(import.meta.url, { data: { dir: process.env['LVSD_TEST_HOLD_DIR'] } });
}

export function initialize(data: { dir: string }): void {
  holdDir = data.dir;
}

type NextLoad = (url: string, context: unknown) => Promise<unknown>;

export async function load(url: string, context: unknown, nextLoad: NextLoad): Promise<unknown> {
  if (holdDir !== null && url.endsWith('/src/cli/main.js')) {
    writeFileSync(join(holdDir, 'held'), '');
    // A condition wait inside the instrumentation; the test's own bounds end a wait that never ends.
    while (!existsSync(join(holdDir, 'release'))) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return nextLoad(url, context);
}
