// The "none" check: the real is always considered up (static pools, or checks done elsewhere).

import type { Checker } from './types.js';

export const checkNone: Checker = async () => ({ up: true, code: 'ok', reason: 'no check configured', latencyMs: 0 });
