// The level-triggered sync loop: read the kernel, diff against desired, apply in one ipvsadm -R, verify.

import type { Snapshot } from '../config/model.js';
import { indexOf } from '../config/snapshot-index.js';
import type { AdminView } from '../control/admin-store.js';
import { LvsdError, errorMessage } from '../errors.js';
import { formatOp } from '../ipvs/format.js';
import type { IpvsOp, IpvsRunner, IpvsTable, TableCounters } from '../ipvs/model.js';
import { tableEntries } from '../ipvs/runner.js';
import type { Logger } from '../log.js';
import { desiredTable } from './desired.js';
import type { AgentView, DesiredInputs, HealthView } from './desired.js';
import { diffTables } from './diff.js';
import { drainCount } from './drain.js';
import type { DrainUpdate } from './drain.js';
import type { Ownership } from './ownership.js';
import type { ServiceEvent } from './quorum.js';
import { freezeInputs } from './pass-inputs.js';
import { nextRampStep } from './slow-start.js';
import { INITIAL_STEP_STATE, drainsToWatch, step } from './step.js';
import type { StepResult, StepState } from './step.js';
import { unrefTimers } from './loop-timers.js';
import { logServiceEvent, rampFields } from './pass-log.js';
import { NO_DECISION, PASS_DEADLINE_BASE_MS } from './pass-report.js';
import type { PassDecision, PassPublished, PassReport, PassSubscriber, Plan, ReconcilerStats, ServiceRuntime, StopResult } from './pass-report.js';
import { PassLoop } from './pass-loop.js';
import type { NextPass } from './pass-loop.js';
import type { LoopTimers } from './loop-timers.js';
import { KernelTableCache } from './kernel-cache.js';
import { cleanStop } from './clean-stop.js';
import { PassCounters } from './pass-counters.js';

export interface ReconcilerOptions {
  readonly runner: IpvsRunner;
  readonly logger: Logger;
  readonly ownership: Ownership;
  readonly now?: () => number;
  /** Defaults to the global timers looked up at call time (so node:test mock.timers applies). */
  readonly timers?: LoopTimers;
  /** At most one pass begins per this window (default 50 ms): a lone trigger runs at once, a burst is one pass (pass-loop.ts). */
  readonly coalesceMs?: number;
  /** Full re-read and repair; default: the snapshot's resync_interval, else 30 s. */
  readonly resyncIntervalMs?: number;
  /** Default: the snapshot's drain_timeout, else 60 s. */
  readonly drainTimeoutMs?: number;
  /** How often counters are re-read while something drains. */
  readonly drainPollMs?: number;
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
  /**
   * Told when a pass begins, and once per pass when it has ended (and after the clean stop): its
   * report, the decisions in force, the counters and the table model, as one immutable object.
   */
  readonly subscribers?: readonly PassSubscriber[];
  /** How long a pass may run before it is aborted and counted overdue; default
   *  60 s + 20 ms per service and real of the model (every ipvsadm run of it is bounded too). */
  readonly passDeadlineMs?: number;
  /** Quorum and sorry-server changes of a committed pass (notify commands); already logged. */
  readonly onServiceEvents?: (events: readonly ServiceEvent[]) => void;
}

export type { ExecKind, OpKind, PassDecision, PassPublished, PassReport, PassSubscriber, Plan, ReconcilerStats, ServiceRuntime, StopResult, TableModel } from './pass-report.js';

interface Computed {
  /** Everything below was computed from this snapshot; verify and ownership use it, not a newer one. */
  readonly snapshot: Snapshot;
  readonly actual: IpvsTable;
  readonly owned: ReadonlySet<string>;
  readonly drains: DrainUpdate;
  readonly inputs: DesiredInputs;
  readonly ops: IpvsOp[];
}


/**
 * Keeps the kernel's managed services equal to desired(snapshot, health). Nothing touches the kernel
 * until `start()`: the composition root calls it once the first check round is in, so a starting
 * lvsd never removes a live real or adds a dead one on a guess. Passes run one at a time; triggers
 * that arrive during a pass cause exactly one more pass.
 */
export class Reconciler {
  readonly #o: ReconcilerOptions;
  readonly #now: () => number;
  readonly #timers: LoopTimers;
  #snapshot: Snapshot | null = null;
  #health: HealthView | null = null;
  #admin: AdminView | null = null;
  #agents: AgentView | null = null;
  readonly #loop: PassLoop<PassReport>;
  readonly #kernel: KernelTableCache;
  readonly #counts: PassCounters;
  /** What the last committed pass decided: quorum, sorry servers, slow-start ramps, drains. */
  #state: StepState = INITIAL_STEP_STATE;
  /** The same decisions as one immutable object, as published. */
  #decision: PassDecision = NO_DECISION;

