// Check type tcp: connect; optionally send bytes and match a regex on the reply, or a dialogue of
// send/expect steps (SMTP banner, HELO, 250, QUIT). Checker: src/checks/tcp.ts.

import { z } from 'zod';
import { regexSchema, sendSchema } from '../schema-values.js';
import { describeCheckType, hostPort } from './core.js';
import type { CheckCommon } from './core.js';

export interface TcpCheckSpec extends CheckCommon {
  readonly type: 'tcp';
  /** Bytes to send after connecting (escapes like \r\n already decoded). */
  readonly send: string | null;
  /** Regex source matched against the first bytes read. */
  readonly expect: string | null;
  /**
   * A send/expect conversation instead of `send`/`expect` (SMTP: banner, HELO, 250, QUIT). Absent
   * when not configured, so the probe key of a plain tcp check is what it always was.
   */
  readonly dialogue?: readonly DialogueStep[];
}

/** One step of a tcp dialogue: send (escapes decoded), then wait for `expect`; at least one is set. */
export interface DialogueStep {
  readonly send: string | null;
  /** Regex source matched against what the server sent since the previous step matched. */
  readonly expect: string | null;
}

/** A list is a load multiplier (one exchange per step); far above any real setup. */
export const MAX_DIALOGUE_STEPS = 32;

/** One step of a tcp `dialogue`. */
export const dialogueStepSchema = z
  .strictObject({ send: sendSchema.optional(), expect: regexSchema.optional() })
  .refine((s) => s.send !== undefined || s.expect !== undefined, { message: 'a dialogue step needs "send", "expect" or both' });

export const tcpCheck = describeCheckType({
  fields: {
    send: sendSchema.optional(),
    expect: regexSchema.optional(),
    dialogue: z.array(dialogueStepSchema).min(1, 'a dialogue needs at least one step').max(MAX_DIALOGUE_STEPS).optional(),
  },
  listEntries: { dialogue: ['send', 'expect'] },
  alternatives: [{ key: 'dialogue', instead: ['send', 'expect'], why: 'write the exchange as dialogue steps ({ send, expect })' }],
  portless: false,
  target: (spec: TcpCheckSpec, host: string) => hostPort(spec, host) + (spec.dialogue ? ` (dialogue, ${spec.dialogue.length} steps)` : ''),
  build: ({ get, common }) => {
    const dialogue = get<{ send?: string; expect?: string }[]>('dialogue');
    const spec: TcpCheckSpec = {
      ...common,
      type: 'tcp',
      send: get<string>('send') ?? null,
      expect: get<string>('expect') ?? null,
      ...(dialogue === undefined ? {} : { dialogue: dialogue.map((d): DialogueStep => ({ send: d.send ?? null, expect: d.expect ?? null })) }),
    };
    return { spec, command: null };
  },
});
