// The /healthz verdict: is this daemon doing its job? Pure, so the thresholds are tested without waiting.
//
// Unhealthy when
// - the reconciler has failed every pass for longer than max(3 x resync_interval, 2 min): one or two
//   failed passes are retried with backoff and usually heal (ipvsadm busy, a module loading), but
//   a director whose kernel table has not matched the config for minutes needs a human or a
//   failover, and 3 resyncs is the point where the periodic repair has provably not helped;
// - the check loop is stuck: probes exist but no check has completed for
//   max(3 x the longest (interval + timeout), 1 min). A healthy scheduler completes the slowest
//   probe once per interval + timeout, so three missed rounds is no scheduling jitter.
// - a reconcile pass has run past its deadline (ReconcilerStats.passDeadlineMs): every ipvsadm run
//   is bounded and the pass is aborted at its deadline, so a pass still running then is wedged on
//   something no deadline reaches (a state directory on a dead mount, an ipvsadm stuck in the
//   kernel), and the kernel table is not being kept.
// A reconciler that has not started yet (first check round still running) is healthy.

export interface HealthzInputs {
  readonly now: number;
  readonly resyncIntervalMs: number;
  readonly reconcile: {
    readonly started: boolean;
    readonly consecutiveFailures: number;
    readonly lastError: string | null;
    /** When the running pass began (null: none runs) and how long it may take. */
    readonly passRunningSince?: number | null;
    readonly passDeadlineMs?: number;
  };
  /** Start of the current run of failed passes; null while the last pass succeeded. */
  readonly failingSince: number | null;
  /** Periodic probes in the plan. */
  readonly probes: number;
  /** The longest interval + timeout of any probe in the config. */
  readonly slowestProbeMs: number;
  /** The last completed check, or when checks were (re)planned if later; null = never. */
  readonly lastCheckAt: number | null;
  /** When the observer started: the reference before any check has completed. */
  readonly startedAt: number;
}

export interface HealthzVerdict {
  readonly ok: boolean;
  /** One sentence per problem, for the 503 body, the status document and the page. */
  readonly problems: readonly string[];
}

export const MIN_RECONCILE_FAILURE_MS = 120_000;
export const MIN_CHECK_STALL_MS = 60_000;

export function reconcileFailureThresholdMs(resyncIntervalMs: number): number {
  return Math.max(3 * resyncIntervalMs, MIN_RECONCILE_FAILURE_MS);
}

export function checkStallThresholdMs(slowestProbeMs: number): number {
  return Math.max(3 * slowestProbeMs, MIN_CHECK_STALL_MS);
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}

export function judgeHealth(i: HealthzInputs): HealthzVerdict {
  const problems: string[] = [];
  const { reconcile } = i;
  if (reconcile.started && reconcile.consecutiveFailures > 0 && i.failingSince !== null) {
    const failingFor = i.now - i.failingSince;
    const limit = reconcileFailureThresholdMs(i.resyncIntervalMs);
    if (failingFor > limit) {
      problems.push(
        `IPVS sync has failed for ${seconds(failingFor)} (${reconcile.consecutiveFailures} passes; limit ${seconds(limit)}): ${reconcile.lastError ?? 'unknown error'}`,
      );
    }
  }
  if (reconcile.passRunningSince != null && reconcile.passDeadlineMs !== undefined) {
    const runningFor = i.now - reconcile.passRunningSince;
    if (runningFor > reconcile.passDeadlineMs) {
      problems.push(`a reconcile pass has been running for ${seconds(runningFor)} (deadline ${seconds(reconcile.passDeadlineMs)})`);
    }
  }
  if (i.probes > 0) {
    const since = i.now - (i.lastCheckAt ?? i.startedAt);
    const limit = checkStallThresholdMs(i.slowestProbeMs);
    if (since > limit) {
      problems.push(`no health check has completed for ${seconds(since)} although ${i.probes} probes are planned (limit ${seconds(limit)})`);
    }
  }
  return { ok: problems.length === 0, problems };
}