  constructor(options: ReconcilerOptions) {
    this.#o = options;
    // Looked up per call, so a mocked Date (node:test mock.timers) applies.
    this.#now = options.now ?? (() => Date.now());
    const counts = new PassCounters({ now: this.#now, ...(options.retryInitialMs === undefined ? {} : { retryInitialMs: options.retryInitialMs }), ...(options.retryMaxMs === undefined ? {} : { retryMaxMs: options.retryMaxMs }) });
    this.#counts = counts;
    this.#kernel = new KernelTableCache({ runner: options.runner, ownership: options.ownership, logger: options.logger, now: this.#now, onRead: () => counts.exec('read') });
    this.#timers = options.timers ?? unrefTimers;
    this.#loop = new PassLoop<PassReport>({
      name: 'reconcile pass',
      timers: this.#timers,
      now: this.#now,
      coalesceMs: options.coalesceMs ?? 50,
      run: (reasons, signal) => this.#passBody(reasons, signal),
      next: () => this.#next(),
      deadlineMs: () => this.#passDeadlineMs(),
      onOverdue: (deadlineMs, reasons) => {
        this.#counts.overdue();
        this.#o.logger.error({ deadlineMs, reasons }, 'reconcile pass ran past its deadline; aborting it');
      },
      blockedUntil: () => this.#counts.blockedUntil,
    });
  }

  setSnapshot(snapshot: Snapshot): void {
    this.#snapshot = snapshot;
    this.trigger('config');
  }

  setHealth(view: HealthView): void {
    this.#health = view;
    this.trigger('health');
  }

  /** Admin state (control socket, maintenance dir, agent); without it every real is ready. */
  setAdmin(view: AdminView): void {
    this.#admin = view;
    this.trigger('admin');
  }

  /** The realservers' agents (HAProxy agent-check); call trigger('agent') when one changes. */
  setAgents(view: AgentView): void {
    this.#agents = view;
  }

  /** Ask for a pass (a health transition, a reload, a signal): at once, or at the end of the coalescing window of the last pass. */
  trigger(reason: string): void {
    this.#loop.trigger(reason);
  }

