// The per-check part of /status for a real with several checks (`checks:`): each check's type,
// target and own health, beside the combined health the real's row shows. Pure, like the document.

import type { CheckReasonCode } from '../checks/types.js';
import { checkTargetText } from '../config/check-types/index.js';
import { formatHost } from '../config/endpoint.js';
import type { CheckSpec, RealConfig, ServiceConfig } from '../config/model.js';
import type { CheckHealth } from '../health/tracker.js';
import type { HealthState } from '../model/health-state.js';
import { probeKey } from '../scheduler/probe-key.js';

export interface CheckStatus {
  /** 1-based place among the real's distinct checks (a check listed twice is one check). */
  readonly index: number;
  readonly type: string;
  /** What it looks at: "127.0.0.1:8080", "http://127.0.0.1:8080/health", "HOST:53 udp A example.org". */
  readonly target: string;
  readonly health: HealthState;
  readonly rise: number;
  readonly fall: number;
  readonly consecutive_successes: number;
  readonly consecutive_failures: number;
  /** Results seen by this check. */
  readonly checks: number;
  readonly reason: string | null;
  readonly code: CheckReasonCode | null;
  readonly latency_ms: number | null;
  readonly last_check_at: string | null;
  readonly last_change_at: string | null;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The spec of each of the real's checks by probe key (the tracker names its checks by that key). */
function specsByKey(service: ServiceConfig, real: RealConfig): Map<string, CheckSpec> {
  const out = new Map<string, CheckSpec>();
  for (const spec of real.checks ?? [real.check]) {
    const key = probeKey(real, service, spec);
    if (!out.has(key)) out.set(key, spec);
  }
  return out;
}

/** One entry per check of a real with several; null for a real with one (its row says it all). */
export function checkStatuses(service: ServiceConfig, real: RealConfig, parts: readonly CheckHealth[] | null): CheckStatus[] | null {
  if (parts === null) return null;
  const specs = specsByKey(service, real);
  const host = formatHost(real.address);
  return parts.map((p, i): CheckStatus => {
    const spec = specs.get(p.probeKey);
    const h = p.health;
    const last = h.lastResult;
    return {
      index: i + 1,
      type: p.type,
      // The tracker follows the snapshot it was given; a spec not in this one (a reload between
      // the two reads) is shown by its host alone rather than guessed.
      target: spec === undefined ? host : checkTargetText(spec, host),
      health: h.state,
      rise: p.thresholds.rise,
      fall: p.thresholds.fall,
      consecutive_successes: h.successes,
      consecutive_failures: h.failures,
      checks: h.checks,
      reason: last?.reason ?? null,
      code: last?.code ?? null,
      latency_ms: last ? Math.round(last.latencyMs * 10) / 10 : null,
      last_check_at: iso(h.lastCheckAt),
      last_change_at: iso(h.since),
    };
  });
}
