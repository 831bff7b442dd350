// The check engine on the control thread itself (`check_threads: 0`): the same core and control side
// as the worker threads, with messages handed over directly instead of posted.

import { ControlSide } from './control-side.js';
import type { HealthReader } from './control-side.js';
import { EngineCore } from './core.js';
import { FLUSH_MS } from './protocol.js';
import { COALESCE_MS } from './check-engine.js';
import type { CheckEngine, EngineOptions } from './check-engine.js';
import type { ProbePlan } from '../scheduler/probe-key.js';
import type { SchedulerStats } from '../scheduler/scheduler.js';
import type { TrackedReal } from '../health/tracker.js';
import type { Checker } from '../checks/types.js';

export class InThreadEngine implements CheckEngine {
  readonly threads = 0;
  readonly restarts = 0;
  readonly #side: ControlSide;
  readonly #core: EngineCore;
  #gen = 0;

  static async create(options: EngineOptions): Promise<InThreadEngine> {
    const { runCheck } = await import('../checks/index.js');
    return new InThreadEngine(options, runCheck);
  }

  private constructor(options: EngineOptions, check: Checker) {
    this.#side = new ControlSide(options.hooks, options.logger, 1);
    this.#core = new EngineCore({
      check,
      maxConcurrent: options.maxConcurrent,
      coalesceMs: COALESCE_MS,
      flushMs: options.flushMs ?? FLUSH_MS,
      post: (message) => this.#side.receive(0, message),
    });
  }

  get health(): HealthReader {
    return this.#side.mirror;
  }

  boardEntries(): Iterable<Pick<TrackedReal, 'serviceKey' | 'realKey' | 'health'>> {
    return this.#side.boardEntries();
  }

  update(plan: ProbePlan): void {
    this.#side.setPlan(plan);
    this.#core.plan(++this.#gen, plan);
  }

  stats(): SchedulerStats {
    return this.#side.stats();
  }

  stop(): Promise<void> {
    return this.#core.stop();
  }
}
