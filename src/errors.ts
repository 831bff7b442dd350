// Errors with a stable `code` (used in logs and metric labels) and an optional `cause`.

export type ErrorCode =
  | 'LVSD_CONFIG_INVALID'
  | 'LVSD_CONFIG_READ'
  | 'LVSD_USAGE'
  | 'LVSD_IPVSADM_MISSING'
  | 'LVSD_IPVSADM_FAILED'
  | 'LVSD_IPVSADM_ABORTED'
  | 'LVSD_IPVS_PARSE'
  | 'LVSD_STATE_IO'
  | 'LVSD_DAEMON_UNREACHABLE'
  | 'LVSD_LISTEN_FAILED'
  /** A bug: an exception or rejection nothing handled (logged at fatal, the daemon exits 1). */
  | 'LVSD_INTERNAL'
  /** A stop that did not finish within its budget. */
  | 'LVSD_STOP_TIMEOUT'
  | 'LVSD_CONTROL_FAILED'
  | 'LVSD_CONTROL_DENIED'
  | 'LVSD_CONTROL_UNREACHABLE'
  | 'LVSD_CONTROL_BAD_REQUEST'
  | 'LVSD_ADMIN_UNKNOWN_TARGET'
  /** A route backend (announce) could not apply the announced set, or refused its setup. */
  | 'LVSD_ANNOUNCE_FAILED'
  /** A sync daemon role was asked for, but lvsd.yaml has no usable `sync_daemon`. */
  | 'LVSD_SYNC_NOT_CONFIGURED';

export class LvsdError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LvsdError';
    this.code = code;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
