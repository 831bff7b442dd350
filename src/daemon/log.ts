// What the daemon says about itself: the start-up summary, the first-round summary, health
// transitions (down at warn), and an invalid config at start. Field names are the same on every
// line: `service` (its name) and `real` ("ip:port").

import { formatIssue } from '../config/load.js';
import type { ServiceConfig, Snapshot } from '../config/model.js';
import type { HealthEvent } from '../health/tracker.js';
import type { Logger } from '../log.js';

export function countReals(snapshot: Snapshot): number {
  let n = 0;
  for (const s of snapshot.services) n += s.reals.length;
  return n;
}

export interface FirstRound {
  readonly up: number;
  readonly down: number;
  readonly unknown: number;
  readonly total: number;
}

/** Up/down/unknown over every configured (service, real) pair. */
export function firstRoundCounts(snapshot: Snapshot, state: (serviceKey: string, realKey: string) => string | undefined): FirstRound {
  let up = 0;
  let down = 0;
  let unknown = 0;
  for (const s of snapshot.services) {
    for (const r of s.reals) {
      const st = state(s.key, r.key);
      if (st === 'up') up++;
      else if (st === 'down') down++;
      else unknown++;
    }
  }
  return { up, down, unknown, total: up + down + unknown };
}

export function logFirstRound(log: Logger, why: string, c: FirstRound): void {
  const level = c.up === c.total ? 'info' : 'warn';
  log[level](
    { event: 'first_round', why, up: c.up, down: c.down, unknown: c.unknown, reals: c.total },
    `first check round in: ${c.up} of ${c.total} reals up${c.down ? `, ${c.down} down` : ''}${c.unknown ? `, ${c.unknown} without a result yet` : ''}; reconciling the kernel table`,
  );
}

/**
 * One line per transition. Before the first-round summary, first results (from `unknown`) go to
 * debug: at 10,000 reals the summary line says it all. A real going down is a warning.
 */
export function logHealthEvents(log: Logger, events: readonly HealthEvent[], services: ReadonlyMap<string, ServiceConfig>, firstRoundDone: boolean): void {
  for (const e of events) {
    const service = services.get(e.serviceKey)?.name ?? e.serviceKey;
    const level = e.from === 'unknown' && !firstRoundDone ? 'debug' : e.kind === 'state' && e.to === 'down' ? 'warn' : 'info';
    if (!log.isLevelEnabled(level)) continue;
    log[level](
      {
        event: e.kind === 'state' ? 'health_transition' : 'weight_change',
        service,
        real: e.realKey,
        from: e.from,
        to: e.to,
        reason: e.reason,
        code: e.result.code,
        latency_ms: Math.round(e.latencyMs * 10) / 10,
        ...(e.weight === null ? {} : { weight: e.weight }),
      },
      `${service} ${e.realKey}: ${e.from} -> ${e.to}`,
    );
  }
}

/** Log every issue of an invalid config, one line each, for `run` at start. */
export function logIssues(logger: Logger, issues: readonly { file: string; line: number; col: number; message: string }[]): void {
  for (const i of issues) logger.error({ code: 'LVSD_CONFIG_INVALID', file: i.file, line: i.line, col: i.col }, formatIssue(i));
}
