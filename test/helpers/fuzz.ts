// Property-based fuzzing of lvsd's parsers (fast-check, issue 18) with a guard against hangs: the
// targets run in one worker thread (test/helpers/fuzz-worker.ts), which records the case it is on
// (its number and input) in shared memory before running it; a case that does not end within a
// generous bound fails the test with the seed, the case number and the input, and the worker is
// terminated. No timing is asserted: the bound only turns a hang into a failure.

import { Worker } from 'node:worker_threads';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';

/** Longest one case may run before it counts as a hang (a parser case takes microseconds to milliseconds). */
export const HANG_BOUND_MS = 20_000;
/** Bytes of the shared buffer that holds the current input (longer inputs are cut in the report). */
export const INPUT_BYTES = 64 * 1024;

export interface FuzzRequest {
  readonly name: string;
  readonly seed: number;
  readonly numRuns: number;
}

export interface FuzzOutcome {
  readonly target: string;
  readonly seed: number;
  readonly runs: number;
  readonly failed: boolean;
  readonly counterexample?: string;
  readonly error?: string;
}

/** The fuzz worker: one thread for every target of a test file (loading the parsers once). */
export class FuzzRunner {
  readonly #progress = new Int32Array(new SharedArrayBuffer(8)); // [cases started, input length]
  readonly #input = new Uint8Array(new SharedArrayBuffer(INPUT_BYTES));
  #worker: Worker | null = null;

  #start(): Worker {
    this.#worker ??= new Worker(new URL('./fuzz-worker.js', import.meta.url), { workerData: { progress: this.#progress, input: this.#input } });
    return this.#worker;
  }

  async close(): Promise<void> {
    await this.#worker?.terminate();
    this.#worker = null;
  }

  /**
   * Run target `name` (see fuzz-targets.ts) for `numRuns` cases with a random seed (LVSD_FUZZ_SEED
   * replays one); print the case count and the seed; fail with the minimal counterexample, or with
   * the input that hung.
   */
  async run(t: TestContext, name: string, numRuns: number): Promise<FuzzOutcome> {
    const seed = process.env['LVSD_FUZZ_SEED'] !== undefined ? Number(process.env['LVSD_FUZZ_SEED']) : (Math.random() * 2 ** 31) | 0;
    const worker = this.#start();
    const progress = this.#progress;
    const first = Atomics.load(progress, 0);
    let lastCase = first;
    let lastChange = Date.now();
    const outcome = await new Promise<FuzzOutcome | 'hang'>((resolve, reject) => {
      const done = (): void => {
        clearInterval(watchdog);
        worker.off('message', onMessage);
        worker.off('error', onError);
      };
      const onMessage = (m: FuzzOutcome): void => {
        done();
        resolve(m);
      };
      const onError = (err: Error): void => {
        done();
        reject(err);
      };
      const watchdog = setInterval(() => {
        const started = Atomics.load(progress, 0);
        if (started !== lastCase) {
          lastCase = started;
          lastChange = Date.now();
        } else if (Date.now() - lastChange > HANG_BOUND_MS) {
          done();
          resolve('hang');
        }
      }, 500);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.postMessage({ name, seed, numRuns } satisfies FuzzRequest);
    });
    if (outcome === 'hang') {
      const length = Atomics.load(progress, 1);
      const text = Buffer.from(this.#input.subarray(0, Math.min(length, INPUT_BYTES))).toString('utf8');
      await this.close();
      assert.fail(`fuzz ${name}: case ${lastCase - first} (seed ${seed}) did not end within ${HANG_BOUND_MS} ms; input (JSON): ${text}`);
    }
    t.diagnostic(`fuzz ${name}: ${outcome.runs} cases, seed ${seed}${outcome.failed ? ', FAILED' : ''}`);
    if (outcome.failed) {
      assert.fail(`fuzz ${name}: seed ${seed} (replay: LVSD_FUZZ_SEED=${seed}): ${outcome.error}\ncounterexample (JSON): ${outcome.counterexample}`);
    }
    return outcome;
  }
}
