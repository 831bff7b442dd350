// The check engine on the control thread itself (`check_threads: 0`): the same core and control side
// as the worker threads, with messages handed over directly instead of posted. The core (scheduler,
// tracker) is imported when the engine starts and the checkers on the first check, so a daemon with
// check threads, which builds only the worker engine, never loads either on the control thread.

import { ControlSide } from './control-side.js';
import type { HealthReader } from './control-side.js';
import type { EngineCore } from './core.js';
import { FLUSH_MS } from './protocol.js';
import { COALESCE_MS } from './check-engine.js';
import type { CheckEngine, EngineOptions } from './check-engine.js';
import type { ProbePlan } from '../scheduler/probe-key.js';
import type { SchedulerStats } from '../scheduler/types.js';
import type { TrackedReal } from '../health/tracker.js';
import type { CheckStarter, Checker } from '../checks/types.js';
import { errorMessage } from '../errors.js';

let checkers: Promise<Checker> | null = null;
const runCheckLazily: Checker = async (target, signal) => (await (checkers ??= import('../checks/index.js').then((m) => m.runCheck)))(target, signal);
let starter: Promise<CheckStarter> | null = null;
let loadedStarter: CheckStarter | null = null;
const startCheckLazily: CheckStarter = (target, signal, done) => {
  if (loadedStarter !== null) return loadedStarter(target, signal, done);
  (starter ??= import('../checks/index.js').then((m) => (loadedStarter = m.startCheck))).then(
    (start) => start(target, signal, done),
    (err: unknown) => done({ up: false, code: 'error', reason: `check threw: ${errorMessage(err)}`, latencyMs: 0 }),
  );
};

export class InThreadEngine implements CheckEngine {
  readonly threads = 0;
  readonly restarts = 0;
  readonly #o: EngineOptions;
  readonly #side: ControlSide;
  #core: EngineCore | null = null;
  /** The core's import, from start(); checking() resolves with it. */
  #starting: Promise<void> | null = null;
  #gen = 0;
  #plan: ProbePlan | null = null;
  #stopped = false;

  constructor(options: EngineOptions) {
    this.#o = options;
    this.#side = new ControlSide(options.hooks, options.logger, 1);
  }

  get health(): HealthReader {
    return this.#side.mirror;
  }

  boardEntries(): Iterable<Pick<TrackedReal, 'serviceKey' | 'realKey' | 'health'>> {
    return this.#side.boardEntries();
  }

  start(): void {
    if (this.#starting !== null || this.#stopped) return;
    this.#starting = import('./core.js').then(({ EngineCore }) => {
      if (this.#stopped) return;
      this.#core = new EngineCore({
        check: runCheckLazily,
        start: startCheckLazily,
        maxConcurrent: this.#o.maxConcurrent,
        coalesceMs: COALESCE_MS,
        flushMs: this.#o.flushMs ?? FLUSH_MS,
        post: (message) => this.#side.receive(0, message),
        reportInternalErrors: false,
      });
      if (this.#plan !== null) this.#core.plan(this.#gen, this.#plan);
    });
  }

  update(plan: ProbePlan): void {
    if (this.#stopped) return;
    this.#side.setPlan(plan);
    this.#plan = plan;
    this.#side.planned(0, ++this.#gen, plan.keys());
    this.#core?.plan(this.#gen, plan);
  }

  refresh(): Promise<void> {
    if (this.#core === null || this.#stopped) return Promise.resolve();
    const answered = this.#side.detailsFrom(0);
    this.#core.details();
    return answered;
  }

  checking(): Promise<void> {
    return this.#starting ?? Promise.resolve();
  }

  stats(): SchedulerStats {
    return this.#side.stats();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#starting;
    await this.#core?.stop();
  }
}
