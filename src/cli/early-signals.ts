// Signals from the first instruction (issue 18): the entry (bin/lvsd.js, and the packaged bundle's
// banner, which copies the same lines) parks HUP/TERM/INT/USR2 in a queue before it loads a single
// module; this hands them over to whoever owns them once it exists: the daemon's lifecycle for
// `lvsd run`, the signal's default action for every other command. Before, loading the modules
// took ~0.5 s with no handler: a SIGHUP then killed lvsd (rc 129), a SIGTERM skipped the clean stop.

/** The signals lvsd gives a meaning to, in the order the entry installs them: SIGHUP last, so a
 * process that catches SIGHUP (/proc/PID/status SigCgt) has the other three parked too. */
export const EARLY_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGUSR2', 'SIGHUP'] as const;
export type EarlySignal = (typeof EARLY_SIGNALS)[number];

/** What the entry hands to main(): the signals parked so far (in arrival order) and the listener that parks them. */
export interface EarlySignals {
  readonly queued: NodeJS.Signals[];
  readonly park: (signal: NodeJS.Signals) => void;
}

/** The entry's part, for callers without one (tests, a bundle built without the banner). */
export function parkEarlySignals(): EarlySignals {
  const queued: NodeJS.Signals[] = [];
  const early: EarlySignals = { queued, park: (signal) => void queued.push(signal) };
  for (const s of EARLY_SIGNALS) process.on(s, early.park);
  return early;
}

/**
 * Give the parked signals to `handle`: it is installed for all four first, then the parking
 * listener goes (so there is never a moment without a listener, when the default action would kill
 * the process), then what was queued is replayed in arrival order. Returns the uninstaller.
 */
export function handOverSignals(early: EarlySignals | undefined, handle: (signal: EarlySignal) => void): () => void {
  const listeners = EARLY_SIGNALS.map((s) => [s, (): void => handle(s)] as const);
  for (const [s, l] of listeners) process.on(s, l);
  const queued = early ? releaseParked(early) : [];
  for (const s of queued) if ((EARLY_SIGNALS as readonly string[]).includes(s)) handle(s as EarlySignal);
  return () => {
    for (const [s, l] of listeners) process.off(s, l);
  };
}

/**
 * A command that is not `run` gives the signals no meaning of their own: they get their default
 * action back (the command ends by the signal; a shell reports 128+N), and one that arrived while
 * the modules loaded takes that effect now, as if it had just arrived.
 */
export function restoreDefaultSignals(early: EarlySignals | undefined): void {
  if (!early) return;
  const first = releaseParked(early)[0];
  if (first !== undefined) process.kill(process.pid, first);
}

function releaseParked(early: EarlySignals): NodeJS.Signals[] {
  for (const s of EARLY_SIGNALS) process.off(s, early.park);
  return early.queued.splice(0);
}
