// Builds the check engine lvsd.yaml asks for: worker threads, or the control thread (check_threads: 0).

import type { CheckEngine, EngineOptions } from './check-engine.js';

/** Build the engine; the in-thread one is loaded only when asked for (it loads the checkers here). */
export async function createCheckEngine(options: EngineOptions): Promise<CheckEngine> {
  if (options.threads <= 0) {
    const { InThreadEngine } = await import('./in-thread.js');
    return InThreadEngine.create(options);
  }
  const { WorkerEngine } = await import('./worker-pool.js');
  return new WorkerEngine(options);
}
