// `lvsd admin [--json]`: the daemon's admin state: every entry with its source, and the reals not ready.

import { EXIT_OK, COMMON_HELP, parseCommand } from './args.js';
import { SOCKET_HELP, sendControl, socketPath } from './control-client.js';
import { expectOk } from './admin-set.js';
import type { AdminListing } from '../control/protocol.js';
import type { Command } from './command.js';

function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => `  ${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}`.trimEnd());
}

export function renderAdminText(a: AdminListing): string {
  if (a.entries.length === 0) return 'every real is ready (no drain or maintenance entries)\n';
  const lines = ['entries:', ...table([['SOURCE', 'STATE', 'TARGET', 'SINCE', 'BY'], ...a.entries.map((e) => [e.source, e.state, e.target, e.since, e.by])])];
  lines.push('', a.reals.length ? 'reals not ready:' : 'no configured real is affected');
  if (a.reals.length) lines.push(...table([['SERVICE', 'REAL', 'STATE', 'BECAUSE'], ...a.reals.map((r) => [r.service, r.real, r.state, r.because.join('; ')])]));
  if (a.unmatched.length) lines.push('', 'entries that match no configured real:', ...a.unmatched.map((u) => `  ${u}`));
  return `${lines.join('\n').replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, ' ')}\n`;
}

/** Every page of the daemon's listing (1,000 items a page), joined into one. */
export async function fetchListing(path: string): Promise<AdminListing> {
  let offset = 0;
  const entries: AdminListing['entries'][number][] = [];
  const reals: AdminListing['reals'][number][] = [];
  const unmatched: string[] = [];
  for (;;) {
    const page = expectOk(await sendControl(path, { v: 1, cmd: 'list', offset })).admin;
    entries.push(...page.entries);
    reals.push(...page.reals);
    unmatched.push(...page.unmatched);
    const size = Math.max(page.entries.length, page.reals.length, page.unmatched.length);
    offset += size;
    // A daemon without pages (no total) sent everything; an empty page ends it too (the listing
    // may shrink between pages).
    if (!page.total || size === 0 || offset >= Math.max(page.total.entries, page.total.reals, page.total.unmatched)) {
      return { entries, reals, unmatched, offset: 0, total: { entries: entries.length, reals: reals.length, unmatched: unmatched.length } };
    }
  }
}

export const adminCommand: Command = {
  help: `Usage: lvsd admin [options]

List the running daemon's admin state: each entry (operator over the control socket, maintenance
file, agent reply) with its target and since when, and every real that is not ready with the
entries that hold it. Root only (control socket). The daemon answers in pages of 1,000 items;
all pages are fetched and printed as one list.

Options:
      --json             print the listing as JSON
${SOCKET_HELP}
${COMMON_HELP}
`,
  async execute(argv) {
    const { common, values } = parseCommand(argv, { json: { type: 'boolean' }, socket: { type: 'string' } });
    const path = await socketPath(common.configDir, typeof values.socket === 'string' ? values.socket : undefined);
    const listing = await fetchListing(path);
    process.stdout.write(values.json === true ? `${JSON.stringify(listing, null, 2)}\n` : renderAdminText(listing));
    return EXIT_OK;
  },
};
