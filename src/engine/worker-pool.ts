// The check engine on worker threads: the plan split over N threads by a stable hash of the probe
// key (partition.ts), each thread an EngineCore (thread-entry.ts) with its own event loop, so checks
// that saturate a core never delay a reconcile pass, a signal, the control socket or /status.
// A thread that dies (an uncaught error, its heap limit, an exit) is logged (LVSD_CHECK_THREAD_DIED),
// counted, its MISC commands killed, and restarted with backoff; its pairs are unknown meanwhile
// and the reconciler holds their last health (control-side.ts). It never takes the daemon with it.

import { Worker } from 'node:worker_threads';
import { errorMessage } from '../errors.js';
import { killTaggedPrefix, newRunTagPrefix } from '../checks/escapees.js';
import type { TrackedReal } from '../health/tracker.js';
import type { Logger } from '../log.js';
import type { ProbePlan, ProbePlanEntry } from '../scheduler/probe-key.js';
import type { SchedulerStats } from '../scheduler/types.js';
import { ControlSide } from './control-side.js';
import type { HealthReader } from './control-side.js';
import { partitionPlan } from './partition.js';
import { ENGINE_ROLE, FLUSH_MS } from './protocol.js';
import type { FromThread, ThreadConfig, ToThread } from './protocol.js';
import { COALESCE_MS, shareOf } from './check-engine.js';
import type { CheckEngine, EngineOptions } from './check-engine.js';

/** Set by the package bundle (packaging/tools/bundle.mjs): the thread's own bundle beside it. */
declare const LVSD_ENGINE_BUNDLE: string | undefined;

/**
 * The module a thread runs: thread-entry.js beside this file in build/, or the engine bundle
 * beside the main bundle in the packages (whose import.meta.url is the main bundle's).
 */
function entryUrl(): URL {
  return typeof LVSD_ENGINE_BUNDLE === 'string' ? new URL(LVSD_ENGINE_BUNDLE, import.meta.url) : new URL('./thread-entry.js', import.meta.url);
}

/**
 * Heap limit of a check thread: far above what 100,000 probes need, so only a runaway (a leak, a
 * hostile reply that slipped past the size caps) hits it, and then the thread dies, not lvsd. It
 * does not size the heap (128 MB gave the same RSS), and no young-generation limit is set here:
 * lvsd's --max-semi-space-size=1 applies to this isolate too and would override it
 * (docs/behaviour.md, "Memory of the check threads").
 */
const THREAD_HEAP_MB = 1024;
const MAX_RESTART_DELAY_MS = 30_000;
/** A thread that ran this long without dying resets its restart delay. */
const STABLE_MS = 60_000;

interface Slot {
  readonly index: number;
  worker: Worker | null;
  prefix: string;
  plan: ReadonlyMap<string, ProbePlanEntry>;
  gen: number;
  startedAt: number;
  delayMs: number;
  restartTimer: ReturnType<typeof setTimeout> | null;
  /** Resolves when the current worker has exited. */
  exited: Promise<void>;
  lastError: string | null;
}

export class WorkerEngine implements CheckEngine {
  readonly threads: number;
  #restarts = 0;
  readonly #o: EngineOptions;
  readonly #log: Logger;
  readonly #side: ControlSide;
  readonly #slots: Slot[];
  #gen = 0;
  #refreshing: Promise<void> | null = null;
  #started = false;
  #stopping = false;
  /** Threads that have not yet said `ready` (or died) since start. */
  #unready = new Set<number>();
  #checking!: () => void;
  readonly #checkingP = new Promise<void>((resolve) => (this.#checking = resolve));

