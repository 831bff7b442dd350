// The operator's admin entries in `${state_dir}/admin.json`, written atomically like owned.json, so
// a drain or a maintenance survives reloads and restarts. Maintenance files and agent replies are
// not stored here: they are re-read from their own source.

import { join } from 'node:path';
import { z } from 'zod';
import { LvsdError } from '../errors.js';
import { readJsonStateFile, writeJsonStateFile } from '../json-state-file.js';
import type { AdminEntry } from './admin-model.js';

export const ADMIN_FILE = 'admin.json';
const FORMAT_VERSION = 1;

const hostSpec = z.strictObject({ host: z.string(), family: z.union([z.literal(4), z.literal(6)]), port: z.int().min(1).max(65535).nullable() });
const target = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('service'), service: z.string() }),
  z.strictObject({ kind: z.literal('real'), service: z.string(), real: hostSpec }),
  z.strictObject({ kind: z.literal('host'), real: hostSpec }),
]);
const fileSchema = z.strictObject({
  version: z.literal(FORMAT_VERSION),
  entries: z.array(
    z.strictObject({ target, state: z.enum(['drain', 'maint']), by: z.string(), since: z.number() }),
  ),
});

export function adminFilePath(stateDir: string): string {
  return join(stateDir, ADMIN_FILE);
}

/** Read the operator's entries; a missing file is none. Throws LvsdError LVSD_STATE_IO otherwise. */
export async function readAdminFile(path: string): Promise<AdminEntry[]> {
  const data = await readJsonStateFile(path);
  if (data === undefined) return [];
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) {
    throw new LvsdError('LVSD_STATE_IO', `${path} is not an lvsd admin record: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  return parsed.data.entries.map((e) => ({ ...e, source: 'operator' as const }));
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
