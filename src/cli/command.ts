// What every subcommand module gives main.ts: its --help text and its body (the one-line summary
// is in main.ts's table). Its own file so that subcommands do not import main.ts.

import type { EarlySignals } from './early-signals.js';

export interface Command {
  readonly help: string;
  /** `early`: signals the entry parked before any module loaded; only `run` takes them (see early-signals.ts). */
  execute(argv: readonly string[], early?: EarlySignals): Promise<number>;
}
