// `lvsd drain SERVICE [REAL]`: weight 0, kept in the table until enabled (persistent clients finish).

import { adminSetCommand } from './admin-set.js';

export const drainCommand = adminSetCommand(
  'drain',
  'drain',
  'Put reals in admin state "drain": kernel weight 0, so they take no new connections, but they stay\nin the table (existing and persistent clients finish) until `lvsd enable`.',
);
