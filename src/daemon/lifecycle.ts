// The daemon's lifecycle as one small state machine (starting → running → stopping → stopped) and
// the table of what each signal does in each phase, so every signal handler asks one place.

export type Phase = 'starting' | 'running' | 'stopping' | 'stopped';

/** What the daemon does with a request, decided by the phase it is in. */
export type Action =
  /** HUP while starting: remembered, applied once running (the watcher does not exist yet). */
  | 'queue-reload'
  | 'reload'
  /** TERM/INT/USR2 while starting: abort the start (what it spawned too), then stop as usual. */
  | 'abort-start'
  | 'stop'
  /** Anything once a stop began: the first stop wins, a reload would only race the shutdown. */
  | 'ignore';

export type Request = 'reload' | 'stop';

const ALLOWED: Readonly<Record<Phase, readonly Phase[]>> = {
  starting: ['running', 'stopping'],
  running: ['stopping'],
  stopping: ['stopped'],
  stopped: [],
};

const ACTIONS: Readonly<Record<Phase, Readonly<Record<Request, Action>>>> = {
  starting: { reload: 'queue-reload', stop: 'abort-start' },
  running: { reload: 'reload', stop: 'stop' },
  stopping: { reload: 'ignore', stop: 'ignore' },
  stopped: { reload: 'ignore', stop: 'ignore' },
};

/** The action for `request` in `phase` (pure; table-tested). */
export function actionFor(phase: Phase, request: Request): Action {
  return ACTIONS[phase][request];
}

/**
 * The current phase plus the AbortSignal of the start: leaving `starting` for `stopping` aborts it,
 * so whatever the start is waiting on (ipvsadm --version, a bind) ends instead of carrying on.
 */
export class Lifecycle {
  #phase: Phase = 'starting';
  readonly #start = new AbortController();
  readonly #listeners: ((from: Phase, to: Phase) => void)[] = [];

  get phase(): Phase {
    return this.#phase;
  }

  /** Aborted when a stop arrives during start. */
  get startSignal(): AbortSignal {
    return this.#start.signal;
  }

  /** True while `stopping` or `stopped`. */
  get stopRequested(): boolean {
    return this.#phase === 'stopping' || this.#phase === 'stopped';
  }

  onChange(listener: (from: Phase, to: Phase) => void): void {
    this.#listeners.push(listener);
  }

  /** Move to `next`; a transition the table does not allow is a programming error. */
  to(next: Phase): void {
    const from = this.#phase;
    if (!ALLOWED[from].includes(next)) throw new Error(`lifecycle: ${from} -> ${next} is not a valid transition`);
    this.#phase = next;
    if (from === 'starting' && next === 'stopping') this.#start.abort(new Error('stop requested during start'));
    for (const l of this.#listeners) l(from, next);
  }
}
