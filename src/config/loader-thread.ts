// Whole config loads off the event loop that runs the checks: a worker thread, started for one load
// and ended after it, reads, parses and validates (loadConfig) and posts back only the result. The
// daemon uses it when a reload changes more than it parses in place (watch.ts): every service file
// after an lvsd.yaml edit, a new conf.d. Nothing stays alive between reloads (a resident loader
// thread and the config it held cost ~100 MB at 5,000 reals). The worker has its own heap limit:
// input that slipped past the size limits can kill the worker, never the daemon.
//
// This file is both sides: the daemon calls loadInThread; the worker runs this same module (or the
// same bundle, see packaging/tools/bundle.mjs) and serves the load when it sees its role.

import { deserialize, serialize } from 'node:v8';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../errors.js';
import type { LoadCache, LoadResult } from './load.js';
import { adoptCache, cacheOf, loadConfig } from './load.js';

const ROLE = 'lvsd-config-loader';
/**
 * Heap of the loader thread while it runs: several times what the largest config within the limits
 * needs. It is returned when the thread ends, so it costs nothing between reloads.
 */
const WORKER_HEAP_MB = 1536;

interface Job {
  readonly role: typeof ROLE;
  readonly configDir: string;
}

type Reply =
  // The result (and its parse cache, one object graph) v8-serialised in the worker and transferred
  // (no copy): the main thread deserialises it itself, so the hand-over cost is measured.
  | { readonly kind: 'result'; readonly result: ArrayBuffer }
  | { readonly kind: 'error'; readonly message: string };

/** What a load in the thread gives, with the main thread's share of the cost (deserialise and freeze). */
export type ThreadLoad = LoadResult & { handoverMs?: number };

/** Load `configDir` in a thread of its own; rejects if the thread dies (out of memory, a crash). */
export function loadInThread(configDir: string): Promise<ThreadLoad> {
  return new Promise<ThreadLoad>((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), {
      workerData: { role: ROLE, configDir } satisfies Job,
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      // The thread must not see the daemon's argv as its own.
      argv: [],
      stdout: false,
      stderr: false,
    });
    let settled = false;
    worker.on('message', (reply: Reply) => {
      settled = true;
      void worker.terminate();
      if (reply.kind === 'error') return reject(new Error(reply.message));
      const t = performance.now();
      const { result, cache } = deserialize(Buffer.from(reply.result)) as { result: LoadResult; cache?: LoadCache };
      if (result.ok) {
        deepFreeze(result.snapshot);
        if (cache) adoptCache(result.snapshot, cache);
      }
      resolve({ ...result, handoverMs: performance.now() - t });
    });
    worker.on('error', (err) => {
      if (!settled) reject(err);
      settled = true;
    });
    worker.on('exit', (code) => {
      if (!settled) reject(new Error(`the config loader thread exited (${code})`));
      settled = true;
    });
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** The worker side: one load, one reply. */
function serve(job: Job): void {
  const port = parentPort!;
  loadConfig(job.configDir).then(
    (result) => {
      const cache = result.ok ? cacheOf(result.snapshot) : undefined;
      const bytes = serialize({ result, cache });
      const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      port.postMessage({ kind: 'result', result: copy } satisfies Reply, [copy]);
    },
    (err: unknown) => port.postMessage({ kind: 'error', message: errorMessage(err) } satisfies Reply),
  );
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === ROLE) serve(workerData as Job);
