// ipvsadm's accepted ranges for values lvsd hands it (ipvsadm.c, parse_options): shared by the
// ipvsadm model (ipvs/args.ts) and the config validation, so a config that loads is one ipvsadm takes.

/** `-M` on an IPv6 service: a prefix length; ipvsadm refuses 0 ("illegal ipv6 netmask specified"). */
export const IPV6_NETMASK_MIN = 1;
export const IPV6_NETMASK_MAX = 128;

/** `-p`: persistence timeout in seconds, 1 s to 31 days. */
export const PERSISTENCE_TIMEOUT_MIN_S = 1;
export const PERSISTENCE_TIMEOUT_MAX_S = 86400 * 31;
