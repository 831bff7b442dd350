// `lvsd plan`: probe once, compute the desired table, diff it against the kernel, print the ipvsadm lines `run` would apply.

import { loadConfig, formatIssue } from '../config/load.js';
import { createLogger } from '../log.js';
import { HealthTracker } from '../health/tracker.js';
import { Reconciler } from '../reconcile/reconciler.js';
import { Ownership } from '../reconcile/ownership.js';
import { createRunner } from '../ipvs/runner.js';
import { healthViewOf } from '../reconcile/health-board.js';
import { COMMON_HELP, EXIT_FAILURE, EXIT_OK, parseCommand } from './args.js';
import { probeAll } from './report.js';
import type { Command } from './command.js';

export const planCommand: Command = {
  help: `Usage: lvsd plan [options]

Run every check once, compute the table lvsd wants, diff it against the kernel (ipvsadm -Sn) and
print the ipvsadm -R lines a pass of 'lvsd run' would apply now. Changes nothing.
Services lvsd does not own are never part of the plan.

Options:
      --dry-run          diff against an empty table instead of the kernel (no ipvsadm needed)
${COMMON_HELP}
`,
  async execute(argv) {
    const { common, values } = parseCommand(argv, { 'dry-run': { type: 'boolean' } });
    const dryRun = values['dry-run'] === true;
    const loaded = await loadConfig(common.configDir);
    if (!loaded.ok) {
      for (const issue of loaded.issues) process.stderr.write(`${formatIssue(issue)}\n`);
      return EXIT_FAILURE;
    }
    const snapshot = loaded.snapshot;
    // Logs go to stderr so stdout is exactly the lines (pipe-able into `ipvsadm -R`).
    const logger = createLogger(common.logLevel ?? 'warn', { write: (s: string) => process.stderr.write(s) });
    const runner = createRunner(snapshot, dryRun, logger.child({}, { level: 'warn' }));
    const ownership = dryRun ? Ownership.inMemory() : await Ownership.load(snapshot.global.stateDir, logger, { readOnly: true });

    const tracker = new HealthTracker();
    tracker.update(snapshot, Date.now());
    for (const r of await probeAll(snapshot)) tracker.record(r.probeKey, r.result, Date.now());

    const reconciler = new Reconciler({ runner, logger, ownership });
    reconciler.setSnapshot(snapshot);
    reconciler.setHealth(healthViewOf(tracker));
    const plan = await reconciler.planOnce();
    for (const line of plan.lines) process.stdout.write(`${line}\n`);
    process.stderr.write(plan.lines.length === 0 ? 'plan: the kernel already matches\n' : `plan: ${plan.lines.length} line(s)\n`);
    return EXIT_OK;
  },
};
