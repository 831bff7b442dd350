// Subcommand dispatch: maps argv to one src/cli/<command>.ts, imported only when it runs, and its exit
// code (0 ok, 1 failure, 2 usage). The summaries live here so that `lvsd --help` loads no command.

import { VERSION } from '../version.js';
import { LvsdError, errorMessage } from '../errors.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './args.js';
import type { Command } from './command.js';
import { restoreDefaultSignals } from './early-signals.js';
import type { EarlySignals } from './early-signals.js';

interface Entry {
  readonly summary: string;
  /** The command's module, imported only when it runs: `lvsd status` does not load the daemon. */
  readonly load: () => Promise<Command>;
}

const COMMANDS: Record<string, Entry> = {
  run: { summary: 'run the daemon in the foreground', load: async () => (await import('./run.js')).runCommand },
  'check-config': {
    summary: 'validate the configuration (every error as FILE:LINE:COL: message)',
    load: async () => (await import('./check-config.js')).checkConfigCommand,
  },
  probe: { summary: 'run every check once now and print each real\'s result', load: async () => (await import('./probe.js')).probeCommand },
  plan: {
    summary: 'probe once and print the ipvsadm lines run would apply now (changes nothing)',
    load: async () => (await import('./plan.js')).planCommand,
  },
  status: {
    summary: 'show the running daemon\'s services, reals, health and kernel weights',
    load: async () => (await import('./status.js')).statusCommand,
  },
  convert: {
    summary: 'convert an ldirectord.cf or keepalived.conf into lvsd.yaml and conf.d/',
    load: async () => (await import('./convert.js')).convertCommand,
  },
  digest: {
    summary: 'print the MD5 digest of a page, as keepalived\'s genhash does (for expect_digest)',
    load: async () => (await import('./digest.js')).digestCommand,
  },
  drain: {
    summary: 'drain a service or real: weight 0, no new connections, kept in the table until enabled',
    load: async () => (await import('./drain.js')).drainCommand,
  },
  disable: {
    summary: 'put a service, a real or a host (--real, every service) in maintenance',
    load: async () => (await import('./disable.js')).disableCommand,
  },
  enable: {
    summary: 'undo drain/disable for a service, a real or a host (--real)',
    load: async () => (await import('./enable.js')).enableCommand,
  },
  admin: {
    summary: 'list admin state: drained and disabled services, reals and hosts, and why',
    load: async () => (await import('./admin.js')).adminCommand,
  },
  'exabgp-bridge': {
    summary: 'relay between ExaBGP (stdin/stdout) and lvsd\'s announce socket (run by exabgp.conf\'s process)',
    load: async () => (await import('./exabgp-bridge.js')).exabgpBridgeCommand,
  },
  'sync-role': {
    summary: 'show or set the connection sync daemon\'s role at run time (master, backup, both, none, config)',
    load: async () => (await import('./sync-role.js')).syncRoleCommand,
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(14)}${c.summary}`);
  return `Usage: lvsd <command> [options]

lvsd health-checks realservers and keeps the kernel IPVS table equal to the healthy set.

Commands:
${lines.join('\n')}

Run 'lvsd <command> --help' for a command's options. 'lvsd --version' prints the version.
`;
}

/**
 * Run the command `argv` names. `early` (from the entry) holds the signals parked since the first
 * instruction: `lvsd run` hands them to the daemon's lifecycle, every other command gives them
 * their default action back.
 */
export async function main(argv: readonly string[], early?: EarlySignals): Promise<number> {
  const [first, ...rest] = argv;
  const takesSignals = first === 'run' && !rest.includes('--help') && !rest.includes('-h');
  if (!takesSignals) restoreDefaultSignals(early);
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    (first === undefined ? process.stderr : process.stdout).write(usage());
    return first === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (first === '--version' || first === '-V') {
    process.stdout.write(`lvsd ${VERSION}\n`);
    return EXIT_OK;
  }
  const entry = COMMANDS[first];
  if (!entry) {
    process.stderr.write(`lvsd: unknown command "${first}"\n\n${usage()}`);
    return EXIT_USAGE;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help);
    return EXIT_OK;
  }
  try {
    return await command.execute(rest, takesSignals ? early : undefined);
  } catch (err) {
    if (err instanceof LvsdError && err.code === 'LVSD_USAGE') {
      process.stderr.write(`lvsd ${first}: ${err.message}\n\n${command.help}`);
      return EXIT_USAGE;
    }
    const code = err instanceof LvsdError ? ` [${err.code}]` : '';
    process.stderr.write(`lvsd ${first}: ${errorMessage(err)}${code}\n`);
    return EXIT_FAILURE;
  }
}