  /**
   * Begin changing the kernel: run the first pass now, then keep the loop going. The composition
   * root calls this once the first check round is in (every real has a first result, or its check
   * gave up), never earlier; until then triggers are only remembered.
   */
  async start(): Promise<PassReport> {
    if (this.#loop.stopped) throw new Error('Reconciler.start() after stop()');
    return this.#loop.start('start');
  }

  /** Resolves once no pass is running (tests and shutdown use it). */
  async settled(): Promise<void> {
    await this.#loop.settled();
  }

  /** The ops and lines a pass would apply now; changes nothing (for `lvsd plan`). */
  async planOnce(): Promise<Plan> {
    this.#kernel.invalidate();
    const c = await this.#compute(false, undefined);
    return { ops: c.ops, lines: c.ops.map(formatOp) };
  }

  /**
   * Stop the loop. A running pass is aborted (its ipvsadm killed) first. With `clean`, delete every
   * owned service still in the kernel (one delete-service line each, never -C, so foreign services
   * stay), within `budgetMs` (default 10 s) and `signal`: past them the ipvsadm runs are killed and
   * the stop rejects LVSD_IPVSADM_ABORTED. This works before start() too: stopping is an explicit
   * order, and an OCF/heartbeat stop must release what a previous run created. Runner errors
   * propagate: a failed clean stop is the caller's to report (an OCF stop must fail then).
   */
  async stop(options: { readonly clean: boolean; readonly budgetMs?: number; readonly signal?: AbortSignal }): Promise<StopResult> {
    await this.#loop.stop(new Error('lvsd stopping'));
    if (!options.clean) return { removed: [], left: [] };
    const budgetMs = options.budgetMs ?? 10_000;
    const budget = new AbortController();
    const timer = this.#timers.setTimeout(() => budget.abort(new Error(`clean stop budget of ${budgetMs} ms`)), budgetMs);
    const signal = options.signal ? AbortSignal.any([budget.signal, options.signal]) : budget.signal;
    try {
      const result = await cleanStop(
        {
          kernel: this.#kernel,
          runner: this.#o.runner,
          logger: this.#o.logger,
          snapshot: this.#snapshot,
          applying: () => this.#counts.exec('apply'),
          applied: (ops) => this.#counts.applied(ops),
        },
        signal,
      );
      if (result.removed.length > 0 || result.left.length > 0) this.#publish(null);
      return result;
    } finally {
      this.#timers.clearTimeout(timer);
    }
  }

  stats(): ReconcilerStats {
    return this.#counts.stats({
      started: this.#loop.started,
      passRunningSince: this.#loop.runningSince,
      passDeadlineMs: this.#loop.deadline || this.#passDeadlineMs(),
      lastReadAt: this.#kernel.readAt,
    });
  }

  /** After a pass: one timer serves retries, drain polls, slow-start steps and resyncs, earliest first. */
  #next(): NextPass {
    const resync = this.#o.resyncIntervalMs ?? this.#snapshot?.global.resyncIntervalMs ?? 30_000;
    // Due one interval after the last read, not after the last pass: passes that only applied
    // changes must not push drift repair back.
    const readAt = this.#kernel.readAt;
    let delay = readAt === null ? resync : Math.max(0, readAt + resync - this.#now());
    let reason = 'resync';
    const earlier = (ms: number, why: string): void => {
      if (ms < delay) [delay, reason] = [ms, why];
    };
    if (this.#counts.consecutiveFailures > 0) earlier(this.#counts.backoffMs(), 'retry');
    if (this.#counts.draining > 0) earlier(this.#o.drainPollMs ?? 1_000, 'drain');
    // Each slow-start step is one ordinary pass, due when the step begins.
    const ramp = nextRampStep(this.#state.slowStart, this.#now());
    if (ramp !== null) earlier(Math.max(0, ramp - this.#now()), 'slow-start');
    return { delayMs: delay, reason };
  }

  #passDeadlineMs(): number {
    return this.#o.passDeadlineMs ?? PASS_DEADLINE_BASE_MS + 20 * (this.#kernel.table ? tableEntries(this.#kernel.table) : 0);
  }

  async #passBody(reasons: readonly string[], signal: AbortSignal): Promise<PassReport> {
    this.#tell('passBegan', (sub) => sub.passBegan?.(this.#loop.runningSince ?? this.#now(), this.#loop.deadline));
    const base = { reasons, at: this.#now(), ops: [] as readonly IpvsOp[], lines: [] as readonly string[] };
    // Without a config or health there is nothing lvsd could want; doing nothing is the safe reading.
    if (!this.#snapshot || !this.#health) return this.#emit({ ...base, ok: true, remaining: [], errors: [] });
    this.#counts.passed();
    const { runner, logger } = this.#o;
    let lines: readonly string[] = [];
    try {
      // From here on the pass works from what it captured (snapshot, health, ownership, drains,
      // the table): a reload while ipvsadm runs is the next pass's business, not this one's.
      const c = await this.#compute(true, signal);
      await this.#kernel.recordOwnership(c.snapshot, c.actual);
      if (c.ops.length === 0) return this.#succeeded({ ...base, errors: [] });
      lines = c.ops.map(formatOp);
      logger.info({ reasons, ops: c.ops.length, lines }, 'applying IPVS changes');
      this.#counts.exec('apply');
      const { errors } = await runner.apply(lines, { signal });
      this.#counts.applied(c.ops);
      const applied = { ...base, ops: c.ops, lines, errors };
      if (errors.length === 0) {
        // ipvsadm reported nothing: every line took effect. Apply the same lines to the model; the
        // kernel is read again only if the model disagrees (then the model was wrong).
        const model = await this.#kernel.applied(c.actual, lines);
        if (model) {
          await this.#kernel.recordOwnership(c.snapshot, model);
          return this.#succeeded(applied);
        }
      }
      // ipvsadm -R goes on after a failing line and its status reflects only the last one: the
      // kernel is the only truth, so re-read it and diff again, against this pass's own inputs.
      const after = await this.#kernel.read(signal);
      await this.#kernel.recordOwnership(c.snapshot, after);
      const desired = desiredTable(c.snapshot, c.inputs, c.drains.draining, after);
      const remaining = diffTables(desired, after, c.owned).map(formatOp);
      if (remaining.length === 0) return this.#succeeded(applied);
      this.#counts.failed(`${remaining.length} change(s) did not take effect`, false);
      logger.error(
        { reasons, remaining, errors, retryInMs: this.#counts.backoffMs() },
        'IPVS table still differs after apply; will retry',
      );
      return this.#emit({ ...applied, ok: false, remaining });
    } catch (err) {
      this.#kernel.invalidate();
      const code = err instanceof LvsdError ? err.code : 'LVSD_IPVSADM_FAILED';
      this.#counts.failed(errorMessage(err), true);
      if (this.#loop.stopped && code === 'LVSD_IPVSADM_ABORTED') logger.warn({ code, err: errorMessage(err) }, 'IPVS pass aborted by stop');
      else logger.error({ code, err: errorMessage(err), retryInMs: this.#counts.backoffMs() }, 'IPVS sync failed; will retry');
      return this.#emit({ ...base, lines, ok: false, remaining: lines, errors: [errorMessage(err)] });
    }
  }

  async #compute(commit: boolean, signal: AbortSignal | undefined): Promise<Computed> {
    const snapshot = this.#snapshot;
    const live = this.#health;
    if (!snapshot || !live) throw new Error('Reconciler needs setSnapshot() and setHealth() first');
    const { runner, logger } = this.#o;
    // From here on the pass works from what it captured: health, admin state and agents are read
    // once, shaped once (pass-inputs.ts), and a reload while ipvsadm runs is the next pass's business.
    const inputs = freezeInputs(snapshot, live, this.#admin ?? undefined, this.#agents ?? undefined);
    const owned = this.#kernel.owned(snapshot);
    const actual = await this.#kernel.current(signal, this.#o.resyncIntervalMs ?? snapshot.global.resyncIntervalMs ?? 30_000);
    let counters: TableCounters | null = null;
    const candidates = drainsToWatch(snapshot, actual, owned, inputs);
    if (candidates.size > 0) {
      try {
        this.#counts.exec('counters');
        counters = await runner.counters(signal ? { signal } : {});
      } catch (err) {
        logger.warn({ err: errorMessage(err) }, 'cannot read connection counters; drains end on timeout');
      }
    }
    const drainTimeoutMs = this.#o.drainTimeoutMs ?? snapshot.global.drainTimeoutMs ?? 60_000;
    const r = step(this.#state, { snapshot, inputs, actual, owned, candidates, counters, now: this.#now(), drainTimeoutMs });
    if (commit) this.#commit(snapshot, r);
    return { snapshot, actual, owned, drains: r.drains, inputs: r.desiredInputs, ops: r.ops };
  }

  /** Keep what the step decided; log each change once, then hand the service events on. */
  #commit(snapshot: Snapshot, r: StepResult): void {
    const log = this.#o.logger;
    this.#counts.draining = drainCount(r.drains.draining);
    const services = indexOf(snapshot).byKey;
    for (const f of r.drains.finished) {
      // The same field names as every other line (service by name while it is configured).
      const service = services.get(f.serviceKey)?.name ?? f.serviceKey;
      log.info({ event: 'drain_finished', service, real: f.realKey, why: f.why }, 'drain finished; deleting real');
    }
    for (const id of r.rampsStarted) log.info(rampFields(id, r.state.slowStart.get(id)!, snapshot), 'slow start: ramping the weight');
    this.#state = r.state;
    this.#decide(r.state);
    if (r.events.length === 0) return;
    for (const e of r.events) logServiceEvent(log, e, services.get(e.serviceKey));
    try {
      this.#o.onServiceEvents?.(r.events);
    } catch (err) {
      log.error({ err: errorMessage(err) }, 'onServiceEvents hook failed');
    }
  }

  /** The committed state as one immutable decision, published with the pass's end. */
  #decide(state: StepState): void {
    const services = new Map<string, ServiceRuntime>();
    for (const [key, quorum] of state.quorum) services.set(key, { quorum, sorry: state.sorry.has(key) });
    this.#decision = { services, slowStarts: state.slowStart };
  }

  /** Tell every subscriber; one that throws is logged and never breaks the loop (timers do not await passes). */
  #tell(what: string, call: (sub: PassSubscriber) => void): void {
    for (const sub of this.#o.subscribers ?? []) {
      try {
        call(sub);
      } catch (err) {
        this.#o.logger.error({ err: errorMessage(err) }, `${what} subscriber failed`);
      }
    }
  }

  /** Once per pass (and after the clean stop): what subscribers keep instead of asking. */
  #publish(report: PassReport | null): void {
    const published: PassPublished = Object.freeze({
      report,
      decision: this.#decision,
      // Published when the pass has ended: none runs any more, whatever the loop says until it unwinds.
      stats: { ...this.stats(), passRunningSince: null },
      table: this.#kernel.model(),
    });
    this.#tell('published', (sub) => sub.published(published));
  }

  #succeeded(r: Omit<PassReport, 'ok' | 'remaining' | 'draining'>): PassReport {
    if (this.#counts.succeeded()) this.#o.logger.info({ reasons: r.reasons }, 'IPVS table in sync again');
    return this.#emit({ ...r, ok: true, remaining: [] });
  }

  #emit(r: Omit<PassReport, 'draining'>): PassReport {
    const report: PassReport = { ...r, draining: this.#counts.draining };
    this.#publish(report);
    return report;
  }
}
