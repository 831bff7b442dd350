// What every subcommand module gives main.ts: its one-line summary, its --help text and its body.
// Its own file so that subcommands do not import main.ts (which imports them).

export interface Command {
  readonly summary: string;
  readonly help: string;
  execute(argv: readonly string[]): Promise<number>;
}
