// Which lvsd config features this build understands, read from the schema itself, so a conversion
// never emits a key that check-config would reject and uses each exact feature as soon as it exists.

import { CHECK_TYPES, checkSchema, globalSchema, realSchema, serviceSchema } from '../config/schema.js';

export interface Capabilities {
  /** HTTP `expect_digest` (keepalived genhash MD5 of the body). */
  readonly digest: boolean;
  /** HTTP `urls: [{ path, expect_status, expect_body, expect_digest }]`. */
  readonly urls: boolean;
  /** TCP `dialogue: [{ send, expect }]`. */
  readonly dialogue: boolean;
  readonly udp: boolean;
  readonly ping: boolean;
  /** `checks: [...]` on services and reals, all of which must pass. */
  readonly checks: boolean;
  readonly quorum: boolean;
  readonly hysteresis: boolean;
  /** Service `notify: { real_up, real_down, quorum_up, quorum_down, sorry_on, sorry_off }`. */
  readonly notify: readonly string[];
  readonly maintenanceDir: boolean;
}

function keysOf(schema: unknown): string[] {
  const shape = (schema as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape) : [];
}

/** The `notify` events the schema accepts (empty when there is no `notify`). */
function notifyEvents(): string[] {
  const notify = (serviceSchema.shape as Record<string, unknown>).notify;
  if (!notify) return [];
  // Unwrap optional()/nullable() to the object schema.
  let s: unknown = notify;
  for (let i = 0; i < 4 && s && keysOf(s).length === 0; i++) {
    const def = (s as { def?: { innerType?: unknown } }).def;
    s = def?.innerType;
  }
  return keysOf(s);
}

export function detectCapabilities(): Capabilities {
  const check = keysOf(checkSchema);
  const service = keysOf(serviceSchema);
  const real = keysOf(realSchema);
  const types = CHECK_TYPES as readonly string[];
  return {
    digest: check.includes('expect_digest'),
    urls: check.includes('urls'),
    dialogue: check.includes('dialogue'),
    udp: types.includes('udp'),
    ping: types.includes('ping'),
    checks: service.includes('checks') && real.includes('checks'),
    quorum: service.includes('quorum'),
    hysteresis: service.includes('hysteresis'),
    notify: notifyEvents(),
    maintenanceDir: keysOf(globalSchema).includes('maintenance_dir'),
  };
}
