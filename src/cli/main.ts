// Subcommand dispatch: maps argv to one src/cli/<command>.ts and its exit code (0 ok, 1 failure, 2 usage).

import { VERSION } from '../version.js';
import { LvsdError, errorMessage } from '../errors.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './args.js';
import { checkConfigCommand } from './check-config.js';
import { runCommand } from './run.js';
import { probeCommand } from './probe.js';
import { planCommand } from './plan.js';
import { statusCommand } from './status.js';
import { convertCommand } from './convert.js';
import { digestCommand } from './digest.js';
import { drainCommand } from './drain.js';
import { disableCommand } from './disable.js';
import { enableCommand } from './enable.js';
import { adminCommand } from './admin.js';
import { exabgpBridgeCommand } from './exabgp-bridge.js';
import { syncRoleCommand } from './sync-role.js';
import type { Command } from './command.js';


const COMMANDS: Record<string, Command> = {
  run: runCommand,
  'check-config': checkConfigCommand,
  probe: probeCommand,
  plan: planCommand,
  status: statusCommand,
  convert: convertCommand,
  digest: digestCommand,
  drain: drainCommand,
  disable: disableCommand,
  enable: enableCommand,
  admin: adminCommand,
  'exabgp-bridge': exabgpBridgeCommand,
  'sync-role': syncRoleCommand,
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

export async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    (first === undefined ? process.stderr : process.stdout).write(usage());
    return first === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (first === '--version' || first === '-V') {
    process.stdout.write(`lvsd ${VERSION}\n`);
    return EXIT_OK;
  }
  const command = COMMANDS[first];
  if (!command) {
    process.stderr.write(`lvsd: unknown command "${first}"\n\n${usage()}`);
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help);
    return EXIT_OK;
  }
  try {
    return await command.execute(rest);
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
