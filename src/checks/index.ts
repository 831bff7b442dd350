// Checker dispatch: the one place that maps a check type to its checker, and the safety net around it.

import { formatHost } from '../config/endpoint.js';
import type { CheckType } from '../config/model.js';
import { countInternalError, internalErrorText } from './boundary.js';
import { checkHttpPages } from './http-pages.js';
import { checkMisc } from './misc.js';
import { checkNone } from './none.js';
import { checkPing } from './ping.js';
import { checkTcpAny } from './tcp-dialogue.js';
import { checkUdp } from './udp.js';
import type { CheckResult, Checker, CheckTarget } from './types.js';

/** A checker loaded on first use: dns-packet (about 10 MB of RSS) only for directors with DNS checks. */
function lazyChecker(load: () => Promise<Checker>): Checker {
  let loaded: Promise<Checker> | null = null;
  return async (target, signal) => (await (loaded ??= load()))(target, signal);
}

const checkers: Readonly<Record<CheckType, Checker>> = {
  tcp: checkTcpAny,
  http: checkHttpPages,
  https: checkHttpPages,
  dns: lazyChecker(() => import('./dns.js').then((m) => m.checkDns)),
  misc: checkMisc,
  udp: checkUdp,
  ping: checkPing,
  none: checkNone,
};

/** The checker for a type; throws on a type the config schema should never have let through. */
export function checkerFor(type: CheckType): Checker {
  const checker = Object.hasOwn(checkers, type) ? checkers[type] : undefined;
  if (checker === undefined) throw new TypeError(`no checker for check type "${String(type)}"`);
  return checker;
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
    countInternalError(String(target.spec.type));
    return {
      up: false,
      code: 'error',
      reason: `${String(target.spec.type).toUpperCase()} check ${formatHost(target.address)}:${target.spec.port}: ` +
        internalErrorText(err),
      latencyMs: performance.now() - start,
    };
  }
}
