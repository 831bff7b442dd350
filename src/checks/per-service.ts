// Which check types depend on the service they are listed under: misc hands the service to its
// command, which may answer differently per service, and a dynamic weight belongs to one (service,
// real) pair. The same check of one real under two services is then two probes
// (scheduler/probe-key.ts), not one. Apart from the checker registry (index.ts) so that planning
// probes, which the control thread does, never loads the checkers: they run on the check threads.

import type { CheckType } from '../config/model.js';

const PER_SERVICE: Readonly<Record<CheckType, boolean>> = {
  tcp: false,
  http: false,
  https: false,
  dns: false,
  misc: true,
  udp: false,
  ping: false,
  none: false,
};

/** Does a check of this type depend on the service it is listed under? */
export function probedPerService(type: CheckType): boolean {
  return Object.hasOwn(PER_SERVICE, type) && PER_SERVICE[type];
}
