// The checker interface: a target and a spec in, a result out. A failing target is a result, never a throw.

import type { CheckSpec, Endpoint } from '../config/model.js';

/** Stable, low-cardinality reason codes (metric labels use these). */
export type CheckReasonCode =
  | 'ok'
  | 'refused'
  | 'reset'
  | 'timeout'
  | 'unreachable'
  | 'tls'
  | 'bad_status'
  | 'body_mismatch'
  | 'digest_mismatch'
  | 'banner_mismatch'
  | 'dns_rcode'
  | 'dns_answer_mismatch'
  | 'dns_bad_response'
  | 'exit_code'
  | 'spawn_failed'
  /** The check could not run here (EMFILE, ENOBUFS, ...): says nothing about the real; health ignores it. */
  | 'not_run'
  | 'error';

export interface CheckResult {
  readonly up: boolean;
  readonly code: CheckReasonCode;
  /** Human text with context, e.g. "HTTP GET http://10.0.0.2:80/health: status 503". */
  readonly reason: string;
  readonly latencyMs: number;
  /** MISC with dynamic_weight only: the weight the command asked for. */
  readonly weight?: number;
  /** Set with code 'not_run': the local errno that kept the check from running (metric label). */
  readonly notRun?: string;
}

/** Service context a check may need (MISC passes it to the command as LVSD_* variables). */
export interface CheckContext {
  readonly serviceName: string;
  /** Virtual address; null for fwmark services. */
  readonly vip: Endpoint | null;
  readonly fwmark: number | null;
  readonly protocol: string;
}

export interface CheckTarget {
  /** The real's address; `spec.port` is the port to probe. */
  readonly address: Endpoint;
  readonly spec: CheckSpec;
  readonly context: CheckContext;
}

export type Checker = (target: CheckTarget, signal: AbortSignal) => Promise<CheckResult>;

/**
 * A check that reports by callback: `done` is called exactly once with the result. The hot paths
 * (plain TCP connect, plain HTTP on the raw handle) run this way under the scheduler, without a
 * promise, an executor and a reaction per check; `done` may be called before the call returns.
 */
export type CheckStarter = (target: CheckTarget, signal: AbortSignal, done: (result: CheckResult) => void) => void;
