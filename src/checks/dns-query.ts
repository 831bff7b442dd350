// Building a DNS check's query message. The checker sends it; the config validates every dns check
// with config/dns-name.ts, which follows this function without loading dns-packet (a unit test holds
// the two equal), so a name dns-packet cannot encode (a label past 63 bytes, an empty label, a name
// past 255 bytes) is a config error at load, not a check that always fails.

import { decode, encode, RECURSION_DESIRED } from 'dns-packet';
import type { RecordType } from 'dns-packet';

export interface EncodedQuery {
  readonly bytes: Buffer;
  /** Compared form: lower-case, no trailing dot (the root is ""). */
  readonly name: string;
}

/** Lower-case, without the trailing dot: how names are compared. */
export function normaliseName(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

/** The query message, or why it cannot be built. */
export function encodeQuery(query: string, queryType: string, id: number): EncodedQuery | string {
  const name = normaliseName(query) || '.';
  let bytes: Buffer;
  try {
    bytes = encode({ type: 'query', id, flags: RECURSION_DESIRED, questions: [{ type: queryType as RecordType, name, class: 'IN' }] });
  } catch (err) {
    return `cannot build query: ${err instanceof Error ? err.message : String(err)}`;
  }
  // dns-packet encodes an unknown type name as type 0, and a malformed name as bytes it cannot read
  // back, instead of failing: decode what was encoded and compare.
  let echoed: { type?: string; name?: string } | undefined;
  try {
    echoed = decode(bytes).questions?.[0];
  } catch {
    echoed = undefined;
  }
  if (echoed === undefined) {
    return `the name ${JSON.stringify(query)} cannot be encoded in a DNS query (labels of 1 to 63 bytes, at most 255 bytes in all)`;
  }
  if (normaliseName(echoed.name ?? '') !== normaliseName(name)) {
    return `the name ${JSON.stringify(query)} cannot be encoded in a DNS query (empty label: two dots in a row, or a leading dot)`;
  }
  if (echoed.type !== queryType) return `unknown query type ${queryType}`;
  return { bytes, name: normaliseName(name) };
}
