// Check type ping: ICMP echo through the system's `ping` (iputils), one request per check.
// Checker: src/checks/ping.ts.

import { describeCheckType } from './core.js';
import type { CheckCommon } from './core.js';

/** ICMP echo through the system's `ping` (iputils), one request per check. */
export interface PingCheckSpec extends CheckCommon {
  readonly type: 'ping';
}

/** The program a ping check runs (iputils-ping), looked up on PATH like a misc command name. */
export const PING_PROGRAM = 'ping';

export const pingCheck = describeCheckType({
  fields: {},
  portless: true,
  target: (_spec: PingCheckSpec, host: string) => host,
  // `ping` must be installed for the check to run: verified at load like a misc command. ICMP has
  // no port: 0, so one host behind several services and ports is pinged once.
  build: ({ typePos, common, full }) => {
    const spec: PingCheckSpec = { ...common, port: 0, type: 'ping' };
    return { spec, command: full ? { program: PING_PROGRAM, pos: typePos(), what: 'ping' } : null };
  },
});
