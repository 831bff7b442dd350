// The IPVS table model shared by the parser, the desired-table builder, the diff and the runner.
// Keys use the same text as the config snapshot, so desired and actual entries meet by key.

import type { Endpoint, Family, Forwarding, Persistence, Protocol } from '../config/model.js';
import type { RealKey, ServiceKey } from '../model/keys.js';

export interface IpvsReal {
  /** "10.0.0.11:80", "[2001:db8::11]:80"; port 0 prints without a port ("10.0.0.11"). */
  readonly key: RealKey;
  readonly address: Endpoint;
  readonly forwarding: Forwarding;
  readonly weight: number;
  /** Connection thresholds (-x/-y); 0 = none. Kept so an edit never clears what someone set. */
  readonly upperThreshold: number;
  readonly lowerThreshold: number;
  /** Tunnel options of an ipip real other than plain IPIP (GUE, GRE), as `-Sn` prints them
   *  (["--tun-type", "gue", "--tun-port", "6080", "--tun-nocsum"]). lvsd does not configure
   *  them but keeps them on every edit (an edit that left them out would make the real plain IPIP). */
  readonly tunnel?: readonly string[];
}

interface IpvsServiceCommon {
  /** "tcp:192.0.2.10:80", "udp:[2001:db8::10]:53", "fwmark:12:v4" (same as ServiceConfig.key). */
  readonly key: ServiceKey;
  readonly family: Family;
  readonly scheduler: string;
  readonly persistence: Persistence | null;
  /** Flags lvsd does not manage but must preserve as read (e.g. "-b sh-port", "-M 255.255.255.0"
   *  is persistence and not here). Empty for services lvsd creates. */
  readonly extraArgs: readonly string[];
  /** Reals by key, in kernel order. */
  readonly reals: ReadonlyMap<string, IpvsReal>;
}

export interface IpvsAddressService extends IpvsServiceCommon {
  readonly kind: 'address';
  readonly protocol: Protocol;
  readonly vip: Endpoint;
}

export interface IpvsFwmarkService extends IpvsServiceCommon {
  readonly kind: 'fwmark';
  readonly fwmark: number;
}

export type IpvsService = IpvsAddressService | IpvsFwmarkService;

/** A whole table (or the part of it lvsd looks at), services by key, in kernel order. */
export interface IpvsTable {
  readonly services: ReadonlyMap<string, IpvsService>;
}

/** Per-real connection counters, from `ipvsadm -Ln --exact` / `--stats`. */
export interface RealCounters {
  readonly activeConns: number;
  readonly inactiveConns: number;
  readonly persistentConns: number;
}

/** Service key -> real key -> counters. */
export type TableCounters = ReadonlyMap<string, ReadonlyMap<string, RealCounters>>;

/** Traffic totals since the entry was created in the kernel (they restart when it is re-created). */
export interface TrafficStats {
  readonly connections: number;
  readonly inPackets: number;
  readonly outPackets: number;
  readonly inBytes: number;
  readonly outBytes: number;
}

export interface ServiceStats {
  readonly total: TrafficStats;
  /** Real key ("10.0.0.11:80") -> its share. */
  readonly reals: ReadonlyMap<string, TrafficStats>;
}

/** Service key -> traffic stats, from `ipvsadm -Ln --exact --stats`. */
export type TableStats = ReadonlyMap<string, ServiceStats>;

/** A service as an ipvsadm line needs it, without its reals. */
export type IpvsServiceHead = Omit<IpvsAddressService, 'reals'> | Omit<IpvsFwmarkService, 'reals'>;

/**
 * One change to the kernel table; each maps to exactly one `ipvsadm -R` line.
 * Order matters: a service is added before its reals and deleted after them.
 */
export type IpvsOp =
  | { readonly op: 'add-service'; readonly service: IpvsServiceHead }
  | { readonly op: 'edit-service'; readonly service: IpvsServiceHead }
  | { readonly op: 'delete-service'; readonly service: IpvsServiceHead }
  | { readonly op: 'add-real'; readonly service: IpvsServiceHead; readonly real: IpvsReal }
  | { readonly op: 'edit-real'; readonly service: IpvsServiceHead; readonly real: IpvsReal }
  | { readonly op: 'delete-real'; readonly service: IpvsServiceHead; readonly real: IpvsReal };

/** Per-exec options: an abort kills the ipvsadm process group and rejects LVSD_IPVSADM_ABORTED. */
export interface ExecOptions {
  readonly signal?: AbortSignal;
}

/** The one way lvsd talks to IPVS (src/ipvs/runner.ts runs ipvsadm; dry-run and tests swap it).
 *  Every call is bounded: a deadline that scales with the table (or the lines applied), and the
 *  caller's AbortSignal. */
export interface IpvsRunner {
  /** The whole current table (`ipvsadm -Sn`). */
  read(options?: ExecOptions): Promise<IpvsTable>;
  /** Connection counters of every real (`ipvsadm -Ln --exact`). */
  counters(options?: ExecOptions): Promise<TableCounters>;
  /** Traffic totals of every service and real (`ipvsadm -Ln --exact --stats`), for metrics. */
  stats(options?: ExecOptions): Promise<TableStats>;
  /** Apply lines in one `ipvsadm -R` process. ipvsadm goes on after a failing line, so `errors`
   *  holds what ipvsadm printed (or its failing status): empty means every line took effect. */
  apply(lines: readonly string[], options?: ExecOptions): Promise<{ readonly errors: readonly string[] }>;
}
