// Settings a reload cannot apply: lvsd.yaml keys read once at start, compared with the snapshot
// the daemon started with, logged when the set changes and shown in status until the restart.

import type { Snapshot } from '../config/model.js';
import type { Logger } from '../log.js';

/** Global settings read once at start, by the name an operator writes in lvsd.yaml. */
const RESTART_ONLY: readonly (readonly [keyof Snapshot['global'], string])[] = [
  ['listen', 'listen'],
  ['ipvsadm', 'ipvsadm'],
  ['stateDir', 'state_dir'],
  ['maxConcurrentChecks', 'max_concurrent_checks'],
  ['checkThreads', 'check_threads'],
  ['resyncIntervalMs', 'resync_interval'],
  ['drainTimeoutMs', 'drain_timeout'],
  ['controlSocket', 'control_socket'],
  ['maintenanceDir', 'maintenance_dir'],
];

/**
 * The lvsd.yaml settings whose value in `current` differs from the one the daemon started with:
 * they need a restart. Compared with the start, not the previous reload, so the list stays until
 * the restart (or until the operator puts the old value back).
 */
export function restartNeeded(started: Snapshot, current: Snapshot): string[] {
  const out = RESTART_ONLY.filter(([k]) => JSON.stringify(started.global[k]) !== JSON.stringify(current.global[k])).map(([, name]) => name);
  // The announce backend is built once at start; its VIP list, hold_down and unhealthy_after reload.
  const a = started.global.announce;
  const b = current.global.announce;
  if ((a === null) !== (b === null)) out.push('announce');
  else if (a && b) {
    for (const k of ['backend', 'interface', 'socket', 'socketGroup'] as const) if (a[k] !== b[k]) out.push(`announce.${k === 'socketGroup' ? 'socket_group' : k}`);
  }
  return out;
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
