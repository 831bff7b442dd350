// zod schemas of the raw files (lvsd.yaml and one conf.d service document), the built-in defaults,
// and the check mapping (common keys, then each check type's fields from check-types/). Cross-field
// rules live in resolve.ts / check-merge.ts.

import { z } from 'zod';
import type { CheckType } from './check-types/index.js';
import { CHECK_FIELDS, CHECK_TYPES, listEntryKeys } from './check-types/index.js';
import { DEFAULT_CONTROL_SOCKET, DEFAULT_LISTEN_PORT } from './model.js';
import { PERSISTENCE_TIMEOUT_MAX_S } from './ipvsadm-ranges.js';
import { durationSchema, lowerEnum, sendSchema } from './schema-values.js';

export { CHECK_TYPES };
export { decodeEscapes, parseStatusList } from './schema-values.js';
export { DNS_QUERY_TYPES, DNS_RCODES } from './check-types/dns.js';
export const PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;
export const FORWARDINGS = ['gate', 'masq', 'ipip'] as const;
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
/** The kernel's IPVS schedulers (ip_vs_*.ko); a closed list so that "wcl" is caught at load, not by ipvsadm. */
export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'] as const;

/** Built-in values, the bottom of the merge order built-in < lvsd.yaml `defaults` < service < real. */
export const BUILTIN = {
  listen: { host: '127.0.0.1', port: DEFAULT_LISTEN_PORT },
  ipvsadm: 'ipvsadm',
  resyncIntervalMs: 30_000,
  drainTimeoutMs: 60_000,
  cleanStop: true,
  logLevel: 'info',
  stateDir: '/var/lib/lvsd',
  controlSocket: DEFAULT_CONTROL_SOCKET,
  maxConcurrentChecks: 256,
  scheduler: 'wlc',
  forwarding: 'gate',
  protocol: 'tcp',
  quiescent: false,
  weight: 1,
  quorum: 1,
  hysteresis: 0,
  slowStartMs: 0,
  notifyTimeoutMs: 10_000,
  agent: { intervalMs: 2000, timeoutMs: 1000 },
  // Each check type's own defaults are in its descriptor (check-types/).
  check: { type: 'tcp' as CheckType, intervalMs: 5000, timeoutMs: 3000, rise: 2, fall: 3 },
} as const;

/** Service names end up in logs, metric labels and URLs: keep them plain. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

// Bounds of the list forms: each entry is a connection or a probe per interval, so a list is a
// load multiplier; these are far above any real setup (keepalived users have a handful).
export const MAX_CHECKS_PER_REAL = 16;

const portSchema = z.int().min(1).max(65535);
const countSchema = z.int().min(1).max(1000);

// --- documents -------------------------------------------------------------------------------

export const checkSchema = z.strictObject({
  type: lowerEnum(CHECK_TYPES).optional(),
  interval: durationSchema().optional(),
  timeout: durationSchema().optional(),
  rise: countSchema.optional(),
  fall: countSchema.optional(),
  port: portSchema.optional(),
  // The type-specific keys: each type's fields (check-types/).
  ...CHECK_FIELDS,
});

const weightSchema = z.int().min(0).max(65535);
/** Several checks of one real, all of which must pass; each entry is merged like `check`. */
const checksSchema = z.array(checkSchema).min(1, 'checks needs at least one check').max(MAX_CHECKS_PER_REAL);

/** Notify commands (keepalived notify_up/notify_down, quorum_up/quorum_down; ldirectord fallbackcommand). */
export const NOTIFY_EVENTS = ['real_up', 'real_down', 'quorum_up', 'quorum_down', 'sorry_on', 'sorry_off'] as const;
const argvSchema = z.array(z.string().min(1)).min(1);
export const notifySchema = z.strictObject({
  real_up: argvSchema.optional(),
  real_down: argvSchema.optional(),
  quorum_up: argvSchema.optional(),
  quorum_down: argvSchema.optional(),
  sorry_on: argvSchema.optional(),
  sorry_off: argvSchema.optional(),
  timeout: durationSchema().optional(),
});

/** HAProxy's agent-check: the realserver's agent on `port` says up/down, ready/drain/maint, N%. */
export const agentSchema = z.strictObject({
  port: z.int().min(1).max(65535).optional(),
  interval: durationSchema().optional(),
  timeout: durationSchema().optional(),
  send: sendSchema.optional(),
});

