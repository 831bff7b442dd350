// The operations that turn the actual IPVS table into the desired one (pure, deterministic, edit-first).

import type { Family, Persistence } from '../config/model.js';
import type { IpvsOp, IpvsReal, IpvsService, IpvsServiceHead, IpvsTable } from '../ipvs/model.js';

/**
 * Ops in four phases, each sorted by service key then real key:
 *   1. add-service / edit-service  (a service exists before its reals are touched)
 *   2. add-real / edit-real        (capacity goes in before anything leaves, so a batch that swaps
 *                                   reals for sorry servers never leaves a service empty)
 *   3. delete-real
 *   4. delete-service              (one line removes the service with all its reals)
 * Changes go through -E / -e whenever the key is the same, so a VIP never blinks.
 * Services in `actual` that are neither desired nor owned are never touched.
 */
export function diffTables(desired: IpvsTable, actual: IpvsTable, owned: ReadonlySet<string>): IpvsOp[] {
  const services: IpvsOp[] = [];
  const realUpserts: IpvsOp[] = [];
  const realDeletes: IpvsOp[] = [];
  const serviceDeletes: IpvsOp[] = [];

  // Walk in map order and sort only the ops at the end: usually a few ops against thousands of reals.
  for (const want of desired.services.values()) {
    const have = actual.services.get(want.key);
    if (!have) {
      const service = headOf(want, want.extraArgs);
      services.push({ op: 'add-service', service });
      for (const real of want.reals.values()) realUpserts.push({ op: 'add-real', service, real });
      continue;
    }
    // Flags lvsd does not manage (extraArgs) are carried over from the kernel on every edit, except
    // scheduler flags (-b) across a scheduler change: they belong to the old scheduler, and
    // ipvsadm refuses "-s rr -b sh-port" (incompatible scheduler flag) on every retry.
    const extraArgs = want.scheduler === have.scheduler ? have.extraArgs : withoutSchedulerFlags(have.extraArgs);
    let head: IpvsServiceHead | null = null;
    const service = (): IpvsServiceHead => (head ??= headOf(want, extraArgs));
    if (!sameHead(want, have)) services.push({ op: 'edit-service', service: service() });
    for (const [key, w] of want.reals) {
      const h = have.reals.get(key);
      if (!h) {
        realUpserts.push({ op: 'add-real', service: service(), real: w });
      } else if (w.weight !== h.weight || w.forwarding !== h.forwarding) {
        // Thresholds (-x/-y) and tunnel options are not lvsd's: keep what the kernel has (tunnel
        // options only while the real stays tunnelled).
        const { tunnel, ...rest } = h;
        const real: IpvsReal = w.forwarding === 'ipip' && tunnel
          ? { ...rest, weight: w.weight, forwarding: w.forwarding, tunnel }
          : { ...rest, weight: w.weight, forwarding: w.forwarding };
        realUpserts.push({ op: 'edit-real', service: service(), real });
      }
    }
    for (const [key, h] of have.reals) {
      if (!want.reals.has(key)) realDeletes.push({ op: 'delete-real', service: service(), real: h });
    }
  }
  for (const have of actual.services.values()) {
    if (!desired.services.has(have.key) && owned.has(have.key)) {
      serviceDeletes.push({ op: 'delete-service', service: headOf(have, have.extraArgs) });
    }
  }
  return [
    ...services.sort(byKeys),
    ...realUpserts.sort(byKeys),
    ...realDeletes.sort(byKeys),
    ...serviceDeletes.sort(byKeys),
  ];
}

/** extraArgs without "-b FLAGS" (as `-Sn` prints scheduler flags). */
function withoutSchedulerFlags(args: readonly string[]): readonly string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-b' || args[i] === '--sched-flags') i++;
    else out.push(args[i]!);
  }
  return out;
}

function headOf(s: IpvsService, extraArgs: readonly string[]): IpvsServiceHead {
  const { key, family, scheduler, persistence } = s;
  return s.kind === 'address'
    ? { kind: 'address', key, family, protocol: s.protocol, vip: s.vip, scheduler, persistence, extraArgs }
    : { kind: 'fwmark', key, family, fwmark: s.fwmark, scheduler, persistence, extraArgs };
}

function sameHead(a: IpvsService, b: IpvsService): boolean {
  return a.scheduler === b.scheduler && samePersistence(a.persistence, b.persistence, a.family);
}

/** The kernel's default netmask prints as nothing in `ipvsadm -Sn`; compare it as the default. */
function samePersistence(a: Persistence | null, b: Persistence | null, family: Family): boolean {
  if (a === null || b === null) return a === b;
  return a.timeoutS === b.timeoutS && netmaskOf(a, family) === netmaskOf(b, family);
}

function netmaskOf(p: Persistence, family: Family): string {
  if (p.netmask !== '') return p.netmask;
  return family === 6 ? '128' : '255.255.255.255';
}

/** Service key, then real key, in code-unit order (not locale order: the same everywhere). */
function byKeys(a: IpvsOp, b: IpvsOp): number {
  return (
    byCodeUnit(a.service.key, b.service.key) ||
    byCodeUnit('real' in a ? a.real.key : '', 'real' in b ? b.real.key : '')
  );
}

function byCodeUnit(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}