  constructor(options: EngineOptions) {
    this.#o = options;
    this.#log = options.logger;
    this.threads = Math.max(1, Math.floor(options.threads));
    this.#side = new ControlSide(options.hooks, options.logger, this.threads);
    this.#slots = Array.from({ length: this.threads }, (_, index) => ({
      index,
      worker: null,
      prefix: newRunTagPrefix(),
      plan: new Map(),
      gen: 0,
      startedAt: 0,
      delayMs: options.restartDelayMs ?? 1000,
      restartTimer: null,
      exited: Promise.resolve(),
      lastError: null,
    }));
  }

  start(): void {
    if (this.#started || this.#stopping) return;
    this.#started = true;
    for (const slot of this.#slots) this.#unready.add(slot.index);
    for (const slot of this.#slots) this.#spawn(slot);
  }

  checking(): Promise<void> {
    return this.#checkingP;
  }

  /** Thread `index` is up (or died before): once all are, checking() resolves. */
  #up(index: number): void {
    if (!this.#unready.delete(index)) return;
    if (this.#unready.size === 0) this.#checking();
  }

  get health(): HealthReader {
    return this.#side.mirror;
  }

  get restarts(): number {
    return this.#restarts;
  }

  boardEntries(): Iterable<Pick<TrackedReal, 'serviceKey' | 'realKey' | 'health'>> {
    return this.#side.boardEntries();
  }

  update(plan: ProbePlan): void {
    if (this.#stopping) return;
    this.#side.setPlan(plan);
    const parts = partitionPlan(plan, this.threads);
    const gen = ++this.#gen;
    for (const slot of this.#slots) {
      slot.plan = parts[slot.index]!;
      slot.gen = gen;
      this.#side.planned(slot.index, gen, slot.plan.keys());
      // A thread waiting for its restart gets the plan when it starts.
      this.#post(slot, { t: 'plan', gen, plan: slot.plan });
    }
  }

  stats(): SchedulerStats {
    return this.#side.stats();
  }

  refresh(timeoutMs = 1000): Promise<void> {
    // Several /status requests at once share one round.
    this.#refreshing ??= this.#refresh(timeoutMs).finally(() => (this.#refreshing = null));
    return this.#refreshing;
  }

  async #refresh(timeoutMs: number): Promise<void> {
    const live = this.#slots.filter((s) => s.worker !== null && !this.#stopping);
    const answered = Promise.all(live.map((slot) => this.#side.detailsFrom(slot.index)));
    for (const slot of live) this.#post(slot, { t: 'details' });
    let timer: ReturnType<typeof setTimeout> | undefined;
    // A thread starved of CPU must not hold /status: past the timeout it shows what it has.
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([answered, late]);
    clearTimeout(timer);
  }

  /** Test hook: make thread `index` throw (testHooks threads only). */
  crash(index: number): void {
    const slot = this.#slots[index];
    if (slot) this.#post(slot, { t: 'crash' });
  }

  async stop(budgetMs = 10_000): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#slots.map((slot) => this.#stopSlot(slot, budgetMs)));
  }

  async #stopSlot(slot: Slot, budgetMs: number): Promise<void> {
    if (slot.restartTimer !== null) clearTimeout(slot.restartTimer);
    slot.restartTimer = null;
    const worker = slot.worker;
    if (worker === null) return;
    // The thread aborts its checks (each checker kills its MISC process group in its cleanup) and
    // says `stopped`; past the budget it is terminated and whatever it started is killed here.
    const stopped = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), budgetMs);
      timer.unref();
      worker.on('message', (m: FromThread) => {
        if (m.t === 'stopped') {
          clearTimeout(timer);
          resolve(true);
        }
      });
      void slot.exited.then(() => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    this.#post(slot, { t: 'stop' });
    const clean = await stopped;
    await worker.terminate().catch(() => undefined);
    await slot.exited;
    if (!clean) await killTaggedPrefix(slot.prefix);
  }

  #post(slot: Slot, message: ToThread): void {
    try {
      slot.worker?.postMessage(message);
    } catch (err) {
      // A thread that is exiting: its exit handler restarts it with the slot's current plan.
      this.#log.debug({ thread: slot.index, err: errorMessage(err) }, 'message to a check thread not delivered');
    }
  }

  #spawn(slot: Slot): void {
    const config: ThreadConfig = {
      role: ENGINE_ROLE,
      index: slot.index,
      maxConcurrent: shareOf(this.#o.maxConcurrent, this.threads),
      coalesceMs: COALESCE_MS,
      flushMs: this.#o.flushMs ?? FLUSH_MS,
      runTagPrefix: slot.prefix,
      testHooks: this.#o.testHooks ?? false,
    };
    const worker = new Worker(entryUrl(), {
      workerData: config,
      resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB },
      // The thread must not see the daemon's argv as its own.
      argv: [],
      stdout: false,
      stderr: false,
      name: `lvsd-checks-${slot.index}`,
    });
    slot.worker = worker;
    slot.startedAt = Date.now();
    slot.lastError = null;
    worker.on('message', (m: FromThread) => {
      if (slot.worker !== worker) return;
      if (m.t === 'ready') this.#up(slot.index);
      this.#side.receive(slot.index, m);
    });
    worker.on('error', (err) => {
      slot.lastError = errorMessage(err);
    });
    slot.exited = new Promise<void>((resolve) => worker.once('exit', (code) => {
      resolve();
      this.#exited(slot, worker, code);
    }));
    // Messages posted before the thread listens wait in its port.
    if (slot.gen > 0) this.#post(slot, { t: 'plan', gen: slot.gen, plan: slot.plan });
  }

  #exited(slot: Slot, worker: Worker, code: number): void {
    if (slot.worker !== worker) return;
    slot.worker = null;
    // A thread that died before it was up must not hold the first-round deadline forever.
    this.#up(slot.index);
    if (this.#stopping) return;
    this.#restarts++;
    const ranMs = Date.now() - slot.startedAt;
    if (ranMs >= STABLE_MS) slot.delayMs = this.#o.restartDelayMs ?? 1000;
    const delayMs = slot.delayMs;
    slot.delayMs = Math.min(MAX_RESTART_DELAY_MS, slot.delayMs * 2);
    this.#log.error(
      { code: 'LVSD_CHECK_THREAD_DIED', thread: slot.index, exit_code: code, err: slot.lastError ?? undefined, probes: slot.plan.size, restart_in_ms: delayMs },
      `check thread ${slot.index} died (${slot.lastError ?? `exit ${code}`}); its ${slot.plan.size} probes are unknown until it restarts in ${delayMs} ms and checks them again; the kernel table holds their reals as they are`,
    );
    this.#side.threadLost(slot.index, slot.plan.keys());
    this.#o.hooks.onResync();
    const prefix = slot.prefix;
    slot.prefix = newRunTagPrefix();
    // Its MISC commands lost their parent's cleanup: find them by their run tag.
    void killTaggedPrefix(prefix).then((pids) => {
      if (pids.length > 0) this.#log.warn({ event: 'check_thread_commands_killed', thread: slot.index, pids }, `killed ${pids.length} process(es) the dead check thread ${slot.index} had started`);
    });
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      if (!this.#stopping) this.#spawn(slot);
    }, delayMs);
    slot.restartTimer.unref();
  }
}
