// Check type misc: an external command (argv, no shell) run with LVSD_* variables describing the
// service and real; exit 0 is up, and with dynamic_weight exit 2..255 sets the weight. Checker:
// src/checks/misc.ts.

import { isAbsolute, resolve as resolvePath } from 'node:path';
import { z } from 'zod';
import { describeCheckType, hostPort } from './core.js';
import type { CheckCommon } from './core.js';

export interface MiscCheckSpec extends CheckCommon {
  readonly type: 'misc';
  /** argv; command[0] is an absolute path or resolved against PATH, checked executable at load. */
  readonly command: readonly string[];
  readonly dynamicWeight: boolean;
}

export const miscCheck = describeCheckType({
  fields: {
    command: z.array(z.string().min(1)).min(1).optional(),
    dynamic_weight: z.boolean().optional(),
  },
  portless: true,
  // The program only: its arguments may be long, and may hold what an operator would not show.
  target: (spec: MiscCheckSpec, host: string) => `${spec.command[0] ?? ''} for ${hostPort(spec, host)}`,
  build: ({ get, posOf, typePos, common, configDir, full, issues }) => {
    const argv = get<string[]>('command');
    if (full && argv === undefined) issues.add(typePos(), 'a misc check needs "command" (the program and its arguments as a list)');
    const program = argv?.[0] ?? '';
    // A relative path with a slash is relative to the config dir, not to the daemon's cwd.
    const resolved = program.includes('/') && !isAbsolute(program) ? resolvePath(configDir, program) : program;
    const at = posOf('command', 0);
    const command = full && argv !== undefined && at !== null ? { program: resolved, pos: at } : null;
    const spec: MiscCheckSpec = {
      ...common,
      type: 'misc',
      command: argv ? [resolved, ...argv.slice(1)] : [],
      dynamicWeight: get<boolean>('dynamic_weight') ?? false,
    };
    return { spec, command };
  },
});
