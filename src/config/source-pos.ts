// Where a value came from (file, line, column), for messages an operator can act on. Its own file so
// the check types' descriptors can name it without importing the snapshot model (model.ts
// re-exports the check types).

export interface SourcePos {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}
