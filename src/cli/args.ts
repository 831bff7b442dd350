// Shared command-line parsing: every subcommand takes -c/--config-dir, --log-level and --help.

import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { LvsdError } from '../errors.js';

export const DEFAULT_CONFIG_DIR = '/etc/lvsd';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

const COMMON_OPTIONS = {
  'config-dir': { type: 'string', short: 'c' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpecs;

export interface CommonOptions {
  configDir: string;
  logLevel: string | undefined;
  help: boolean;
}

const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

/**
 * Parse a subcommand's argv; unknown options are usage errors, and so are positional arguments
 * unless the command takes some (`allowPositionals`).
 */
export function parseCommand<T extends OptionSpecs>(
  argv: readonly string[],
  options: T,
  allowPositionals = false,
): { common: CommonOptions; values: Record<string, string | boolean | undefined>; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: { ...COMMON_OPTIONS, ...options }, strict: true, allowPositionals });
  } catch (err) {
    throw new LvsdError('LVSD_USAGE', (err as Error).message, { cause: err });
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const logLevel = values['log-level'] as string | undefined;
  if (logLevel !== undefined && !LOG_LEVELS.has(logLevel)) {
    throw new LvsdError('LVSD_USAGE', `--log-level must be one of ${[...LOG_LEVELS].join(', ')}`);
  }
  return {
    common: {
      configDir: (values['config-dir'] as string | undefined) ?? DEFAULT_CONFIG_DIR,
      logLevel,
      help: values.help === true,
    },
    values,
    positionals: parsed.positionals,
  };
}

export const COMMON_HELP = `  -c, --config-dir DIR   directory holding lvsd.yaml and conf.d/ (default ${DEFAULT_CONFIG_DIR})
      --log-level LEVEL  trace|debug|info|warn|error|fatal (default: log_level of lvsd.yaml, else info)
  -h, --help             show this help`;
