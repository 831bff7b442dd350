// `lvsd probe [--json]`: run every check once now and print each real's result (a report: exit 0 even if down).

import { loadConfig, formatIssue } from '../config/load.js';
import { COMMON_HELP, EXIT_FAILURE, EXIT_OK, parseCommand } from './args.js';
import { probeAll } from './report.js';
import type { Command } from './main.js';

export const probeCommand: Command = {
  summary: 'run every check once now and print each real\'s result',
  help: `Usage: lvsd probe [options]

Run every configured check once, concurrently, and print for each service and real: up or down,
the reason and the latency. A real shared by several services with the same check is probed once.
Exits 0 even when reals are down (it is a report); 1 when the configuration is invalid.

Options:
      --json             print one JSON array: {service, real, up, reason, code, latency_ms, weight?}
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
    if (values.json === true) {
      const rows = reports.map((r) => ({
        service: r.service,
        real: r.real,
        up: r.result.up,
        reason: r.result.reason,
        code: r.result.code,
        latency_ms: Math.round(r.result.latencyMs * 100) / 100,
        ...(r.result.weight === undefined ? {} : { weight: r.result.weight }),
      }));
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return EXIT_OK;
    }
    const width = Math.max(7, ...reports.map((r) => r.service.length));
    const realWidth = Math.max(4, ...reports.map((r) => r.real.length));
    process.stdout.write(`${'SERVICE'.padEnd(width)}  ${'REAL'.padEnd(realWidth)}  STATE  LATENCY   REASON\n`);
    for (const r of reports) {
      const latency = `${r.result.latencyMs.toFixed(1)}ms`.padStart(8);
      process.stdout.write(
        `${r.service.padEnd(width)}  ${r.real.padEnd(realWidth)}  ${(r.result.up ? 'up' : 'down').padEnd(5)}  ${latency}  ${r.result.reason}\n`,
      );
    }
    const down = reports.filter((r) => !r.result.up).length;
    process.stdout.write(`${reports.length} real(s) checked, ${reports.length - down} up, ${down} down\n`);
    return EXIT_OK;
  },
};
