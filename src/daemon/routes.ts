// The daemon's event routing: where a check result, a health transition, a pass's service events,
// an admin change, an agent's reply and the control socket's sync-role go. The parts report to a
// DaemonRoutes; it holds the parts (built in parts.ts) and builds none.

import type { Snapshot, SyncRole } from '../config/model.js';
import { indexOf } from '../config/snapshot-index.js';
import type { AdminControl } from '../control/admin-control.js';
import type { ControlRequest, SyncRoleReply } from '../control/protocol.js';
import type { AgentChange } from '../agent/agent-poller.js';
import type { ResultCounts } from '../engine/control-side.js';
import { LvsdError } from '../errors.js';
import type { HealthEvent } from '../health/tracker.js';
import type { Logger } from '../log.js';
import { pairId } from '../model/keys.js';
import type { Notifier } from '../notify/notifier.js';
import type { Observer } from '../observe/observer.js';
import type { HealthBoard } from '../reconcile/health-board.js';
import type { ServiceEvent } from '../reconcile/quorum.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import type { SyncDaemonKeeper } from '../sync-daemon/keeper.js';
import type { FirstRoundGate } from './first-round.js';
import { logHealthEvents } from './log.js';

/** Quorum and sorry-server changes of a committed pass: each runs its service's notify command. */
export function notifyServiceEvents(notifier: Notifier, snapshot: Snapshot, events: readonly ServiceEvent[]): void {
  const services = indexOf(snapshot).byKey;
  for (const e of events) {
    const service = services.get(e.serviceKey);
    if (service) notifier.emit(e.kind, service, { weightSum: e.weightSum });
  }
}

/**
 * real_up/real_down notify commands. They are transitions between known states: a first result
 * (from unknown) is none, and neither is a change of a pair the snapshot no longer has.
 */
export function notifyHealthEvents(notifier: Notifier, snapshot: Snapshot, events: readonly HealthEvent[]): void {
  const index = indexOf(snapshot);
  for (const e of events) {
    if (e.kind !== 'state' || e.from === 'unknown' || e.from === e.to) continue;
    if (e.to !== 'up' && e.to !== 'down') continue;
    const service = index.byKey.get(e.serviceKey);
    const real = index.reals.get(pairId(e.serviceKey, e.realKey));
    if (!service || !real) continue;
    notifier.emit(e.to === 'up' ? 'real_up' : 'real_down', service, {
      real: { address: real.key, host: real.address.host, port: real.address.port },
      from: e.from,
      to: e.to,
      reason: e.reason,
    });
  }
}

/** An agent's drain/maint is one more admin source (`agent`); its up/down and N% reach desired directly. */
export function agentToAdmin(admin: AdminControl, changes: readonly AgentChange[]): void {
  for (const c of changes) {
    if (c.from.admin === c.to.admin) continue;
    const target = { kind: 'real', service: c.service, real: { host: c.address.host, family: c.address.family, port: c.address.port } } as const;
    const by = `agent ${c.address.family === 6 ? `[${c.address.host}]` : c.address.host}:${c.agentPort}`;
    admin.setEntry('agent', target, c.to.admin === 'ready' ? null : { state: c.to.admin, by });
  }
}

/** The control socket's `sync-role`: ask, set, or clear ("config") the run-time role. */
export async function syncRoleReply(
  sync: SyncDaemonKeeper,
  req: Extract<ControlRequest, { cmd: 'sync-role' }>,
  by: string,
  log: Logger,
): Promise<SyncRoleReply> {
  if (req.role === undefined) return { ok: true, sync: sync.status() };
  try {
    const role: SyncRole | null = req.role === 'config' ? null : req.role;
    return { ok: true, sync: await sync.setRuntimeRole(role, by) };
  } catch (err) {
    if (!(err instanceof LvsdError)) throw err;
    log.warn({ event: 'sync_role', code: err.code, by, role: req.role, err: err.message }, `sync daemon: role ${req.role} refused: ${err.message}`);
    return { ok: false, code: err.code, error: err.message };
  }
}


/** The parts the routes deliver to. */
export interface RoutedParts {
  readonly board: HealthBoard;
  readonly observer: Observer;
  readonly notifier: Notifier;
  readonly reconciler: Reconciler;
  readonly admin: AdminControl;
  readonly sync: SyncDaemonKeeper;
  readonly gate: FirstRoundGate;
}

export class DaemonRoutes {
  readonly #p: RoutedParts;
  readonly #log: Logger;
  readonly #snapshot: () => Snapshot;

  /** `snapshot`: the snapshot in force (notify commands and log lines name its services). */
  constructor(parts: RoutedParts, log: Logger, snapshot: () => Snapshot) {
    this.#p = parts;
    this.#log = log;
    this.#snapshot = snapshot;
  }

  /** The check engine's result counts since its last batch: into metrics (health comes as events). */
  checkResults(results: ResultCounts): void {
    this.#p.observer.checkResults(results);
  }

  /**
   * Transitions and first results: into the board the reconciler reads, status and metrics, the
   * log and notify commands; then a pass, and the first-round gate may open.
   */
  healthEvents(events: readonly HealthEvent[]): void {
    if (events.length === 0) return;
    const p = this.#p;
    const snapshot = this.#snapshot();
    p.board.apply(events);
    p.observer.healthEvents(events);
    logHealthEvents(this.#log, events, indexOf(snapshot).byKey, p.gate.isOpen);
    notifyHealthEvents(p.notifier, snapshot, events);
    p.reconciler.trigger('health');
    p.gate.check();
  }

  /** Quorum and sorry-server changes of a committed pass. */
  serviceEvents(events: readonly ServiceEvent[]): void {
    notifyServiceEvents(this.#p.notifier, this.#snapshot(), events);
  }

  adminChanged(): void {
    this.#p.reconciler.trigger('admin');
  }

  /** Agent replies: drain/maint into admin state, then a pass for their up/down and N%. */
  agentChanges(changes: readonly AgentChange[]): void {
    agentToAdmin(this.#p.admin, changes);
    this.#p.reconciler.trigger('agent');
  }

  syncRole(req: Extract<ControlRequest, { cmd: 'sync-role' }>, by: string): Promise<SyncRoleReply> {
    return syncRoleReply(this.#p.sync, req, by, this.#log);
  }
}
