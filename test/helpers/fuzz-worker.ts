// The worker side of fuzz.ts: runs one target's property per request with fast-check, recording
// each case in shared memory (its number and its input) before it runs, so that the parent can
// report a hang.

import { parentPort, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { TARGETS } from './fuzz-targets.js';
import type { FuzzOutcome, FuzzRequest } from './fuzz.js';

const { progress, input } = workerData as { progress: Int32Array; input: Uint8Array };

const show = (x: unknown): string => {
  try {
    return JSON.stringify(x) ?? String(x);
  } catch {
    return String(x);
  }
};

function record(x: unknown): void {
  const bytes = Buffer.from(show(x), 'utf8');
  const n = Math.min(bytes.length, input.length);
  input.set(bytes.subarray(0, n));
  Atomics.store(progress, 1, n);
  Atomics.add(progress, 0, 1);
}

parentPort!.on('message', (req: FuzzRequest) => {
  void (async () => {
    const target = TARGETS[req.name];
    if (!target) throw new Error(`no fuzz target ${req.name}`);
    const property = fc.asyncProperty(target.arbitrary, async (x) => {
      record(x);
      await target.check(x);
    });
    const result = await fc.check(property, { seed: req.seed, numRuns: req.numRuns });
    const outcome: FuzzOutcome = {
      target: req.name,
      seed: req.seed,
      runs: result.numRuns,
      failed: result.failed,
      ...(result.failed ? { counterexample: show(result.counterexample?.[0]), error: String((result.errorInstance as Error | undefined)?.stack ?? result.errorInstance) } : {}),
    };
    parentPort!.postMessage(outcome);
  })();
});
