// `lvsd probe [--json]`: run every check once now and print each real's result (a report: exit 0 even if down).

import { loadConfig, formatIssue } from '../config/load.js';
import { COMMON_HELP, EXIT_FAILURE, EXIT_OK, parseCommand } from './args.js';
import { probeAll } from './report.js';
import type { Command } from './command.js';

export const probeCommand: Command = {
  help: `Usage: lvsd probe [options]

Run every configured check once, concurrently, and print for each service and real: up or down,
the reason and the latency. A real shared by several services with the same check is probed once.
Exits 0 even when reals are down (it is a report); 1 when the configuration is invalid.

Options:
      --json             print one JSON array: {service, real, up, reason, code, latency_ms, weight?,
                         checks?} (checks: one {type, up, reason, code, latency_ms} per check of a
                         real with several; the real is up when all are)
${COMMON_HELP}
`,
  async execute(argv) {
    const { common, values } = parseCommand(argv, { json: { type: 'boolean' } });
    const loaded = await loadConfig(common.configDir);
    if (!loaded.ok) {
      for (const issue of loaded.issues) process.stderr.write(`${formatIssue(issue)}\n`);
      return EXIT_FAILURE;
    }
    const reports = await probeAll(loaded.snapshot);
    const ms = (n: number): number => Math.round(n * 100) / 100;
    if (values.json === true) {
      const rows = reports.map((r) => ({
        service: r.service,
        real: r.real,
        up: r.result.up,
        reason: r.result.reason,
        code: r.result.code,
        latency_ms: ms(r.result.latencyMs),
        ...(r.result.weight === undefined ? {} : { weight: r.result.weight }),
        ...(r.parts === undefined
          ? {}
          : { checks: r.parts.map((p) => ({ type: p.type, up: p.result.up, reason: p.result.reason, code: p.result.code, latency_ms: ms(p.result.latencyMs) })) }),
      }));
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return EXIT_OK;
    }
    const width = Math.max(7, ...reports.map((r) => r.service.length));
    const partName = (i: number, n: number, type: string): string => `  check ${i + 1}/${n} ${type}`;
    const realWidth = Math.max(
      4,
      ...reports.map((r) => r.real.length),
      ...reports.flatMap((r) => (r.parts ?? []).map((p, i, all) => partName(i, all.length, p.type).length)),
    );
    process.stdout.write(`${'SERVICE'.padEnd(width)}  ${'REAL'.padEnd(realWidth)}  STATE  LATENCY   REASON\n`);
    for (const r of reports) {
      const latency = `${r.result.latencyMs.toFixed(1)}ms`.padStart(8);
      process.stdout.write(
        `${r.service.padEnd(width)}  ${r.real.padEnd(realWidth)}  ${(r.result.up ? 'up' : 'down').padEnd(5)}  ${latency}  ${r.result.reason}\n`,
      );
      // A real with several checks: one line per check under it, so the failing one is plain to see.
      for (const [i, p] of (r.parts ?? []).entries()) {
        const l = `${p.result.latencyMs.toFixed(1)}ms`.padStart(8);
        const name = partName(i, r.parts!.length, p.type);
        process.stdout.write(`${''.padEnd(width)}  ${name.padEnd(realWidth)}  ${(p.result.up ? 'up' : 'down').padEnd(5)}  ${l}  ${p.result.reason}\n`);
      }
    }
    const down = reports.filter((r) => !r.result.up).length;
    process.stdout.write(`${reports.length} real(s) checked, ${reports.length - down} up, ${down} down\n`);
    return EXIT_OK;
  },
};
