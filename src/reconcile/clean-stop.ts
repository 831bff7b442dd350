// The clean stop: delete every owned service still in the kernel, one delete-service line each in
// one ipvsadm -R (never -C: services lvsd does not own stay), then read the kernel again only if
// ipvsadm reported an error, and forget what went from the ownership record.

import type { Snapshot } from '../config/model.js';
import { formatOp } from '../ipvs/format.js';
import type { IpvsOp, IpvsRunner } from '../ipvs/model.js';
import type { Logger } from '../log.js';
import type { KernelTableCache } from './kernel-cache.js';
import type { StopResult } from './pass-report.js';

export interface CleanStopParts {
  readonly kernel: KernelTableCache;
  readonly runner: IpvsRunner;
  readonly logger: Logger;
  /** The snapshot in force (its services are owned even before the first save). */
  readonly snapshot: Snapshot | null;
  /** Before the ipvsadm -R runs (the exec count). */
  readonly applying: () => void;
  /** ipvsadm -R ran these ops (the op counts). */
  readonly applied: (ops: readonly IpvsOp[]) => void;
}

/** Runner errors propagate (an OCF stop must fail then); `signal` ends every ipvsadm run. */
export async function cleanStop(p: CleanStopParts, signal: AbortSignal): Promise<StopResult> {
  const { kernel, runner, logger } = p;
  const owned = kernel.owned(p.snapshot);
  const actual = await kernel.read(signal);
  const targets = [...actual.services.values()]
    .filter((s) => owned.has(s.key))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (targets.length === 0) return { removed: [], left: [] };
  const ops: IpvsOp[] = targets.map((s) => {
    const { reals: _reals, ...service } = s;
    return { op: 'delete-service', service };
  });
  const lines = ops.map(formatOp);
  logger.info({ services: targets.length, lines }, 'clean stop: removing managed services');
  p.applying();
  const { errors } = await runner.apply(lines, { signal });
  p.applied(ops);
  // Every line took effect unless ipvsadm said otherwise; only then is the kernel read again.
  const after = errors.length === 0 ? null : await kernel.read(signal);
  const left = after ? targets.filter((s) => after.services.has(s.key)).map((s) => s.key) : [];
  const removed: string[] = targets.filter((s) => !left.includes(s.key)).map((s) => s.key);
  if (left.length > 0) logger.error({ left, errors }, 'clean stop: services still in the kernel');
  await kernel.forget(removed);
  return { removed, left };
}
