// Check type none: the real is always up (static pools, or checks done elsewhere). Checker:
// src/checks/none.ts.

import { describeCheckType, hostPort } from './core.js';
import type { CheckCommon } from './core.js';

export interface NoneCheckSpec extends CheckCommon {
  readonly type: 'none';
}

export const noneCheck = describeCheckType({
  fields: {},
  portless: true,
  target: hostPort,
  build: ({ common }) => {
    const spec: NoneCheckSpec = { ...common, type: 'none' };
    return { spec, command: null };
  },
});
