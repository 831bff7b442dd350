// Check type udp: one datagram sent; up unless the port answers ICMP unreachable, or with `expect`
// when the reply matches. Checker: src/checks/udp.ts.

import { regexSchema, sendSchema } from '../schema-values.js';
import { describeCheckType, hostPort } from './core.js';
import type { CheckCommon } from './core.js';

export interface UdpCheckSpec extends CheckCommon {
  readonly type: 'udp';
  /** The datagram sent (escapes decoded); may be empty. */
  readonly send: string;
  /** Regex source matched against the reply; null = up unless the port answers ICMP unreachable. */
  readonly expect: string | null;
}

export const udpCheck = describeCheckType({
  fields: {
    send: sendSchema.optional(),
    expect: regexSchema.optional(),
  },
  portless: false,
  target: hostPort,
  build: ({ get, common }) => {
    const spec: UdpCheckSpec = { ...common, type: 'udp', send: get<string>('send') ?? '', expect: get<string>('expect') ?? null };
    return { spec, command: null };
  },
});
