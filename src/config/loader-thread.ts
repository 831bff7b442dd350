// Config loads for the running daemon, off the event loop that runs the checks: a persistent worker
// thread reads, parses and validates (loadConfig) and posts back only the result, so a reload of
// 10,000 reals costs the main loop one message and a freeze, never a long parse. The worker has its
// own heap limit: input that slipped past the size limits can kill the worker, never the daemon.
//
// This file is both sides: the daemon constructs a ConfigLoaderThread; the worker runs this same
// module (or the same bundle, see packaging/tools/bundle.mjs) and serves loads when it sees its role.

import { deserialize, serialize } from 'node:v8';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../errors.js';
import type { LoadResult } from './load.js';
import { loadConfig } from './load.js';

const ROLE = 'lvsd-config-loader';
/** Heap of the loader thread: several times what the largest config within the limits needs. */
const WORKER_HEAP_MB = 1536;

interface Request {
  readonly id: number;
  readonly configDir: string;
  /** The running snapshot's hash: an unchanged config is answered without sending it back. */
  readonly currentHash: string | null;
}

type Reply = { readonly id: number } & (
  // The result v8-serialised in the worker and transferred (no copy): the main thread deserialises
  // it itself, so the hand-over cost is measured (handover_ms in the reload log line).
  | { readonly kind: 'result'; readonly result: ArrayBuffer }
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'error'; readonly message: string }
);

/**
 * What a load in the thread gives: a result (with the main thread's share of the cost: deserialise
 * and freeze), or "same content as `currentHash`".
 */
export type ThreadLoad = (LoadResult & { handoverMs?: number }) | { ok: true; unchanged: true };

export class ConfigLoaderThread {
  #worker: Worker | null = null;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (r: ThreadLoad) => void; reject: (e: Error) => void }>();

  /** Load `configDir` in the thread; rejects if the thread dies (out of memory, a crash). */
  load(configDir: string, currentHash: string | null): Promise<ThreadLoad> {
    const worker = this.#ensure();
    const id = this.#nextId++;
    return new Promise<ThreadLoad>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ id, configDir, currentHash } satisfies Request);
    });
  }

  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = null;
    if (w) await w.terminate();
  }

  #ensure(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(new URL(import.meta.url), {
      workerData: { role: ROLE },
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      // The thread must not keep the process alive, nor see the daemon's argv as its own.
      argv: [],
      stdout: false,
      stderr: false,
    });
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const p = this.#pending.get(reply.id);
      if (!p) return;
      this.#pending.delete(reply.id);
      if (reply.kind === 'result') {
        const t = performance.now();
        const result = deserialize(Buffer.from(reply.result)) as LoadResult;
        if (result.ok) deepFreeze(result.snapshot);
        p.resolve({ ...result, handoverMs: performance.now() - t });
      } else if (reply.kind === 'unchanged') {
        p.resolve({ ok: true, unchanged: true });
      } else {
        p.reject(new Error(reply.message));
      }
    });
    const fail = (err: Error): void => {
      if (this.#worker === worker) this.#worker = null;
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
    worker.on('error', (err) => fail(err));
    worker.on('exit', (code) => fail(new Error(`the config loader thread exited (${code})`)));
    this.#worker = worker;
    return worker;
  }
}

/** True for the unchanged answer of a thread load. */
export function isUnchanged(r: ThreadLoad): r is { ok: true; unchanged: true } {
  return r.ok && 'unchanged' in r;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** The worker side: one load at a time, in order. */
function serve(): void {
  const port = parentPort!;
  port.on('message', (req: Request) => {
    loadConfig(req.configDir).then(
      (result) => {
        if (result.ok && result.snapshot.hash === req.currentHash) port.postMessage({ id: req.id, kind: 'unchanged' } satisfies Reply);
        else {
          const bytes = serialize(result);
          const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
          port.postMessage({ id: req.id, kind: 'result', result: copy } satisfies Reply, [copy]);
        }
      },
      (err: unknown) => port.postMessage({ id: req.id, kind: 'error', message: errorMessage(err) } satisfies Reply),
    );
  });
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === ROLE) serve();
