// The /status JSON document's shape: what `lvsd status`, the status page, scripts and tests read.
// Field names are snake_case as they appear in the JSON; status-document.ts builds it.

import type { AnnounceStatus } from '../announce/announcer.js';
import type { SyncStatusJson } from '../control/protocol.js';
import type { ConfigIssue } from '../config/issues.js';
import type { CheckReasonCode } from '../checks/types.js';
import type { CheckStatus } from './status-checks.js';
import type { TrafficStats } from '../ipvs/model.js';
import type { AdminState } from '../control/admin-model.js';
import type { HealthState } from '../model/health-state.js';

export type OverallState = 'healthy' | 'degraded' | 'unhealthy';
/**
 * How a row is shown: its admin state when not ready (`drain`, `maint`: the operator's say wins the
 * display), else its health, or `draining` (config weight 0, or removed and held at weight 0).
 */
export type RowState = HealthState | 'draining' | 'drain' | 'maint';

export interface Connections {
  readonly active: number;
  readonly inactive: number;
}

export interface RealStatus {
  readonly real: string;
  readonly health: HealthState;
  readonly state: RowState;
  /** The last check's text, e.g. "HTTP GET http://10.0.0.2:80/health: status 503"; null before one. */
  readonly reason: string | null;
  readonly code: CheckReasonCode | null;
  readonly latency_ms: number | null;
  /** Why the health last changed ("3 consecutive failures (fall 3): ..."); null while unknown. */
  readonly transition_reason: string | null;
  readonly last_check_at: string | null;
  /** When `health` last changed (while unknown: since when it is tracked). */
  readonly last_change_at: string | null;
  readonly checks: number;
  readonly consecutive_successes: number;
  readonly consecutive_failures: number;
  readonly forwarding: string;
  /** config = lvsd.yaml/conf.d; dynamic = asked for by a MISC check; kernel = in the IPVS table now. */
  readonly weight: { readonly config: number; readonly dynamic: number | null; readonly kernel: number | null };
  readonly in_kernel: boolean;
  readonly connections: Connections | null;
  readonly traffic: TrafficStats | null;
  /**
   * The realserver's agent (HAProxy agent-check), when it has one: what it says ("up ready 75%"),
   * its last reply as received, and the last probe's error (its last state stays meanwhile).
   */
  readonly agent: { readonly state: string; readonly reply: string | null; readonly error: string | null; readonly last_at: string | null } | null;
  /** The weight ramp after coming up (slow_start), while it runs; null otherwise. */
  readonly slow_start: { readonly since: string; readonly window_ms: number } | null;
  /** Admin state (ready, drain, maint) and the entries that hold it ("maint by maintenance (file ...)"). */
  readonly admin: { readonly state: AdminState; readonly because: readonly string[] };
  /**
   * A real with several checks (`checks:`): each check's type, target and own health, in config
   * order; `health` above is their combination. null for a real with one check.
   */
  readonly per_check: readonly CheckStatus[] | null;
}

export interface SorryStatus {
  readonly real: string;
  readonly in_use: boolean;
  readonly weight: { readonly config: number; readonly kernel: number | null };
}

/** A real in the kernel that is no longer configured: held at weight 0 until idle or drain_timeout. */
export interface DrainingStatus {
  readonly real: string;
  readonly weight_kernel: number;
  readonly connections: Connections | null;
}

export interface ServiceStatus {
  readonly name: string;
  readonly key: string;
  /** "192.0.2.10:80", "[2001:db8::10]:53" or "fwmark 12". */
  readonly address: string;
  readonly protocol: string;
  readonly scheduler: string;
  readonly persistence: { readonly timeout_s: number; readonly netmask: string } | null;
  readonly quiescent: boolean;
  /** "conf.d/web.yaml:3". */
  readonly defined_at: string;
  readonly healthy_reals: number;
  readonly total_reals: number;
  /** Sorry servers in the kernel now; null when the kernel could not be read. */
  readonly sorry_active: boolean | null;
  /**
   * keepalived's quorum: `up` as of the last reconcile pass (null before the first one),
   * `weight_sum` = the weights of the healthy reals it was judged on.
   */
  readonly quorum: {
    readonly up: boolean | null;
    readonly weight_sum: number | null;
    readonly quorum: number;
    readonly hysteresis: number;
  };
  /** The service as the kernel has it; null when the kernel could not be read. */
  readonly kernel: {
    readonly present: boolean;
    readonly scheduler: string | null;
    readonly reals: number;
    readonly traffic: TrafficStats | null;
  } | null;
  readonly reals: readonly RealStatus[];
  readonly sorry: readonly SorryStatus[];
  readonly draining: readonly DrainingStatus[];
}

export interface StatusDocument {
  readonly lvsd: {
    readonly version: string;
    readonly hostname: string;
    readonly pid: number;
    readonly started_at: string;
    readonly dry_run: boolean;
    readonly config_dir: string;
    readonly listen: string;
  };
  readonly generated_at: string;
  readonly healthz: { readonly ok: boolean; readonly problems: readonly string[] };
  /**
   * The verdict of the top badge: `unhealthy` when /healthz fails, `degraded` while a service has
   * lost quorum or serves its sorry servers, or the last reload was rejected; otherwise `healthy`.
   */
  readonly overall: { readonly state: OverallState; readonly reasons: readonly string[] };
  readonly config: {
    readonly files: readonly string[];
    readonly hash: string;
    readonly services: number;
    readonly last_reload: {
      readonly ok: boolean;
      readonly changed: boolean;
      readonly reason: string;
      readonly at: string;
      readonly issues: readonly ConfigIssue[];
    };
    readonly last_success_at: string | null;
    /** lvsd.yaml settings changed since start that take effect only at a restart (YAML names). */
    readonly restart_needed: readonly string[];
  };
  readonly reconcile: {
    readonly started: boolean;
    readonly passes: number;
    readonly failures: number;
    readonly consecutive_failures: number;
    readonly failing_since: string | null;
    readonly last_success_at: string | null;
    readonly last_error: string | null;
    readonly draining: number;
    readonly operations: Readonly<Record<string, number>>;
    readonly last_pass: {
      readonly at: string;
      readonly ok: boolean;
      readonly ops: number;
      readonly duration_ms: number;
      readonly reasons: readonly string[];
      readonly errors: readonly string[];
    } | null;
  };
  readonly checks: {
    readonly probes: number;
    readonly in_flight: number;
    readonly queued: number;
    readonly completed: number;
    readonly overruns: number;
    readonly last_completed_at: string | null;
  };
  readonly kernel: { readonly read_at: string | null; readonly error: string | null };
  /** VIP announce (lvsd.yaml `announce`); null when not configured. */
  readonly announce: AnnounceStatus | null;
  /** Drain and maintenance entries by source; the per-real result is in each real's `admin`. */
  readonly admin: {
    readonly control_socket: string | null;
    readonly control_socket_error: string | null;
    readonly maintenance_dir: string | null;
    readonly entries: readonly { readonly source: string; readonly target: string; readonly state: AdminState; readonly by: string; readonly since: string }[];
  };
  /** The kernel's connection sync daemon (lvsd.yaml sync_daemon); null without a keeper. */
  readonly sync_daemon: SyncStatusJson | null;
  readonly services: readonly ServiceStatus[];
}
