// The checker of types http and https: one page, or with `urls` several pages at once (all must
// pass). Each page is one request on a new connection, read by the one response reader
// (http-response.ts) in the mode its expectations need: status only, expect_body, or
// expect_digest. Plain HTTP runs on the raw handle (http-raw.ts) where Node has it; HTTPS and the
// fallback run on a net/TLS socket (http-socket.ts).

import type { HttpCheckSpec, HttpUrlSpec } from '../config/model.js';
import { prepare } from './http-prepare.js';
import type { Prepared } from './http-prepare.js';
import { checkHttpRaw, rawHttpFits, startHttpRaw } from './http-raw.js';
import { ResponseReader } from './http-response.js';
import type { ReadMode } from './http-response.js';
import { checkHttpSocket } from './http-socket.js';
import type { CheckResult, Checker, CheckTarget } from './types.js';

/** The checker for types http and https. */
export const checkHttp: Checker = (target, signal) => {
  const spec = target.spec;
  if (spec.type !== 'http' && spec.type !== 'https') return Promise.reject(new TypeError(`checkHttp given a ${spec.type} check`));
  if (spec.urls !== undefined) return checkUrls(target, spec, spec.urls, signal);
  // The hot path (thousands a second): no wrapper promise between the scheduler and the transport.
  const p = prepare(target, spec, modeOf(spec));
  return send(p, spec, new ResponseReader(p.reader), target.address.family, signal);
};

/** Plain HTTP on the raw handle by callback (checks/index.ts startCheck); false for every other HTTP check. */
export function startHttp(target: CheckTarget, signal: AbortSignal, done: (result: CheckResult) => void): boolean {
  const spec = target.spec;
  if ((spec.type !== 'http' && spec.type !== 'https') || spec.urls !== undefined) return false;
  const p = prepare(target, spec, modeOf(spec));
  if (!rawHttpFits(p)) return false;
  startHttpRaw(p, spec, new ResponseReader(p.reader), target.address.family, signal, done);
  return true;
}

function send(p: Prepared, spec: HttpCheckSpec, reader: ResponseReader, family: number, signal: AbortSignal): Promise<CheckResult> {
  return rawHttpFits(p) ? checkHttpRaw(p, spec, reader, family, signal) : checkHttpSocket(p, spec, reader, signal);
}

function modeOf(spec: HttpCheckSpec): ReadMode {
  return spec.expectDigest !== undefined ? 'digest' : spec.expectBody !== null ? 'body' : 'status';
}

/** One request, read in `mode`; the reader is returned too (`lvsd digest` prints its digest). */
export async function runPage(
  target: CheckTarget,
  spec: HttpCheckSpec,
  signal: AbortSignal,
  mode: ReadMode,
): Promise<{ result: CheckResult; reader: ResponseReader }> {
  const p = prepare(target, spec, mode);
  const reader = new ResponseReader(p.reader);
  return { result: await send(p, spec, reader, target.address.family, signal), reader };
}

// One derived single-page target per page, made once per probe target (the scheduler keeps it).
const pagesByTarget = new WeakMap<CheckTarget, readonly CheckTarget[]>();

function pageTargets(target: CheckTarget, spec: HttpCheckSpec, urls: readonly HttpUrlSpec[]): readonly CheckTarget[] {
  let pages = pagesByTarget.get(target);
  if (pages === undefined) {
    const { urls: _urls, expectDigest: _digest, ...base } = spec;
    pages = urls.map((u): CheckTarget => {
      const page: HttpCheckSpec = {
        ...base,
        path: u.path,
        expectStatus: u.expectStatus,
        expectBody: u.expectBody,
        ...(u.expectDigest === null ? {} : { expectDigest: u.expectDigest }),
      };
      return { address: target.address, spec: page, context: target.context };
    });
    pagesByTarget.set(target, pages);
  }
  return pages;
}

/**
 * Every page at once, each under the check's own timeout, so the whole check still ends within
 * `timeout`. Down with the first failing page's reason (in list order); up when all pass.
 */
async function checkUrls(target: CheckTarget, spec: HttpCheckSpec, urls: readonly HttpUrlSpec[], signal: AbortSignal): Promise<CheckResult> {
  const pages = pageTargets(target, spec, urls);
  const results = await Promise.all(pages.map((p) => checkHttp(p, signal)));
  const latencyMs = Math.max(0, ...results.map((r) => r.latencyMs));
  // A page that failed for real speaks before one that could not run (not_run leaves health alone).
  let failed = results.findIndex((r) => !r.up && r.code !== 'not_run');
  if (failed < 0) failed = results.findIndex((r) => !r.up);
  if (failed >= 0) {
    const r = results[failed]!;
    return { ...r, reason: `url ${failed + 1} of ${results.length}: ${r.reason}`, latencyMs };
  }
  return { up: true, code: 'ok', reason: `${results.length} urls ok: ${results.map((r) => r.reason).join('; ')}`, latencyMs };
}
