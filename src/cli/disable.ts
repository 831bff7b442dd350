// `lvsd disable SERVICE [REAL]` / `lvsd disable --real IP[:PORT]`: maintenance, like a removal from the config.

import { adminSetCommand } from './admin-set.js';

export const disableCommand = adminSetCommand(
  'disable',
  'maint',
  'put a service, a real or a host (--real, every service) in maintenance',
  'Put reals in admin state "maint": weight 0 at once, then removed from the table when idle or after\ndrain_timeout, exactly like a real removed from the config. `lvsd enable` brings them back\n(health permitting).',
);
