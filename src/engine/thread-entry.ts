// The entry of a check engine worker thread: builds an EngineCore on the thread's port. Loaded as
// the worker's module from build/ (src/engine/thread-entry.js) or, in the packages, as its own
// small bundle (packaging/tools/bundle.mjs writes lvsd-engine.js): either way without the control
// plane's modules (logger, metrics, config parser).

import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { runCheck, startCheck } from '../checks/index.js';
import { setRunTagPrefix } from '../checks/escapees.js';
import { EngineCore } from './core.js';
import { ENGINE_ROLE } from './protocol.js';
import type { ThreadConfig, ToThread } from './protocol.js';

function serve(config: ThreadConfig): void {
  const port = parentPort!;
  setRunTagPrefix(config.runTagPrefix);
  const core = new EngineCore({
    check: runCheck,
    start: startCheck,
    maxConcurrent: config.maxConcurrent,
    coalesceMs: config.coalesceMs,
    flushMs: config.flushMs,
    post: (message, transfer) => port.postMessage(message, transfer),
    reportInternalErrors: true,
  });
  port.on('message', (message: ToThread) => {
    switch (message.t) {
      case 'plan':
        core.plan(message.gen, message.plan);
        return;
      case 'details':
        core.details();
        return;
      case 'stop':
        // The port closes once stopped; the control side ends the thread.
        void core.stop();
        return;
      case 'crash':
        if (!config.testHooks) return;
        setImmediate(() => {
          throw new Error('check engine test hook: crash');
        });
        return;
    }
  });
  port.postMessage({ t: 'ready' });
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === ENGINE_ROLE) serve(workerData as ThreadConfig);
