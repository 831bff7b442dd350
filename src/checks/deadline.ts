// A check's own deadline (spec timeout) merged with the caller's cancellation signal, torn down in finally.

import { processStallClock } from '../loop-lag.js';
import { report } from './boundary.js';
import type { Boundary } from './boundary.js';
import type { LagSource } from '../loop-lag.js';
import type { CheckResult } from './types.js';

/** Stall below this is not credited back to a check (timer jitter). */
const STALL_CREDIT_MIN_MS = 20;
/** A check's deadline is extended by at most this many times its timeout. */
const MAX_EXTENSION_FACTOR = 3;

export type StopCause = 'timeout' | 'cancelled';

export interface Deadline {
  /** Why the check was stopped, or null while it may still run. */
  readonly cause: StopCause | null;
  /** Clears the timer and the listener on the caller's signal; idempotent. Call it in `finally`. */
  dispose(): void;
}

/**
 * Calls `onStop` once, when `timeoutMs` elapses or `parent` aborts, whichever comes first.
 *
 * Deliberately not `AbortSignal.any([parent, AbortSignal.timeout(ms)])` and not one listener per
 * check on `parent`: the parent may be a daemon-lifetime signal shared by thousands of checks in
 * flight. `any()` registers a dependant on it per call (Node has shipped retention bugs there,
 * nodejs/node#55351); per-check listeners trip MaxListenersExceededWarning past 10 and make each
 * removeEventListener walk a list as long as the checks in flight. Instead each parent gets one
 * listener that fans out to a Set of live deadlines (O(1) add/remove), plus one timer per check;
 * a per-check parent costs one Set and one listener, both collected with it.
 * If `parent` is already aborted, `onStop('cancelled')` runs synchronously.
 * `onStop` runs inside the check's failure boundary: a throw there is that check's failed result.
 */
export function startDeadline(
  parent: AbortSignal,
  timeoutMs: number,
  onStop: (cause: StopCause) => void,
  boundary: Boundary,
): Deadline {
  const state = new DeadlineState(onStop, timeoutMs, boundary);
  if (parent.aborted) {
    state.stop('cancelled');
    return state;
  }
  const live = liveDeadlines(parent);
  live.add(state);
  state.live = live;
  state.timer = setTimeout(state.onTimeout, timeoutMs);
  return state;
}

const liveByParent = new WeakMap<AbortSignal, Set<DeadlineState>>();

function liveDeadlines(parent: AbortSignal): Set<DeadlineState> {
  let live = liveByParent.get(parent);
  if (live === undefined) {
    const set = new Set<DeadlineState>();
    live = set;
    liveByParent.set(parent, set);
    parent.addEventListener(
      'abort',
      () => {
        for (const state of [...set]) state.stop('cancelled');
      },
      { once: true },
    );
  }
  return live;
}

class DeadlineState implements Deadline {
  cause: StopCause | null = null;
  timer: NodeJS.Timeout | null = null;
  /** The parent's set of live deadlines this one is in (not looked up again at dispose). */
  live: Set<DeadlineState> | null = null;
  #immediate: NodeJS.Immediate | null = null;
  readonly #onStop: (cause: StopCause) => void;
  readonly #boundary: Boundary;
  #disposed = false;

  /** lvsd's stall clock (loop-lag.ts) and its reading at the start; stall already credited. */
  readonly #clock: LagSource | null;
  readonly #stalledAtStart: number;
  readonly #timeoutMs: number;
  #credited = 0;

  constructor(onStop: (cause: StopCause) => void, timeoutMs: number, boundary: Boundary) {
    this.#onStop = onStop;
    this.#boundary = boundary;
    this.#timeoutMs = timeoutMs;
    this.#clock = processStallClock();
    this.#stalledAtStart = this.#clock === null ? 0 : this.#clock.stalledMs(performance.now());
  }

  // An arrow property so setTimeout gets a bound function without a closure per call site.
  // The timer phase runs before the poll phase of the same loop turn: when the loop was busy, a
  // reply may already sit in the socket buffer. Deciding in the check phase (setImmediate), after
  // the poll phase has read it, keeps lvsd's own lateness from turning that reply into a timeout.
  // A check is judged by the time the process actually had: while lvsd was stalled (CPU starvation,
  // a long synchronous stretch) it could not read the reply, so that stall is given back to the
  // check, up to MAX_EXTENSION_FACTOR x its timeout (the scheduler discards a timeout that still
  // ran short of live time).
  readonly onTimeout = (): void => {
    this.timer = null;
    if (this.cause !== null || this.#disposed) return;
    if (this.#clock !== null) {
      const owed = this.#clock.stalledMs(performance.now()) - this.#stalledAtStart - this.#credited;
      if (owed > STALL_CREDIT_MIN_MS && this.#credited + owed <= this.#timeoutMs * MAX_EXTENSION_FACTOR) {
        this.#credited += owed;
        this.timer = setTimeout(this.onTimeout, Math.ceil(owed));
        return;
      }
    }
    // A closure only here: most checks end before their timeout, and need none.
    this.#immediate = setImmediate(() => {
      this.#immediate = null;
      this.stop('timeout');
    });
  };

  stop(cause: StopCause): void {
    if (this.cause !== null || this.#disposed) return;
    this.cause = cause;
    this.dispose();
    // Runs from a timer, or from the shared parent's abort fan-out (where a throw would also stop
    // the other checks' deadlines): either way it must end here.
    try {
      this.#onStop(cause);
    } catch (err) {
      report(this.#boundary, err);
    }
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#immediate = null;
    this.live?.delete(this);
    this.live = null;
  }
}

/** The down result for a stopped check: 'timeout', or 'error' with reason "cancelled". */
export function stoppedResult(
  cause: StopCause,
  label: string,
  timeoutMs: number,
  latencyMs: number,
): CheckResult {
  return cause === 'timeout'
    ? { up: false, code: 'timeout', reason: `${label}: timed out after ${timeoutMs} ms`, latencyMs }
    : { up: false, code: 'error', reason: `${label}: cancelled`, latencyMs };
}
