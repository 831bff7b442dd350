// One check round for the report commands (probe, plan): every probe once, results per (service, real).

import type { Snapshot } from '../config/model.js';
import type { CheckResult } from '../checks/types.js';
import { runCheck } from '../checks/index.js';
import { LoopLagMonitor } from '../loop-lag.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { buildProbePlan } from '../scheduler/probe-key.js';
import { combineResults } from '../health/state-machine.js';
import { pairId } from '../model/keys.js';
import type { PairId } from '../model/keys.js';

/** One check of a real with several (`checks:`). */
export interface PartReport {
  readonly probeKey: string;
  readonly type: string;
  readonly result: CheckResult;
}

export interface RealReport {
  readonly service: string;
  readonly serviceKey: string;
  readonly real: string;
  readonly probeKey: string;
  /** For a real with several checks: all of them pass, combined (the first failing one speaks). */
  readonly result: CheckResult;
  /** Each check of a real with several, in config order; absent for a real with one check. */
  readonly parts?: readonly PartReport[];
}

/** Runs each distinct probe once (a real shared by services is probed once), in config order. */
export async function probeAll(snapshot: Snapshot): Promise<RealReport[]> {
  const plan = buildProbePlan(snapshot);
  // With the lag monitor a one-shot round on a loaded box re-runs timeouts lvsd itself caused.
  const lag = new LoopLagMonitor();
  lag.start();
  const scheduler = new Scheduler({ check: runCheck, maxConcurrent: snapshot.global.maxConcurrentChecks, onResult: () => {}, lag });
  let results: Map<string, CheckResult>;
  try {
    results = await scheduler.runOnce(plan);
  } finally {
    await scheduler.stop();
    lag.stop();
  }
  const byMember = new Map<PairId, { probeKey: string; result: CheckResult }>();
  const partsOf = new Map<PairId, PartReport[]>();
  for (const [probeKey, entry] of plan) {
    const result = results.get(probeKey);
    if (!result) continue;
    for (const m of entry.members) {
      const pair = pairId(m.serviceKey, m.realKey);
      if (m.part === undefined) {
        byMember.set(pair, { probeKey, result });
        continue;
      }
      let parts = partsOf.get(pair);
      if (!parts) partsOf.set(pair, (parts = new Array<PartReport>(m.part.of)));
      parts[m.part.index] = { probeKey, type: entry.target.spec.type, result };
    }
  }
  const out: RealReport[] = [];
  for (const service of snapshot.services) {
    for (const real of service.reals) {
      const pair = pairId(service.key, real.key);
      const parts = partsOf.get(pair);
      if (parts !== undefined && parts.every((p) => p !== undefined)) {
        const result = combineResults(parts.map((p) => p.result));
        out.push({ service: service.name, serviceKey: service.key, real: real.key, probeKey: parts[0]!.probeKey, result, parts });
        continue;
      }
      const hit = byMember.get(pair);
      if (hit) out.push({ service: service.name, serviceKey: service.key, real: real.key, ...hit });
    }
  }
  return out;
}
