// The control socket's protocol, shared by the daemon and the CLI: the client writes one JSON object
// on one line, the daemon answers with one JSON object on one line and closes. Documented in README.

import type { AdminState } from './admin-model.js';
import type { SyncRole } from '../config/model.js';
import type { KernelSyncDaemon, SyncDaemonState } from '../sync-daemon/ipvsadm.js';

/** Longest request line the daemon reads; a longer one is refused. */
export const MAX_LINE_BYTES = 64 * 1024;

/** Who asks, as the client reports it; the socket's 0600 mode is what restricts it to root. */
export interface ClientInfo {
  readonly uid: number;
  readonly pid: number;
  readonly user?: string;
}

export type ControlRequest =
  | {
      readonly v: 1;
      readonly cmd: 'list';
      /** The page from this item on (entries, reals and unmatched alike); default 0. */
      readonly offset?: number;
      readonly client?: ClientInfo;
    }
  | {
      readonly v: 1;
      readonly cmd: 'set';
      /** ready = enable (removes the operator's entries that the target covers). */
      readonly state: AdminState;
      /** A service name, optionally with `real` ("IP" or "IP:PORT") inside it. */
      readonly service?: string;
      readonly real?: string;
      /** Instead of `service`: "IP" or "IP:PORT" in every service (host-wide). */
      readonly host?: string;
      readonly client?: ClientInfo;
    }
  | {
      readonly v: 1;
      readonly cmd: 'sync-role';
      /** Set the run-time role; "config" clears it (back to lvsd.yaml); absent: only ask. */
      readonly role?: SyncRole | 'config';
      readonly client?: ClientInfo;
    };

/** The requests about admin state (list, set); `sync-role` goes to the sync daemon keeper. */
export type AdminRequest = Exclude<ControlRequest, { readonly cmd: 'sync-role' }>;

export interface AdminEntryJson {
  readonly source: string;
  /** "service web", "web 10.0.0.11:80", "host 10.0.0.11". */
  readonly target: string;
  readonly state: AdminState;
  readonly by: string;
  readonly since: string;
}

export interface AdminRealJson {
  readonly service: string;
  readonly real: string;
  readonly state: AdminState;
  /** The entries that put it in that state: "maint by operator (socket uid 0)". */
  readonly because: readonly string[];
}

export interface AdminListing {
  readonly entries: readonly AdminEntryJson[];
  /** Every configured real that is not ready. */
  readonly reals: readonly AdminRealJson[];
  /** Entries that match no configured real (a maintenance file for a host lvsd does not serve...). */
  readonly unmatched: readonly string[];
  /** The page: each list above holds at most 1,000 items from this offset (`lvsd admin` asks for every page). */
  readonly offset: number;
  /** How many there are in all; a list is complete when offset + its length reaches its total. */
  readonly total: { readonly entries: number; readonly reals: number; readonly unmatched: number };
}

export interface ChangeJson {
  readonly service: string;
  readonly real: string;
  readonly from: AdminState;
  readonly to: AdminState;
}

export type ControlReply =
  | {
      readonly ok: true;
      /** What the request did to the reals (empty: nothing changed, e.g. already drained); the first 1,000. */
      readonly changed: readonly ChangeJson[];
      /** How many reals it changed in all (more than `changed` holds past 1,000). */
      readonly changed_total: number;
      /** Reals the request named that another entry still holds out of ready (after enable); the first 1,000. */
      readonly still: readonly AdminRealJson[];
      readonly still_total: number;
      readonly admin: AdminListing;
    }
  | { readonly ok: false; readonly code: string; readonly error: string };

/** One kernel daemon as status shows it. */
export interface SyncDaemonJson extends KernelSyncDaemon {
  /** lvsd started it (or adopted it with identical options): lvsd repairs and stops only these. */
  readonly owned: boolean;
}

/** The sync daemon part of /status, `lvsd status` and the control socket's `sync-role` reply. */
export interface SyncStatusJson {
  /** lvsd.yaml has `sync_daemon`. */
  readonly configured: boolean;
  /** The role in force: the run-time role when one is set, else the file's; null when not configured. */
  readonly role: SyncRole | null;
  /** What set `role`: "runtime" (control socket, OCF promote/demote) or "config" (lvsd.yaml). */
  readonly source: 'runtime' | 'config' | null;
  readonly config_role: SyncRole | null;
  readonly runtime: { readonly role: SyncRole; readonly by: string; readonly since: string } | null;
  /** Kernel daemons lvsd wants running now. */
  readonly wanted: readonly SyncDaemonState[];
  /** As last read (`ipvsadm -L --daemon`) plus what lvsd started or stopped since. */
  readonly kernel: readonly SyncDaemonJson[];
  /** Daemons lvsd leaves alone although they differ from what it wants (it did not start them). */
  readonly conflicts: readonly string[];
  readonly last_read_at: string | null;
  readonly last_error: string | null;
  /** The keeper runs (it starts with the first reconcile pass). */
  readonly started: boolean;
}

/** The reply to `sync-role`. */
export type SyncRoleReply = { readonly ok: true; readonly sync: SyncStatusJson } | { readonly ok: false; readonly code: string; readonly error: string };

export function encodeLine(value: ControlRequest | ControlReply | SyncRoleReply): string {
  return `${JSON.stringify(value)}\n`;
}
