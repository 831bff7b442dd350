// What every subcommand module gives main.ts: its --help text and its body (the one-line summary
// is in main.ts's table). Its own file so that subcommands do not import main.ts.

export interface Command {
  readonly help: string;
  execute(argv: readonly string[]): Promise<number>;
}
