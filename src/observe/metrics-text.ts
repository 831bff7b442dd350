// Per-real metric families written straight to exposition text. At 10,000 reals these families are
// ~100,000 samples per scrape; through prom-client each one is a label object, a sorted-key hash and
// a formatted label string (most of a 0.3-1 s scrape). Here a sample is one template string: the
// label values are service names (letters, digits, ".", "_", "-") and real keys (IP:PORT), escaped
// only if they ever hold a character the format reserves.

export type FamilyType = 'gauge' | 'counter';

/** One family: HELP/TYPE and its samples, produced at scrape time. */
export interface TextFamily {
  readonly name: string;
  readonly help: string;
  readonly type: FamilyType;
  /** Push sample lines (without the trailing newline) for this scrape. */
  lines(push: (line: string) => void): void | Promise<void>;
}

const RESERVED = /[\\"\n]/;

/** A label value as the text format wants it. */
export function labelValue(v: string): string {
  return RESERVED.test(v) ? v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : v;
}

/** A sample value as prom-client writes it. */
export function sampleValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** The exposition text of one family, ending with a newline (HELP and TYPE even without samples, as prom-client). */
export async function renderFamily(f: TextFamily): Promise<string> {
  const out: string[] = [];
  await f.lines((line) => out.push(line));
  const head = `# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${f.name} ${f.type}\n`;
  return out.length === 0 ? head : `${head}${out.join('\n')}\n`;
}
