// Which check thread runs which probe: a stable hash of the probe key, so a reload keeps a probe (and
// its timer phase and health) on its thread. The checks of a real with several checks must meet in
// one tracker (the real is up when all of them are), so probes joined by such a real go together,
// placed by the smallest probe key among them.

import type { ProbePlan, ProbePlanEntry } from '../scheduler/probe-key.js';
import { pairId } from '../model/keys.js';

/** FNV-1a, 32 bits: stable across processes and builds (unlike anything seeded). */
export function stableHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Union-find over probe keys. */
class Joined {
  readonly #parent = new Map<string, string>();

  find(k: string): string {
    let root = k;
    for (let p = this.#parent.get(root); p !== undefined && p !== root; p = this.#parent.get(root)) root = p;
    // Path compression.
    for (let c = k; c !== root; ) {
      const next = this.#parent.get(c)!;
      this.#parent.set(c, root);
      c = next;
    }
    return root;
  }

  join(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return;
    // The smaller key is the root: the group's placement depends only on its members.
    if (ra < rb) this.#parent.set(rb, ra);
    else this.#parent.set(ra, rb);
  }
}

/**
 * Split `plan` into `n` plans (n >= 1), keeping plan order inside each. Probes feeding a real with
 * several checks share the thread of the smallest key among them; every other probe goes by its
 * own key's hash.
 */
export function partitionPlan(plan: ProbePlan, n: number): Map<string, ProbePlanEntry>[] {
  const parts = Array.from({ length: Math.max(1, n) }, () => new Map<string, ProbePlanEntry>());
  if (parts.length === 1) {
    for (const [k, v] of plan) parts[0]!.set(k, v);
    return parts;
  }
  const joined = new Joined();
  const firstProbeOfPair = new Map<string, string>();
  for (const [key, entry] of plan) {
    for (const m of entry.members) {
      if (m.part === undefined) continue;
      const id = pairId(m.serviceKey, m.realKey);
      const first = firstProbeOfPair.get(id);
      if (first === undefined) firstProbeOfPair.set(id, key);
      else joined.join(first, key);
    }
  }
  for (const [key, entry] of plan) parts[stableHash(joined.find(key)) % parts.length]!.set(key, entry);
  return parts;
}
