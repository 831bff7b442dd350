// The daemon's event routing, apart from its wiring: which health and service events run notify
// commands, how an agent's reply becomes admin state, the control socket's sync-role, and when a
// reload needs a restart. daemon.ts calls these with the parts it built; none of them builds any.

import type { Snapshot, SyncRole } from './config/model.js';
import { indexOf } from './config/snapshot-index.js';
import type { AdminControl } from './control/admin-control.js';
import type { ControlRequest, SyncRoleReply } from './control/protocol.js';
import type { AgentChange } from './agent/agent-poller.js';
import { LvsdError } from './errors.js';
import type { HealthEvent } from './health/tracker.js';
import type { Logger } from './log.js';
import { pairId } from './model/keys.js';
import type { Notifier } from './notify/notifier.js';
import type { ServiceEvent } from './reconcile/quorum.js';
import type { SyncDaemonKeeper } from './sync-daemon/keeper.js';
import { restartNeeded } from './daemon-log.js';

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
  sync: SyncDaemonKeeper | null,
  req: Extract<ControlRequest, { cmd: 'sync-role' }>,
  by: string,
  log: Logger,
): Promise<SyncRoleReply> {
  if (!sync) return { ok: false, code: 'LVSD_CONTROL_FAILED', error: 'the daemon is starting' };
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

/** Restart-only settings changed since start: logged when the set changes, remembered for status. */
export class RestartWatch {
  readonly #started: Snapshot;
  readonly #log: Logger;
  #needed: readonly string[] = [];

  constructor(started: Snapshot, log: Logger) {
    this.#started = started;
    this.#log = log;
  }

  /** The settings a reload to `next` cannot apply (empty when none). */
  check(next: Snapshot): readonly string[] {
    const needed = restartNeeded(this.#started, next);
    if (needed.join() !== this.#needed.join()) {
      if (needed.length) this.#log.warn({ settings: needed }, `restart needed for: ${needed.join(', ')} (changed in lvsd.yaml since start; a reload does not apply them)`);
      else this.#log.info('restart no longer needed: the restart-only settings are back to their values at start');
    }
    this.#needed = needed;
    return needed;
  }
}
