// `lvsd enable SERVICE [REAL]` / `lvsd enable --real IP[:PORT]`: undo drain and disable.

import { adminSetCommand } from './admin-set.js';

export const enableCommand = adminSetCommand(
  'enable',
  'ready',
  'Remove the operator\'s drain and maintenance entries that the target covers (enable SERVICE also\nclears that service\'s per-real entries; enable --real IP clears that host everywhere). Reals held\nby a maintenance file or an agent reply stay out and are listed on stderr.',
);
