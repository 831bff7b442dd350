// Builds the check engine lvsd.yaml asks for: worker threads, or the control thread (check_threads: 0).
// Building starts nothing: the engine's start() spawns its threads (or its core on this thread).

import type { CheckEngine, EngineOptions } from './check-engine.js';
import { InThreadEngine } from './in-thread.js';
import { WorkerEngine } from './worker-pool.js';

export function createCheckEngine(options: EngineOptions): CheckEngine {
  return options.threads <= 0 ? new InThreadEngine(options) : new WorkerEngine(options);
}
