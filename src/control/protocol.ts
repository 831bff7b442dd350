// The control socket's protocol, shared by the daemon and the CLI: the client writes one JSON object
// on one line, the daemon answers with one JSON object on one line and closes. Documented in README.

import type { AdminState } from './admin-model.js';

export const PROTOCOL_VERSION = 1;
/** Longest request line the daemon reads; a longer one is refused. */
export const MAX_LINE_BYTES = 64 * 1024;

/** Who asks, as the client reports it; the socket's 0600 mode is what restricts it to root. */
export interface ClientInfo {
  readonly uid: number;
  readonly pid: number;
  readonly user?: string;
}

export type ControlRequest =
  | { readonly v: 1; readonly cmd: 'list'; readonly client?: ClientInfo }
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
    };

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
      /** What the request did to the reals (empty: nothing changed, e.g. already drained). */
      readonly changed: readonly ChangeJson[];
      /** Reals the request named that another entry still holds out of ready (after enable). */
      readonly still: readonly AdminRealJson[];
      readonly admin: AdminListing;
    }
  | { readonly ok: false; readonly code: string; readonly error: string };

export function encodeLine(value: ControlRequest | ControlReply): string {
  return `${JSON.stringify(value)}\n`;
}
