// `lvsd check-config`: validate lvsd.yaml and every conf.d file; print each error as FILE:LINE:COL: message.

import { loadConfig, formatIssue } from '../config/load.js';
import { COMMON_HELP, EXIT_FAILURE, EXIT_OK, parseCommand } from './args.js';
import type { Command } from './command.js';

export const checkConfigCommand: Command = {
  help: `Usage: lvsd check-config [options]

Validate lvsd.yaml and every conf.d/*.yaml without touching the kernel or probing anything.
Prints every error of every file as FILE:LINE:COL: message and exits 1, or a summary and exits 0.

Options:
${COMMON_HELP}
`,
  async execute(argv) {
    const { common } = parseCommand(argv, {});
    const result = await loadConfig(common.configDir);
    if (!result.ok) {
      for (const issue of result.issues) process.stderr.write(`${formatIssue(issue)}\n`);
      const n = result.issues.length;
      process.stderr.write(`${n} error${n === 1 ? '' : 's'} in ${common.configDir}\n`);
      return EXIT_FAILURE;
    }
    const { services, files } = result.snapshot;
    const reals = services.reduce((sum, s) => sum + s.reals.length, 0);
    process.stdout.write(
      `${common.configDir}: OK, ${services.length} service${services.length === 1 ? '' : 's'}, ` +
        `${reals} real${reals === 1 ? '' : 's'} in ${files.length} file${files.length === 1 ? '' : 's'}\n`,
    );
    return EXIT_OK;
  },
};