/** Sums of real weights (keepalived's quorum and hysteresis). */
const quorumSchema = z.int().min(0).max(0xffffffff);

export const realSchema = z.strictObject({
  address: z.string(),
  weight: weightSchema.optional(),
  slow_start: durationSchema({ allowZero: true }).optional(),
  agent: agentSchema.optional(),
  forwarding: lowerEnum(FORWARDINGS).optional(),
  check: checkSchema.optional(),
  checks: checksSchema.optional(),
});

/** Sorry servers are never checked, so they take no `check`. */
export const sorrySchema = z.strictObject({
  address: z.string(),
  weight: weightSchema.optional(),
  forwarding: lowerEnum(FORWARDINGS).optional(),
});

export const persistenceSchema = z.strictObject({
  // The kernel keeps it, not a timer of lvsd: ipvsadm's 31 days, not setTimeout's 24.
  timeout: durationSchema({ max: { ms: PERSISTENCE_TIMEOUT_MAX_S * 1000, text: '31 days, ipvsadm\'s limit' } }),
  // Dotted mask, prefix length as number or string; checked against the service's family in resolve.ts.
  netmask: z.union([z.string(), z.number()]).optional(),
});

export const serviceSchema = z.strictObject({
  name: z.string().regex(NAME_PATTERN, 'a name is 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit').optional(),
  address: z.string().optional(),
  fwmark: z.int().min(1).max(0xffffffff).optional(),
  protocol: lowerEnum(PROTOCOLS).optional(),
  scheduler: lowerEnum(SCHEDULERS).optional(),
  persistence: persistenceSchema.optional(),
  forwarding: lowerEnum(FORWARDINGS).optional(),
  quiescent: z.boolean().optional(),
  quorum: quorumSchema.optional(),
  hysteresis: quorumSchema.optional(),
  slow_start: durationSchema({ allowZero: true }).optional(),
  notify: notifySchema.optional(),
  agent: agentSchema.optional(),
  check: checkSchema.optional(),
  checks: checksSchema.optional(),
  reals: z.array(realSchema),
  sorry: z.array(sorrySchema).optional(),
});

/** What lvsd.yaml `defaults` may hold: service keys that make sense for every service. */
export const defaultsSchema = z.strictObject({
  scheduler: lowerEnum(SCHEDULERS).optional(),
  forwarding: lowerEnum(FORWARDINGS).optional(),
  quiescent: z.boolean().optional(),
  quorum: quorumSchema.optional(),
  hysteresis: quorumSchema.optional(),
  slow_start: durationSchema({ allowZero: true }).optional(),
  notify: notifySchema.optional(),
  agent: agentSchema.optional(),
  check: checkSchema.optional(),
});

/**
 * Interface names the kernel accepts (dev_valid_name) narrowed to the plain ones: 1-15 bytes, and
 * not starting with "-" (ipvsadm and ip read such an argument as an option, not a name).
 */
export const IFNAME_PATTERN = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,14}$/;
export const ANNOUNCE_BACKENDS = ['bird', 'exabgp'] as const;

export const announceVipSchema = z.strictObject({
  address: z.string(),
  services: z.array(z.string()).min(1).optional(),
});

/** lvsd.yaml `announce`: health-driven VIP announce/withdraw (src/announce). VIP/service cross-checks are in announce-resolve.ts. */
export const announceSchema = z.strictObject({
  backend: lowerEnum(ANNOUNCE_BACKENDS),
  hold_down: durationSchema({ allowZero: true }).optional(),
  unhealthy_after: z.int().min(1).max(1000).optional(),
  interface: z
    .string()
    .refine((v) => IFNAME_PATTERN.test(v) && v !== '.' && v !== '..', 'an interface name is 1-15 letters, digits, "_", "." or "-", not starting with "-" (e.g. lvsd0)')
    .optional(),
  socket: z.string().min(1).optional(),
  socket_group: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/, 'a group name (letters, digits, "_", ".", "-"), e.g. exabgp').optional(),
  vips: z.array(announceVipSchema).optional(),
});

/** The roles of lvsd.yaml `sync_daemon`: `both` runs a master and a backup, `none` stops lvsd's. */
export const SYNC_ROLES = ['master', 'backup', 'both', 'none'] as const;

