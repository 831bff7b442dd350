// A real lvsd logger (pino, JSON lines) whose lines a test reads back as objects: tests assert on
// the `event`, `code` and reason fields operators rely on, not on the message text alone.

import { Writable } from 'node:stream';
import { createLogger } from '../../src/log.js';
import type { Logger } from '../../src/log.js';

export interface CapturedLog {
  readonly logger: Logger;
  /** Every line logged so far, parsed, oldest first. */
  readonly lines: Record<string, unknown>[];
}

export function captureLog(level = 'info'): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger(level, dest), lines };
}
