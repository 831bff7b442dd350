// One check round for the report commands (probe, plan): every probe once, results per (service, real).

import type { Snapshot } from '../config/model.js';
import type { CheckResult } from '../checks/types.js';
import { runCheck } from '../checks/index.js';
import { LoopLagMonitor } from '../scheduler/loop-lag.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { buildProbePlan } from '../scheduler/probe-key.js';

export interface RealReport {
  readonly service: string;
  readonly serviceKey: string;
  readonly real: string;
  readonly probeKey: string;
  readonly result: CheckResult;
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
  const byMember = new Map<string, { probeKey: string; result: CheckResult }>();
  for (const [probeKey, entry] of plan) {
    const result = results.get(probeKey);
    if (!result) continue;
    for (const m of entry.members) byMember.set(`${m.serviceKey}\n${m.realKey}`, { probeKey, result });
  }
  const out: RealReport[] = [];
  for (const service of snapshot.services) {
    for (const real of service.reals) {
      const hit = byMember.get(`${service.key}\n${real.key}`);
      if (hit) out.push({ service: service.name, serviceKey: service.key, real: real.key, ...hit });
    }
  }
  return out;
}
