// The kernel side of a stop, bounded: the reconciler's stop (it aborts the running pass, then runs
// the clean stop within the budget it is given), bounded a second time here, and the exit status.

import { LvsdError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Reconciler } from '../reconcile/reconciler.js';

/**
 * How long a stop may take in total before the daemon gives up on the kernel and exits 1: well
 * inside systemd's TimeoutStopSec (90 s in the shipped unit), so a hung ipvsadm never earns a SIGKILL.
 */
export const STOP_BUDGET_MS = 15_000;

/** Whether an ipvsadm error means there is no ipvsadm or no IPVS at all (nothing can be in a table). */
function ipvsAbsent(err: unknown): boolean {
  if (!(err instanceof LvsdError)) return false;
  return err.code === 'LVSD_IPVSADM_MISSING' || /Can't initialize ipvs|Protocol not available/.test(err.message);
}

/** Wait for `p`, but no longer than `ms`. */
export async function withinMs(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

export interface StopKernelOptions {
  readonly reconciler: Reconciler;
  readonly clean: boolean;
  /** Date.now() by which the whole stop must be over. */
  readonly deadline: number;
  /** The whole stop's budget, for the log lines. */
  readonly budgetMs: number;
  /** Services in the ownership record at start. */
  readonly ownedAtStart: number;
  readonly log: Logger;
  /** Other parts stopping meanwhile (notify commands): "lvsd stopped" is logged after them too. */
  readonly alongside?: Promise<unknown>;
}

/**
 * Stop the reconciler within the deadline; resolves with the exit status. If even the reconciler's
 * own budget does not end it, this aborts whatever ipvsadm still runs and reports LVSD_STOP_TIMEOUT.
 */
export async function stopKernel(o: StopKernelOptions): Promise<number> {
  const { reconciler, clean, log, budgetMs: totalMs } = o;
  const remainingMs = Math.max(1_000, o.deadline - Date.now());
  // The reconciler's budget ends first, so its own abort (and error) is what normally happens.
  const budgetMs = Math.max(500, remainingMs - 1_000);
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const overBudget = new Promise<'over'>((resolve) => {
    timer = setTimeout(() => resolve('over'), remainingMs);
  });
  try {
    const result = await Promise.race([reconciler.stop({ clean, budgetMs, signal: abort.signal }), overBudget]);
    if (result === 'over') {
      abort.abort(new Error('stop budget exhausted'));
      log.error({ code: 'LVSD_STOP_TIMEOUT', budgetMs: totalMs }, `stop did not finish within ${totalMs} ms; exiting, managed services may remain in the kernel`);
      return 1;
    }
    await Promise.race([o.alongside, overBudget]);
    log.info({ removed: result.removed, left: result.left }, 'lvsd stopped');
    return result.left.length === 0 ? 0 : 1;
  } catch (err) {
    const code = err instanceof LvsdError ? err.code : 'LVSD_IPVSADM_FAILED';
    if (code === 'LVSD_IPVSADM_ABORTED') {
      log.error({ code: 'LVSD_STOP_TIMEOUT', budgetMs: totalMs, err: errorMessage(err) }, `clean stop did not finish within the stop budget (${totalMs} ms); ipvsadm was killed, managed services may remain in the kernel`);
      return 1;
    }
    const ops = Object.values(reconciler.stats().opsApplied).reduce((a, b) => a + b, 0);
    if (ops === 0 && o.ownedAtStart === 0 && ipvsAbsent(err)) {
      // No ipvsadm or no IPVS in the kernel, and this run changed nothing: nothing of ours can be there.
      log.warn({ code, err: errorMessage(err) }, 'clean stop could not read the IPVS table; this run changed nothing in it and no earlier run left a record');
      log.info({ removed: [], left: [] }, 'lvsd stopped');
      return 0;
    }
    log.error({ code, err: errorMessage(err) }, 'clean stop failed; managed services may remain in the kernel');
    return 1;
  } finally {
    clearTimeout(timer);
  }
}
