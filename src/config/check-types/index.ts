// The registry of check types (config side): type name -> descriptor. CheckType, CheckSpec, the
// check schema's type-specific keys and the key rules all come from here, so a new type is one
// file beside this one and one line below (and its checker in src/checks/index.ts, whose record
// TypeScript then requires). Nothing else in config/ lists the types or their keys.

import type { z } from 'zod';
import type { CheckTypeDescriptor } from './core.js';
import { COMMON_CHECK_KEYS } from './core.js';
import { dnsCheck } from './dns.js';
import { httpCheck, httpsCheck } from './http.js';
import { miscCheck } from './misc.js';
import { noneCheck } from './none.js';
import { pingCheck } from './ping.js';
import { tcpCheck } from './tcp.js';
import { udpCheck } from './udp.js';

export const CHECK_TYPE_DESCRIPTORS = {
  tcp: tcpCheck,
  http: httpCheck,
  https: httpsCheck,
  dns: dnsCheck,
  misc: miscCheck,
  udp: udpCheck,
  ping: pingCheck,
  none: noneCheck,
} as const;

type Descriptors = typeof CHECK_TYPE_DESCRIPTORS;
export type CheckType = keyof Descriptors;
type SpecOf<D> = D extends CheckTypeDescriptor<infer S, z.ZodRawShape> ? S : never;
/** A resolved check: the spec of one of the types above (narrow it on `type`). */
export type CheckSpec = SpecOf<Descriptors[CheckType]>;

// Every descriptor's spec names its own type: a descriptor whose spec type TypeScript could not infer
// (an unannotated callback parameter) would widen CheckSpec to CheckCommon; this fails to compile then.
true satisfies (CheckSpec extends { readonly type: CheckType } ? true : never);

/** The type names, in the registry's order (messages list them so). */
export const CHECK_TYPES = Object.keys(CHECK_TYPE_DESCRIPTORS) as CheckType[];

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

/** Every type's fields in one shape: the type-specific part of the `check` mapping (schema.ts). */
export const CHECK_FIELDS = Object.assign({}, ...CHECK_TYPES.map((t) => CHECK_TYPE_DESCRIPTORS[t].fields)) as UnionToIntersection<
  Descriptors[CheckType]['fields']
>;

/** Type-specific keys per type, as the messages and the key checks need them. */
export const CHECK_KEYS_BY_TYPE: Readonly<Record<CheckType, readonly string[]>> = Object.fromEntries(
  CHECK_TYPES.map((t) => [t, Object.keys(CHECK_TYPE_DESCRIPTORS[t].fields)]),
) as unknown as Record<CheckType, readonly string[]>;

export function checkKeyApplies(key: string, type: CheckType): boolean {
  return COMMON_CHECK_KEYS.includes(key) || CHECK_KEYS_BY_TYPE[type].includes(key);
}

/** The check types a type-specific key belongs to, for messages ("http and https"). */
export function typesUsingKey(key: string): CheckType[] {
  return CHECK_TYPES.filter((t) => CHECK_KEYS_BY_TYPE[t].includes(key));
}

/** What a check looks at, as status shows it (its type's `target`). */
export function checkTargetText(spec: CheckSpec, host: string): string {
  const d: CheckTypeDescriptor<CheckSpec> = CHECK_TYPE_DESCRIPTORS[spec.type];
  return d.target(spec, host);
}

/** The keys an entry of the list key `key` takes (`urls`, `dialogue`); null when no type has such a list. */
export function listEntryKeys(key: string): readonly string[] | null {
  for (const t of CHECK_TYPES) {
    const d: CheckTypeDescriptor = CHECK_TYPE_DESCRIPTORS[t];
    const keys = d.listEntries?.[key];
    if (keys !== undefined) return keys;
  }
  return null;
}

export type { Alternative, BuildContext, CheckCommon, CheckTypeDescriptor, CommandRef } from './core.js';
export { COMMON_CHECK_KEYS } from './core.js';
