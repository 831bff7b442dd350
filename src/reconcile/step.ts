// One reconcile step, pure: from the previous decisions (quorum, sorry servers, slow-start ramps,
// drains), the pass's frozen inputs, the kernel table, its counters and the clock to the next
// decisions, the desired table, the operations that reach it and the service events. No I/O, no
// clock of its own: the pass loop reads the kernel, calls this, applies `ops` and commits `state`.

import type { Snapshot } from '../config/model.js';
import type { IpvsOp, IpvsTable, TableCounters } from '../ipvs/model.js';
import type { PairId } from '../model/keys.js';
import { desiredTable, sorryInUse } from './desired.js';
import type { DesiredInputs } from './inputs.js';
import { diffTables } from './diff.js';
import { drainCandidates, updateDrains } from './drain.js';
import type { DrainState, DrainUpdate } from './drain.js';
import { nextQuorumState, serviceEvents } from './quorum.js';
import type { QuorumState, ServiceEvent } from './quorum.js';
import { nextSlowStartState, slowStartView } from './slow-start.js';
import type { SlowStartState } from './slow-start.js';
import type { PassInputs } from './pass-inputs.js';

/** What a committed pass decided, the previous state of the next step. */
export interface StepState {
  readonly quorum: QuorumState;
  /** Services whose sorry servers are in the desired table. */
  readonly sorry: ReadonlySet<string>;
  readonly slowStart: SlowStartState;
  readonly drains: DrainState;
}

export const INITIAL_STEP_STATE: StepState = { quorum: new Map(), sorry: new Set(), slowStart: new Map(), drains: { since: new Map() } };

export interface StepInput {
  readonly snapshot: Snapshot;
  readonly inputs: PassInputs;
  readonly actual: IpvsTable;
  /** Services lvsd manages (recorded ∪ configured): the only ones the diff may touch. */
  readonly owned: ReadonlySet<string>;
  /** drainsToWatch() of these inputs, when the caller has it already (it is one pass over the kernel table). */
  readonly candidates?: ReadonlyMap<string, ReadonlySet<string>>;
  /** Connection counters of the drain candidates (drainsToWatch); null: not read, drains end on timeout. */
  readonly counters: TableCounters | null;
  readonly now: number;
  readonly drainTimeoutMs: number;
}

export interface StepResult {
  readonly state: StepState;
  readonly drains: DrainUpdate;
  /** The inputs desired() read, for a verify diff against a re-read kernel. */
  readonly desiredInputs: DesiredInputs;
  readonly desired: IpvsTable;
  readonly ops: IpvsOp[];
  readonly events: readonly ServiceEvent[];
  /** Pairs whose slow-start ramp begins in this step. */
  readonly rampsStarted: readonly PairId[];
}

/** The drain candidates of a step: the pass loop reads counters only when there are some. */
export function drainsToWatch(snapshot: Snapshot, actual: IpvsTable, owned: ReadonlySet<string>, inputs: PassInputs): Map<string, Set<string>> {
  // Without a real in maint, asking the admin view of every real in the kernel would change nothing.
  return drainCandidates(snapshot, actual, owned, inputs.maint === false ? undefined : inputs.admin);
}

export function step(prev: StepState, input: StepInput): StepResult {
  const { snapshot, inputs, actual, owned, now } = input;
  const candidates = input.candidates ?? drainsToWatch(snapshot, actual, owned, inputs);
  const drains = updateDrains(prev.drains, candidates, input.counters, now, input.drainTimeoutMs);
  // A real the operator took out (drain, maint) is no part of the quorum and does not ramp while
  // out; once enabled it comes back from weight 0 or absent, so its slow start begins then.
  const usable = { health: inputs.usable };
  const quorum = nextQuorumState(snapshot, usable, prev.quorum);
  const slowStart = nextSlowStartState(snapshot, usable, actual, prev.slowStart, now);
  const desiredInputs: DesiredInputs = {
    health: inputs.health,
    ...(inputs.admin ? { admin: inputs.admin } : {}),
    quorum: (key) => quorum.get(key)?.up,
    slowStart: slowStartView(slowStart),
    now,
  };
  const desired = desiredTable(snapshot, desiredInputs, drains.draining, actual);
  const sorry = new Set<string>();
  for (const service of snapshot.services) {
    if (sorryInUse(service, desired.services.get(service.key))) sorry.add(service.key);
  }
  const rampsStarted: PairId[] = [];
  for (const id of slowStart.keys()) if (!prev.slowStart.has(id)) rampsStarted.push(id);
  return {
    state: { quorum, sorry, slowStart, drains: drains.state },
    drains,
    desiredInputs,
    desired,
    ops: diffTables(desired, actual, owned),
    events: serviceEvents(prev.quorum, quorum, prev.sorry, sorry),
    rampsStarted,
  };
}
