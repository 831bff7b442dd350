// Runs an importer on a snippet of ldirectord.cf / keepalived.conf text and reads values out of the
// result by dotted path, for the table-driven convert tests.

import { convert } from '../../src/convert/index.js';
import type { ConvertResult, Format, OutMap, OutValue } from '../../src/convert/index.js';

export type { OutMap };

export type Ok = Extract<ConvertResult, { ok: true }>;

export async function run(format: Format, text: string, file = `test.${format === 'keepalived' ? 'conf' : 'cf'}`): Promise<ConvertResult> {
  return convert(format, file, text);
}

export async function ok(format: Format, text: string): Promise<Ok> {
  const r = await run(format, text);
  if (!r.ok) throw new Error(`expected a conversion, got errors: ${JSON.stringify(r.errors)}`);
  return r;
}

export function at(value: OutValue | undefined, path: string): OutValue | undefined {
  let v: OutValue | undefined = value;
  for (const seg of path.split('.')) {
    if (v === undefined || typeof v !== 'object') return undefined;
    v = Array.isArray(v) ? v[Number(seg)] : (v as OutMap)[seg];
  }
  return v;
}

export function warnings(r: Ok): string[] {
  return r.diagnostics.filter((d) => d.severity === 'warning').map((d) => `${d.line}: ${d.message}`);
}
