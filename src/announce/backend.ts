// What the announcer asks of a route backend (bird: addresses on a dummy interface; exabgp: API
// lines to a bridge). Level-triggered: the announcer says which VIPs should be announced now, the
// backend makes it so and retries on its own after a failure.

import type { AnnounceBackend as BackendKind, Family } from '../config/model.js';

/** VIP (normalised address) -> family: the set announced, or the set lvsd knows of. */
export type VipSet = ReadonlyMap<string, Family>;

export interface BackendStatus {
  readonly backend: BackendKind;
  /** The last attempt to apply the announced set worked (and, for exabgp, a bridge is connected). */
  readonly ok: boolean;
  /** The last error, until an apply succeeds. */
  readonly error: string | null;
  /** Backend specifics: interface, socket, bridges connected, acks pending. */
  readonly detail: Readonly<Record<string, unknown>>;
}

/** A failure worth a metric: `kind` is a stable label (command, interface, ack_error, socket). */
export type BackendErrorHook = (kind: string, message: string) => void;

export interface AnnounceBackend {
  readonly kind: BackendKind;
  /**
   * Open the backend. `configured` are the VIPs the config announces: what an earlier lvsd left
   * announced among them is adopted (returned) and stays until the first results decide; anything
   * else it left is withdrawn at once. Throws only for a setup lvsd must not run with.
   */
  start(configured: VipSet): Promise<VipSet>;
  /** Announce exactly `announced`; `known` (announced or not) are the VIPs of the config. */
  set(announced: VipSet, known: VipSet): void;
  /** Resolves once the last set() has been applied or has failed. */
  settled(): Promise<void>;
  /** Stop; `withdraw`: take every route down first (clean stop), else leave them for the next lvsd. */
  close(withdraw: boolean): Promise<void>;
  status(): BackendStatus;
}

/** "192.0.2.10/32", "2001:db8::10/128": the host route of a VIP. */
export function prefixOf(vip: string, family: Family): string {
  return `${vip}/${family === 6 ? 128 : 32}`;
}
