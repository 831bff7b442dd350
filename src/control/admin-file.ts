// The operator's admin entries in `${state_dir}/admin.json`, written atomically like owned.json, so
// a drain or a maintenance survives reloads and restarts. Maintenance files and agent replies are
// not stored here: they are re-read from their own source.

import { isIP } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { epochMs, readJsonStateFile, recordText, writeJsonStateFile } from '../json-state-file.js';
import type { AdminEntry } from './admin-model.js';

export const ADMIN_FILE = 'admin.json';
const FORMAT_VERSION = 1;

// Strict, with ranges: a record is input like any other (a `since` a Date cannot hold once made
// /status answer 500 and `lvsd drain` apply a change it could neither save nor log).
const hostSpec = z
  .strictObject({ host: z.string().max(64), family: z.union([z.literal(4), z.literal(6)]), port: z.int().min(1).max(65535).nullable() })
  .refine((h) => isIP(h.host) === h.family, { message: 'host is not an IP address of that family', path: ['host'] });
const target = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('service'), service: recordText }),
  z.strictObject({ kind: z.literal('real'), service: recordText, real: hostSpec }),
  z.strictObject({ kind: z.literal('host'), real: hostSpec }),
]);
const fileSchema = z.strictObject({
  version: z.literal(FORMAT_VERSION),
  entries: z.array(z.strictObject({ target, state: z.enum(['drain', 'maint']), by: recordText, since: epochMs })).max(1_000_000),
});

export function adminFilePath(stateDir: string): string {
  return join(stateDir, ADMIN_FILE);
}

/** Read the operator's entries; a missing file is none. Throws StateRecordError (LVSD_STATE_IO) otherwise. */
export async function readAdminFile(path: string): Promise<AdminEntry[]> {
  const data = await readJsonStateFile(path, fileSchema, 'admin record');
  if (data === undefined) return [];
  return data.entries.map((e) => ({ ...e, source: 'operator' as const }));
}

export async function writeAdminFile(path: string, entries: readonly AdminEntry[]): Promise<void> {
  const body = {
    version: FORMAT_VERSION,
    entries: entries
      .filter((e) => e.source === 'operator')
      .map(({ target: t, state, by, since }) => ({ target: t, state, by, since })),
  };
  await writeJsonStateFile(path, body, 0o600);
}
