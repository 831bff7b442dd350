// HTTP/HTTPS checks beyond one page and a status: `expect_digest` (genhash's MD5 of the body) and
// `urls` (several pages, each with its own path and expectations, all of which must pass). Plain
// checks go straight to checkHttp, the hot path; this file only adds the dispatch in front of it.

import type { HttpCheckSpec, HttpUrlSpec } from '../config/model.js';
import { checkHttp, prepare } from './http.js';
import { DigestProbe } from './http-digest.js';
import type { CheckResult, Checker, CheckTarget } from './types.js';

/** The checker for types http and https. */
export const checkHttpPages: Checker = (target, signal) => {
  const spec = target.spec;
  if (spec.type !== 'http' && spec.type !== 'https') throw new TypeError(`checkHttpPages given a ${spec.type} check`);
  if (spec.urls !== undefined) return checkUrls(target, spec, spec.urls, signal);
  if (spec.expectDigest !== undefined) return checkDigest(target, spec, signal);
  return checkHttp(target, signal);
};

async function checkDigest(target: CheckTarget, spec: HttpCheckSpec, signal: AbortSignal): Promise<CheckResult> {
  const probe = new DigestProbe(prepare(target, spec), spec, signal);
  try {
    return await probe.run();
  } finally {
    probe.close();
  }
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
  const results = await Promise.all(pages.map((p) => checkHttpPages(p, signal)));
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
