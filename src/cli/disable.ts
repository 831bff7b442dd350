// `lvsd disable SERVICE [REAL]` / `lvsd disable --real IP[:PORT]`: maintenance, like a removal from the config.

import { adminSetCommand } from './admin-set.js';

export const disableCommand = adminSetCommand(
  'disable',
  'maint',
  'Put reals in admin state "maint": weight 0 at once, then removed from the table when idle or after\ndrain_timeout, exactly like a real removed from the config. `lvsd enable` brings them back\n(health permitting).',
);
