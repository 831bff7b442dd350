// The resolved, immutable configuration snapshot: what every other part of lvsd reads.
// Produced only by src/config/load.ts; durations are in milliseconds, addresses normalised.

import type { Endpoint, Family, Protocol } from '../model/endpoint.js';
import type { RealKey, ServiceKey } from '../model/keys.js';
import type { CheckSpec } from './check-types/index.js';
import type { SourcePos } from './source-pos.js';

export type { Endpoint, Family, Protocol };
export type { SourcePos };

export type Forwarding = 'gate' | 'masq' | 'ipip';

// The check specs are declared by their types' descriptors (check-types/); re-exported here for the
// code that reads a snapshot.
export type { CheckSpec, CheckType } from './check-types/index.js';
export type { DnsCheckSpec } from './check-types/dns.js';
export type { HttpCheckSpec, HttpUrlSpec } from './check-types/http.js';
export type { MiscCheckSpec } from './check-types/misc.js';
export type { NoneCheckSpec } from './check-types/none.js';
export type { PingCheckSpec } from './check-types/ping.js';
export type { DialogueStep, TcpCheckSpec } from './check-types/tcp.js';
export type { UdpCheckSpec } from './check-types/udp.js';

/** HAProxy's agent-check on a real. */
export interface AgentSpec {
  readonly port: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Sent after connecting (escapes decoded); null = send nothing. */
  readonly send: string | null;
}

export interface RealConfig {
  /** "10.0.0.11:80" or "[2001:db8::11]:80"; unique inside its service; also its kernel key. */
  readonly key: RealKey;
  readonly address: Endpoint;
  readonly weight: number;
  readonly forwarding: Forwarding;
  /** The real's check; with `checks:` the first of them. */
  readonly check: CheckSpec;
  /** Ramp window after the real comes (back) up; 0 = full weight at once. Sorry servers: always 0. */
  readonly slowStartMs: number;
  /** The realserver's own agent (real over service over lvsd.yaml defaults); absent = none, the common case. */
  readonly agent?: AgentSpec;
  /**
   * Every check of a real given `checks:` with two or more distinct entries (check === checks[0]);
   * the real is up when all of them are. Absent for a single check, the common case.
   */
  readonly checks?: readonly CheckSpec[];
  readonly pos: SourcePos;
}

export interface Persistence {
  readonly timeoutS: number;
  /** IPv4 dotted netmask, or for IPv6 services a prefix length as a decimal string ("128"). */
  readonly netmask: string;
}

interface ServiceCommon {
  readonly name: string;
  /**
   * Kernel identity of the service, stable across reloads and renames:
   * "tcp:192.0.2.10:80", "udp:[2001:db8::10]:53", "fwmark:12:v4".
   */
  readonly key: ServiceKey;
  readonly family: Family;
  readonly scheduler: string;
  readonly persistence: Persistence | null;
  readonly quiescent: boolean;
  /** Least sum of the weights of healthy reals for the service to have quorum (keepalived `quorum`). */
  readonly quorum: number;
  /** Quorum is gained at quorum + hysteresis and lost below quorum - hysteresis. */
  readonly hysteresis: number;
  /** Commands run on this service's events (service keys over lvsd.yaml `defaults.notify`). */
  readonly notify: NotifyConfig;
  readonly reals: readonly RealConfig[];
  /** Used only while the service has no quorum (default: no real is healthy). Their checks are not run. */
  readonly sorry: readonly RealConfig[];
  readonly pos: SourcePos;
}

export interface AddressService extends ServiceCommon {
  readonly kind: 'address';
  readonly vip: Endpoint;
  readonly protocol: Protocol;
}

export interface FwmarkService extends ServiceCommon {
  readonly kind: 'fwmark';
  readonly fwmark: number;
}

export type ServiceConfig = AddressService | FwmarkService;

export type NotifyEvent = 'real_up' | 'real_down' | 'quorum_up' | 'quorum_down' | 'sorry_on' | 'sorry_off';

export interface NotifyConfig {
  /** argv per event (no shell); an event without a command runs nothing. */
  readonly commands: Readonly<Partial<Record<NotifyEvent, readonly string[]>>>;
  /** The whole process group is killed after this. */
  readonly timeoutMs: number;
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface GlobalConfig {
  readonly listen: ListenAddress;
  readonly ipvsadm: string;
  readonly resyncIntervalMs: number;
  readonly drainTimeoutMs: number;
  readonly cleanStop: boolean;
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  /** Where lvsd keeps its ownership record (default /var/lib/lvsd). */
  readonly stateDir: string;
  /** Most checks in flight at once across all probes. */
  readonly maxConcurrentChecks: number;
  /** Worker threads that run the checks; null = cores - 1 (at least 1); 0 = the control thread runs them. */
  readonly checkThreads: number | null;
  /** The root-only Unix socket of lvsd drain/disable/enable/admin (absolute path). */
  readonly controlSocket: string;
  /** ldirectord-style maintenance directory (absolute path); null when unset. */
  readonly maintenanceDir: string | null;
  /** gdnsd extfile state file of VIP health (absolute path); null when unset. */
  readonly dnsStateFile: string | null;
  /** Health-driven VIP announce/withdraw (BGP speakers); null when `announce` is absent. */
  readonly announce: AnnounceConfig | null;
  /** lvsd.yaml `sync_daemon`: the kernel's connection sync daemon; null = lvsd leaves it alone. */
  readonly syncDaemon: SyncDaemonConfig | null;
}

export type AnnounceBackend = 'bird' | 'exabgp';

export interface AnnounceVip {
  /** Normalised address (dotted IPv4, compressed lower-case IPv6). */
  readonly vip: string;
  readonly family: Family;
  /** Service names that decide the VIP's health; null: every address service on that VIP. */
  readonly services: readonly string[] | null;
}

export interface AnnounceConfig {
  readonly backend: AnnounceBackend;
  /** A VIP withdrawn (quorum lost, daemon unhealthy) is announced again after being healthy this long. */
  readonly holdDownMs: number;
  /** Failed reconcile passes in a row after which every VIP is withdrawn. */
  readonly unhealthyAfter: number;
  /** bird backend: the dummy interface lvsd owns. */
  readonly interface: string;
  /** exabgp backend: the Unix socket `lvsd exabgp-bridge` connects to (absolute path). */
  readonly socket: string;
  /** exabgp backend: a group that may use the socket too (mode 0660); null: root only (0600). */
  readonly socketGroup: string | null;
  /** The VIPs announced; null: every VIP of every address service (as the config has them now). */
  readonly vips: readonly AnnounceVip[] | null;
}

export type SyncRole = 'master' | 'backup' | 'both' | 'none';

export interface SyncDaemonConfig {
  readonly role: SyncRole;
  /** --mcast-interface; null only with role none. */
  readonly interface: string | null;
  readonly syncid: number;
  /** null: ipvsadm's and the kernel's defaults. */
  readonly maxlen: number | null;
  readonly group: string | null;
  readonly port: number | null;
  readonly ttl: number | null;
  readonly pos: SourcePos;
}

export interface Snapshot {
  readonly global: GlobalConfig;
  readonly services: readonly ServiceConfig[];
  /** Files read to build this snapshot, absolute paths, sorted. */
  readonly files: readonly string[];
  /** Hash of the inputs' content: equal hashes mean an unchanged config (reload is a no-op). */
  readonly hash: string;
}

export const DEFAULT_LISTEN_PORT = 9716;
/** control_socket's default; here rather than in schema.ts so the CLI finds the daemon without loading zod. */
export const DEFAULT_CONTROL_SOCKET = '/run/lvsd/control.sock';
