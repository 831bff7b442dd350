// `lvsd run`: the daemon in the foreground; JSON log lines on stdout; SIGHUP reloads, SIGTERM/SIGINT stop.

import { loadConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { Daemon, logIssues } from '../daemon.js';
import { COMMON_HELP, EXIT_FAILURE, parseCommand } from './args.js';
import type { Command } from './main.js';

export const runCommand: Command = {
  summary: 'run the daemon in the foreground',
  help: `Usage: lvsd run [options]

Run the daemon in the foreground: check every realserver and keep the kernel IPVS table equal to
the healthy set. Logs JSON lines on stdout. SIGHUP reloads the configuration (an invalid one is
rejected and the running one stays); SIGTERM or SIGINT stops, removing the managed services unless
clean_stop is false; SIGUSR2 stops without removing anything from the kernel (package upgrades:
the next lvsd adopts the table and changes nothing before its first check results).

Options:
      --dry-run          never run ipvsadm: apply to an in-memory table that starts empty and log
                         the ipvsadm lines that would be applied; everything else runs as usual
${COMMON_HELP}
`,
  async execute(argv) {
    const { common, values } = parseCommand(argv, { 'dry-run': { type: 'boolean' } });
    const dryRun = values['dry-run'] === true;
    const loaded = await loadConfig(common.configDir);
    if (!loaded.ok) {
      logIssues(createLogger(common.logLevel ?? 'info'), loaded.issues);
      process.stderr.write(`lvsd run: ${loaded.issues.length} error(s) in ${common.configDir}; not starting\n`);
      return EXIT_FAILURE;
    }
    const logger = createLogger(common.logLevel ?? loaded.snapshot.global.logLevel);
    const daemon = new Daemon({ configDir: common.configDir, dryRun, logger, initial: loaded.snapshot });

    const onHup = (): void => daemon.reload('SIGHUP');
    const onStop = (signal: NodeJS.Signals): void => void daemon.stop(signal);
    const onKeepStop = (signal: NodeJS.Signals): void => void daemon.stop(signal, { clean: false });
    process.on('SIGHUP', onHup);
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
    process.on('SIGUSR2', onKeepStop);
    try {
      await daemon.start();
      return await daemon.finished;
    } finally {
      process.off('SIGHUP', onHup);
      process.off('SIGTERM', onStop);
      process.off('SIGINT', onStop);
      process.off('SIGUSR2', onKeepStop);
    }
  },
};
