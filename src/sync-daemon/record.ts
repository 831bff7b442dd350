// The sync daemon's record in `${state_dir}/sync-daemon.json`, written atomically: the role set at
// run time (control socket, OCF promote/demote), which must survive reloads and restarts, and the
// daemons lvsd started, the only ones it ever stops.

import { join } from 'node:path';
import { z } from 'zod';
import { epochMs, readJsonStateFile, recordText, writeJsonStateFile } from '../json-state-file.js';
import type { SyncRole } from '../config/model.js';
import type { SyncDaemonState } from './ipvsadm.js';

export const SYNC_DAEMON_FILE = 'sync-daemon.json';
const FORMAT_VERSION = 1;

export interface RuntimeRole {
  readonly role: SyncRole;
  /** Who set it ("socket uid 0 (root, pid 1234)"). */
  readonly by: string;
  /** Date.now() when it was set. */
  readonly since: number;
}

export interface SyncDaemonRecord {
  readonly runtime: RuntimeRole | null;
  /** Daemons lvsd started (or adopted with identical options) and has not stopped since. */
  readonly started: readonly SyncDaemonState[];
}

export const EMPTY_SYNC_RECORD: SyncDaemonRecord = { runtime: null, started: [] };

const fileSchema = z.strictObject({
  version: z.literal(FORMAT_VERSION),
  runtime: z.strictObject({ role: z.enum(['master', 'backup', 'both', 'none']), by: recordText, since: epochMs }).nullable(),
  started: z.array(z.enum(['master', 'backup'])).max(2),
});

export function syncDaemonFilePath(stateDir: string): string {
  return join(stateDir, SYNC_DAEMON_FILE);
}

/** A missing file is the empty record; anything unusable throws StateRecordError (LVSD_STATE_IO). */
export async function readSyncDaemonFile(path: string): Promise<SyncDaemonRecord> {
  const data = await readJsonStateFile(path, fileSchema, 'sync daemon record');
  if (data === undefined) return EMPTY_SYNC_RECORD;
  return { runtime: data.runtime, started: [...new Set(data.started)] };
}

export async function writeSyncDaemonFile(path: string, record: SyncDaemonRecord): Promise<void> {
  await writeJsonStateFile(path, { version: FORMAT_VERSION, runtime: record.runtime, started: record.started }, 0o600);
}
