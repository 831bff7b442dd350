// The registry of checkers (checker side): check type -> how it runs. TypeScript requires an entry
// for every CheckType (config/check-types/index.ts is the config side), so a new type does not
// compile until its checker is here (and its line in per-service.ts, which the control thread reads
// without loading the checkers). runCheck is the safety net around every checker.

import { formatHost } from '../config/endpoint.js';
import type { CheckType } from '../config/model.js';
import { countInternalError, internalErrorText } from './boundary.js';
import { checkHttp } from './http.js';
import { checkMisc } from './misc.js';
import { checkNone } from './none.js';
import { checkPing } from './ping.js';
import { checkTcp } from './tcp.js';
import { checkUdp } from './udp.js';
import { startHttp } from './http.js';
import { startTcp } from './tcp.js';
import type { CheckResult, CheckStarter, Checker, CheckTarget } from './types.js';

/** One check type, checker side. */
export interface CheckerEntry {
  readonly run: Checker;
  /** The hot path by callback (startCheck): true when it took the target, false to use `run`. */
  readonly start?: (target: CheckTarget, signal: AbortSignal, done: (result: CheckResult) => void) => boolean;
}

/** A checker loaded on first use: dns-packet (about 10 MB of RSS) only for directors with DNS checks. */
function lazyChecker(load: () => Promise<Checker>): Checker {
  let loaded: Promise<Checker> | null = null;
  return async (target, signal) => (await (loaded ??= load()))(target, signal);
}

const CHECKERS: Readonly<Record<CheckType, CheckerEntry>> = {
  tcp: { run: checkTcp, start: startTcp },
  http: { run: checkHttp, start: startHttp },
  https: { run: checkHttp, start: startHttp },
  dns: { run: lazyChecker(() => import('./dns.js').then((m) => m.checkDns)) },
  misc: { run: checkMisc },
  udp: { run: checkUdp },
  ping: { run: checkPing },
  none: { run: checkNone },
};

function entryOf(type: CheckType): CheckerEntry | undefined {
  return Object.hasOwn(CHECKERS, type) ? CHECKERS[type] : undefined;
}

/** The checker for a type; throws on a type the config schema should never have let through. */
export function checkerFor(type: CheckType): Checker {
  const entry = entryOf(type);
  if (entry === undefined) throw new TypeError(`no checker for check type "${String(type)}"`);
  return entry.run;
}

/**
 * Runs the target's check. Checkers report failures as results; a throw (or a rejection) is a bug in
 * a checker, and turning it into a down result keeps one bad check from taking the scheduler with it.
 * Throws inside the checkers' callbacks are caught by their boundary (boundary.ts); this is its
 * outer ring, counted the same way.
 */
export async function runCheck(target: CheckTarget, signal: AbortSignal): Promise<CheckResult> {
  const start = performance.now();
  try {
    return await checkerFor(target.spec.type)(target, signal);
  } catch (err) {
    return threwResult(target, err, start);
  }
}

/**
 * runCheck by callback, for the scheduler of the check engine: the hot paths (plain TCP connect,
 * plain HTTP) call `done` from their own completion, without a promise per check; every other
 * check runs through runCheck. Same results, same safety net: a throw before a check is under way
 * is its failed result (a throw inside one is caught by that check's boundary, which settles it).
 */
export const startCheck: CheckStarter = (target, signal, done) => {
  const start = performance.now();
  let taken = false;
  try {
    taken = entryOf(target.spec.type)?.start?.(target, signal, done) === true;
  } catch (err) {
    done(threwResult(target, err, start));
    return;
  }
  if (!taken) void runCheck(target, signal).then(done);
};

function threwResult(target: CheckTarget, err: unknown, start: number): CheckResult {
  countInternalError(String(target.spec.type));
  return {
    up: false,
    code: 'error',
    reason: `${String(target.spec.type).toUpperCase()} check ${formatHost(target.address)}:${target.spec.port}: ` +
      internalErrorText(err),
    latencyMs: performance.now() - start,
  };
}
