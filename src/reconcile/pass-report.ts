// What a reconcile pass reports and publishes: its report (lines, errors), the decisions it
// committed (quorum, sorry servers, ramps), the loop's counters and the clean stop's result.

import type { IpvsOp } from '../ipvs/model.js';
import type { TableModel } from './kernel-cache.js';
import type { ServiceQuorum } from './quorum.js';
import type { SlowStartState } from './slow-start.js';

/** A configured service's state as of the last committed pass (status, metrics, VIP announce). */
export interface ServiceRuntime {
  readonly quorum: ServiceQuorum;
  /** Sorry servers are in its desired table. */
  readonly sorry: boolean;
}

export interface PassReport {
  readonly reasons: readonly string[];
  readonly at: number;
  readonly ok: boolean;
  /** Ops sent to ipvsadm in this pass (empty when the kernel already matched). */
  readonly ops: readonly IpvsOp[];
  readonly lines: readonly string[];
  /** Lines still needed after the apply (what did not take effect). */
  readonly remaining: readonly string[];
  /** What ipvsadm printed, or the runner's error. */
  readonly errors: readonly string[];
  readonly draining: number;
}

export interface Plan {
  readonly ops: readonly IpvsOp[];
  readonly lines: readonly string[];
}

export type OpKind = IpvsOp['op'];

export interface ReconcilerStats {
  readonly started: boolean;
  readonly passes: number;
  readonly failures: number;
  readonly consecutiveFailures: number;
  /** Ops sent to ipvsadm, by kind. */
  readonly opsApplied: Readonly<Record<OpKind, number>>;
  /** `now()` of the last pass that left the kernel equal to desired. */
  readonly lastSuccessAt: number | null;
  readonly lastError: string | null;
  readonly draining: number;
  /** `now()` when the running pass began; null while no pass runs. */
  readonly passRunningSince: number | null;
  /** The running pass's deadline (ms from its start); a pass past it is aborted and overdue. */
  readonly passDeadlineMs: number;
  /** Passes that ran past their deadline. */
  readonly passesOverdue: number;
  /** ipvsadm runs by kind, since start (read = -Sn/-Ln table, counters, apply = -R). */
  readonly execs: Readonly<Record<ExecKind, number>>;
  /** When the kernel table was last read (start, resync, after an apply error); null = never. */
  readonly lastReadAt: number | null;
}

export type ExecKind = 'read' | 'counters' | 'apply';

export type { TableModel } from './kernel-cache.js';

/** A pass's deadline without passDeadlineMs: this much plus 20 ms per entry of the table model. */
export const PASS_DEADLINE_BASE_MS = 60_000;

export interface StopResult {
  /** Owned services deleted by a clean stop. */
  readonly removed: readonly string[];
  /** Owned services still in the kernel after a clean stop (failed deletes). */
  readonly left: readonly string[];
}

/**
 * What the last committed pass decided, published once per pass as one immutable object: status,
 * metrics, the DNS state file and the VIP announcer read it instead of asking the reconciler.
 */
export interface PassDecision {
  /** Quorum and sorry state of every configured service. */
  readonly services: ReadonlyMap<string, ServiceRuntime>;
  /** Reals in slow start. */
  readonly slowStarts: SlowStartState;
}

/** Before the first pass: nothing decided, no service has quorum (nothing is announced). */
export const NO_DECISION: PassDecision = Object.freeze({ services: new Map(), slowStarts: new Map() });

/** Whether the service has quorum as decided; false before the first pass and for an unknown service. */
export function quorumOf(decision: PassDecision, serviceKey: string): boolean {
  return decision.services.get(serviceKey)?.quorum.up ?? false;
}

/**
 * What the reconciler publishes once per pass, when the pass has ended (and once after a clean
 * stop, whose deletes count too): status, metrics, the DNS state file and the VIP announcer keep
 * the latest one instead of asking the reconciler. Immutable.
 */
export interface PassPublished {
  /** The pass's report; null for the clean stop (no pass). */
  readonly report: PassReport | null;
  /** The decisions in force (the last committed pass's). */
  readonly decision: PassDecision;
  /** The loop's counters as the pass left them (no pass running). */
  readonly stats: ReconcilerStats;
  /** The model of the kernel table as the pass left it. */
  readonly table: TableModel;
}

/** What a subscriber of the reconcile passes is told. */
export interface PassSubscriber {
  /** A pass began (`at`) and may run for `deadlineMs` (healthz: a pass running past it). */
  passBegan?(at: number, deadlineMs: number): void;
  /** Once per pass, after it ended. */
  published(p: PassPublished): void;
}

export const ZERO_OPS: Readonly<Record<OpKind, number>> = {
  'add-service': 0,
  'edit-service': 0,
  'delete-service': 0,
  'add-real': 0,
  'edit-real': 0,
  'delete-real': 0,
};

/** The loop's counters before its first pass. */
export const INITIAL_STATS: ReconcilerStats = Object.freeze({
  started: false,
  passes: 0,
  failures: 0,
  consecutiveFailures: 0,
  opsApplied: ZERO_OPS,
  lastSuccessAt: null,
  lastError: null,
  draining: 0,
  passRunningSince: null,
  passDeadlineMs: PASS_DEADLINE_BASE_MS,
  passesOverdue: 0,
  execs: Object.freeze({ read: 0, counters: 0, apply: 0 }),
  lastReadAt: null,
});
