// How late lvsd itself is: a drift timer measuring event-loop stalls (CPU starvation, GC, a long
// synchronous stretch). The scheduler uses it to tell a real's timeout from its own lateness.
//
// A timer, not perf_hooks.monitorEventLoopDelay: the histogram says how bad the lag was, but
// judging one check needs "how much of its window was the process stalled", i.e. a cumulative
// stall clock that can be read at the check's start and end. One unref'd timer every 50 ms costs
// nothing measurable (20 wake-ups a second).

/** What the scheduler reads. */
export interface LagSource {
  /** Stall time accumulated since start (ms), including the stall in progress at `now`. */
  stalledMs(now: number): number;
  /** The worst stall seen over the last second or so (ms); 0 when the loop is responsive. */
  lagMs(): number;
}

export interface LoopLagOptions {
  readonly periodMs?: number;
  /** Lateness per tick below this is timer jitter, not a stall. */
  readonly jitterMs?: number;
  readonly now?: () => number;
  readonly setTimer?: (fn: () => void, ms: number) => { unref?: () => unknown };
  readonly clearTimer?: (t: unknown) => void;
}

export const LAG_PERIOD_MS = 50;

/** The running monitor (the daemon's), read by check deadlines; null when none runs. */
let running: LoopLagMonitor | null = null;

/** The process's stall clock while a monitor runs: check deadlines extend themselves over it. */
export function processStallClock(): LagSource | null {
  return running;
}
const LAG_JITTER_MS = 10;
/** Ticks the "recent lag" looks back over (about a second). */
const WINDOW_TICKS = 20;

export class LoopLagMonitor implements LagSource {
  readonly #period: number;
  readonly #jitter: number;
  readonly #now: () => number;
  readonly #setTimer: NonNullable<LoopLagOptions['setTimer']>;
  readonly #clearTimer: NonNullable<LoopLagOptions['clearTimer']>;
  #timer: unknown = null;
  #lastTick = 0;
  #stalled = 0;
  /** Stall of each of the last WINDOW_TICKS ticks, a ring. */
  readonly #recent = new Float64Array(WINDOW_TICKS);
  #slot = 0;

  constructor(options: LoopLagOptions = {}) {
    this.#period = options.periodMs ?? LAG_PERIOD_MS;
    this.#jitter = options.jitterMs ?? LAG_JITTER_MS;
    this.#now = options.now ?? (() => performance.now());
    this.#setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.#clearTimer = options.clearTimer ?? ((t) => clearTimeout(t as NodeJS.Timeout));
  }

  start(): void {
    if (this.#timer !== null) return;
    this.#lastTick = this.#now();
    this.#arm();
    running ??= this;
  }

  stop(): void {
    if (this.#timer !== null) this.#clearTimer(this.#timer);
    this.#timer = null;
    if (running === this) running = null;
  }

  stalledMs(now: number): number {
    if (this.#timer === null) return this.#stalled;
    return this.#stalled + this.#stallOf(now - this.#lastTick);
  }

  lagMs(): number {
    let max = 0;
    for (let i = 0; i < WINDOW_TICKS; i++) if (this.#recent[i]! > max) max = this.#recent[i]!;
    return max;
  }

  #stallOf(gap: number): number {
    const late = gap - this.#period - this.#jitter;
    return late > 0 ? late : 0;
  }

  #arm(): void {
    const t = this.#setTimer(this.#tick, this.#period);
    t.unref?.();
    this.#timer = t;
  }

  readonly #tick = (): void => {
    const now = this.#now();
    const stall = this.#stallOf(now - this.#lastTick);
    this.#lastTick = now;
    this.#stalled += stall;
    this.#recent[this.#slot] = stall;
    this.#slot = (this.#slot + 1) % WINDOW_TICKS;
    this.#arm();
  };
}