/**
 * lvsd.yaml `sync_daemon`: the kernel's connection sync daemon, with ipvsadm 1.31's ranges (its own
 * checks, captured in test/fixtures/ipvs/daemon/commands.tsv), so a file that passes will start.
 * The interface name and the multicast group are checked in resolve.ts (they need the whole value).
 */
export const syncDaemonSchema = z.strictObject({
  role: lowerEnum(SYNC_ROLES).optional(),
  interface: z.string().optional(),
  syncid: z.int().min(0).max(255).optional(),
  sync_maxlen: z.int().min(1).max(65507).optional(),
  mcast_group: z.string().optional(),
  mcast_port: z.int().min(1).max(65535).optional(),
  mcast_ttl: z.int().min(1).max(255).optional(),
});

export const globalSchema = z.strictObject({
  listen: z.string().optional(),
  ipvsadm: z.string().min(1).optional(),
  resync_interval: durationSchema().optional(),
  drain_timeout: durationSchema({ allowZero: true }).optional(),
  clean_stop: z.boolean().optional(),
  log_level: lowerEnum(LOG_LEVELS).optional(),
  state_dir: z.string().min(1).optional(),
  control_socket: z.string().min(1).optional(),
  maintenance_dir: z.string().min(1).optional(),
  dns_state_file: z.string().min(1).nullable().optional(),
  announce: announceSchema.nullable().optional(),
  max_concurrent_checks: z.int().min(1).max(100_000).optional(),
  // `auto` (the default): the cores minus one, at least 1 (engine/threads.ts).
  check_threads: z.preprocess((v) => (v === 'auto' ? undefined : v), z.int().min(0).max(256).optional()),
  sync_daemon: syncDaemonSchema.nullable().optional(),
  defaults: defaultsSchema.optional(),
});

export type RawCheck = z.output<typeof checkSchema>;
export type RawAgent = z.output<typeof agentSchema>;
export type RawReal = z.output<typeof realSchema>;
export type RawSorry = z.output<typeof sorrySchema>;
export type RawService = z.output<typeof serviceSchema>;
export type RawDefaults = z.output<typeof defaultsSchema>;
export type RawGlobal = z.output<typeof globalSchema>;
export type RawAnnounce = z.output<typeof announceSchema>;
export type RawSyncDaemon = z.output<typeof syncDaemonSchema>;

// The keys each check type takes are in check-types/ (one descriptor per type).

// --- key lists for "unknown key" suggestions -------------------------------------------------

type Shaped = { shape: Record<string, unknown> };
const keysOf = (s: Shaped): readonly string[] => Object.keys(s.shape);

/** The keys allowed in the mapping at `path` of a service document or of lvsd.yaml. */
export function allowedKeysAt(file: 'service' | 'global', path: readonly PropertyKey[]): readonly string[] {
  const p = path.filter((seg) => typeof seg === 'string');
  const last = p[p.length - 1];
  // Inside a check, wherever it sits: the lists a check holds have their own keys.
  const entry = last === undefined ? null : listEntryKeys(last);
  if (entry !== null) return entry;
  if (file === 'global') {
    if (p.length === 0) return keysOf(globalSchema);
    if (p.length === 1 && p[0] === 'defaults') return keysOf(defaultsSchema);
    if (p[0] === 'announce') return p.length === 1 ? keysOf(announceSchema) : last === 'vips' ? keysOf(announceVipSchema) : [];
    if (p.length === 1 && p[0] === 'sync_daemon') return keysOf(syncDaemonSchema);
    if (p[p.length - 1] === 'notify') return keysOf(notifySchema);
    if (p[p.length - 1] === 'agent') return keysOf(agentSchema);
    return keysOf(checkSchema);
  }
  if (last === undefined) return keysOf(serviceSchema);
  if (last === 'check' || last === 'checks') return keysOf(checkSchema);
  if (last === 'reals') return keysOf(realSchema);
  if (last === 'sorry') return keysOf(sorrySchema);
  if (last === 'persistence') return keysOf(persistenceSchema);
  if (last === 'notify') return keysOf(notifySchema);
  if (last === 'agent') return keysOf(agentSchema);
  return [];
}
