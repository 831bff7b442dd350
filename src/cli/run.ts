// `lvsd run`: the daemon in the foreground; JSON log lines on stdout; SIGHUP reloads, SIGTERM/SIGINT stop.

import { loadConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { chooseLogFormat, textDestination } from '../log-text.js';
import { Daemon } from '../daemon/daemon.js';
import { logIssues } from '../daemon/log.js';
import { installFatalHandlers } from '../fatal.js';
import { COMMON_HELP, EXIT_FAILURE, parseCommand } from './args.js';
import { handOverSignals } from './early-signals.js';
import { LvsdError } from '../errors.js';
import type { Command } from './command.js';

/** Once stopped, a handle still open (a stuck child's pipe) must not keep the process alive. */
const EXIT_GRACE_MS = 1_000;

export const runCommand: Command = {
  help: `Usage: lvsd run [options]

Run the daemon in the foreground: check every realserver and keep the kernel IPVS table equal to
the healthy set. Logs JSON lines on stdout (one readable line per event instead when stdout is a
terminal, or with --log-format text). SIGHUP reloads the configuration (an invalid one is
rejected and the running one stays; during start it is applied once started); SIGTERM or SIGINT
stops, removing the managed services unless clean_stop is false (during start: the start is
aborted first); SIGUSR2 stops without removing anything from the kernel (package upgrades: the
next lvsd adopts the table and changes nothing before its first check results). A stop takes at
most 15 s. Exit status: 0 after a clean stop, 1 when the start or the stop failed or on an
internal error (logged at level fatal, code LVSD_INTERNAL; the table is then left as it is).

Options:
      --dry-run          never run ipvsadm: apply to an in-memory table that starts empty and log
                         the ipvsadm lines that would be applied; everything else runs as usual
      --log-format F     json (one JSON object per line, for journald) or text (one readable line
                         per event); default: text when stdout is a terminal, else json
${COMMON_HELP}
`,
  async execute(argv, early) {
    const { common, values } = parseCommand(argv, { 'dry-run': { type: 'boolean' }, 'log-format': { type: 'string' } });
    const dryRun = values['dry-run'] === true;
    const formatFlag = values['log-format'] as string | undefined;
    if (formatFlag !== undefined && formatFlag !== 'json' && formatFlag !== 'text') {
      throw new LvsdError('LVSD_USAGE', '--log-format must be json or text');
    }
    const destination = chooseLogFormat(formatFlag, process.stdout.isTTY === true) === 'text' ? textDestination() : undefined;
    // Signals that arrive from here until the daemon exists stay parked (the entry's queue): the
    // daemon's lifecycle decides what they mean once it exists.
    const loaded = await loadConfig(common.configDir);
    if (!loaded.ok) {
      logIssues(createLogger(common.logLevel ?? 'info', destination), loaded.issues);
      process.stderr.write(`lvsd run: ${loaded.issues.length} error(s) in ${common.configDir}; not starting\n`);
      return EXIT_FAILURE;
    }
    const logger = createLogger(common.logLevel ?? loaded.snapshot.global.logLevel, destination);
    const daemon = new Daemon({ configDir: common.configDir, dryRun, logger, initial: loaded.snapshot });

    const removeFatal = installFatalHandlers({ logger, stop: (kind) => daemon.stop(kind, { clean: false }) });
    // The start begins (phase `starting`) before the parked signals are replayed, so a stop parked
    // while the modules or the configuration loaded is a stop during start, as the lifecycle table
    // says; the handlers stay until the process exits (a signal in the exit grace is ignored).
    const started = daemon.start();
    handOverSignals(early, (signal) => {
      if (signal === 'SIGHUP') daemon.reload(signal);
      else void daemon.stop(signal, signal === 'SIGUSR2' ? { clean: false } : {});
    });
    try {
      await started;
      const code = await daemon.finished;
      setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
      return code;
    } finally {
      removeFatal();
    }
  },
};
