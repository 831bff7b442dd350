// The admin store recomputes only the reals a change names (admin-index.ts). Pinned against the
// plain rule, every entry combined for every configured real in `entries()` order: after any
// sequence of put, remove, replace and configuration changes, each real's state and the entries
// holding it are what the full recompute gives, and each reported change is exactly a real whose
// state differs from before. (A full recompute per command held the loop 40-180 ms at 10,000
// entries x 2,000 reals; issue 18.)

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AdminStore } from '../../src/control/admin-store.js';
import { combine } from '../../src/control/admin-model.js';
import { adminListing } from '../../src/control/commands.js';
import type { AdminEntry, AdminSourceKind, AdminTarget } from '../../src/control/admin-model.js';
import type { Snapshot } from '../../src/config/model.js';
import { snapshot } from '../helpers/reconcile-fixtures.js';

const HOSTS = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'];
const PORTS = [80, 443];
const VIPS = ['tcp:192.0.2.10:80', 'tcp:192.0.2.10:443', 'tcp:192.0.2.11:80'];

/** A configuration: some services, each with some of the hosts on some ports. */
const snapshotArb = fc
  .array(fc.record({ vip: fc.constantFrom(...VIPS), reals: fc.subarray(HOSTS.flatMap((h) => PORTS.map((p) => `${h}:${p}`))) }), { maxLength: 3 })
  .map((specs) => {
    const seen = new Set<string>();
    return snapshot(specs.filter((s) => !seen.has(s.vip) && seen.add(s.vip)).map((s) => ({ key: s.vip, reals: s.reals })));
  });

const hostSpec = fc.record({ host: fc.constantFrom(...HOSTS, '10.9.9.9'), family: fc.constant(4 as const), port: fc.constantFrom(null, ...PORTS) });
const targetArb: fc.Arbitrary<AdminTarget> = fc.oneof(
  fc.record({ kind: fc.constant('service' as const), service: fc.constantFrom(...VIPS, 'gone') }),
  fc.record({ kind: fc.constant('real' as const), service: fc.constantFrom(...VIPS), real: hostSpec }),
  fc.record({ kind: fc.constant('host' as const), real: hostSpec }),
);
const sourceArb = fc.constantFrom<AdminSourceKind>('operator', 'maintenance', 'agent');
const entryArb = (source: fc.Arbitrary<AdminSourceKind>): fc.Arbitrary<AdminEntry> =>
  fc.record({ target: targetArb, state: fc.constantFrom('drain' as const, 'maint' as const), source, by: fc.constantFrom('a', 'b'), since: fc.nat(1000) });

type Op =
  | { op: 'put'; entry: AdminEntry }
  | { op: 'remove'; source: AdminSourceKind; state: 'drain' | 'maint' }
  | { op: 'replace'; source: AdminSourceKind; entries: AdminEntry[]; keep: number }
  | { op: 'snapshot'; snapshot: Snapshot };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: entryArb(sourceArb).map((entry) => ({ op: 'put' as const, entry })) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), source: sourceArb, state: fc.constantFrom('drain' as const, 'maint' as const) }) },
  {
    weight: 2,
    arbitrary: sourceArb.chain((source) =>
      fc.record({ op: fc.constant('replace' as const), source: fc.constant(source), entries: fc.array(entryArb(fc.constant(source)), { maxLength: 5 }), keep: fc.nat(5) }),
    ),
  },
  { weight: 1, arbitrary: snapshotArb.map((s) => ({ op: 'snapshot' as const, snapshot: s })) },
);

/** Every real's state and the entries holding it, by the plain rule. */
function fullRecompute(store: AdminStore, snap: Snapshot): Map<string, { state: string; entries: readonly AdminEntry[] }> {
  const out = new Map<string, { state: string; entries: readonly AdminEntry[] }>();
  const all = store.entries();
  for (const s of snap.services) {
    for (const r of s.reals) out.set(`${s.key} ${r.key}`, combine(all, { service: s.name, host: r.address.host, port: r.address.port }));
  }
  return out;
}

describe('admin store: incremental recompute equals the full one', () => {
  it('after any sequence of changes (fast-check, 300 sequences)', () => {
    fc.assert(
      fc.property(snapshotArb, fc.array(opArb, { minLength: 1, maxLength: 25 }), (snap0, ops) => {
        const store = new AdminStore();
        let snap = snap0;
        store.setSnapshot(snap);
        for (const op of ops) {
          const before = fullRecompute(store, snap);
          let changes;
          if (op.op === 'put') changes = store.put(op.entry);
          else if (op.op === 'remove') changes = store.remove(op.source, (e) => e.state === op.state).changes;
          else if (op.op === 'replace') {
            // Some of the source's current entry objects passed again (unchanged files), then new ones.
            const kept = store.entries(op.source).slice(0, op.keep);
            changes = store.replace(op.source, [...kept, ...op.entries]);
          } else {
            snap = op.snapshot;
            changes = store.setSnapshot(snap);
          }
          const after = fullRecompute(store, snap);
          for (const s of snap.services) {
            for (const r of s.reals) {
              const want = after.get(`${s.key} ${r.key}`)!;
              const got = store.verdict(s.key, r.key);
              assert.equal(got.state, want.state, `${op.op}: ${s.key} ${r.key}`);
              assert.deepEqual(got.entries, want.entries, `${op.op}: entries of ${s.key} ${r.key}`);
              assert.equal(store.view()(s.key, r.key), want.state);
            }
          }
          const expected = [...after]
            .filter(([k, v]) => (op.op === 'snapshot' ? (before.get(k)?.state ?? 'ready') : before.get(k)!.state) !== v.state)
            .map(([k]) => k);
          // A configuration change compares with the verdict the real had (a new real had none).
          if (op.op !== 'snapshot') assert.deepEqual(changes.map((c) => `${c.serviceKey} ${c.real}`), expected, op.op);
          for (const c of changes) assert.notEqual(c.from, c.to);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('admin listing: kept between pages, made again after any change', () => {
  it('a page after a change of entries or configuration shows the change', () => {
    const snap = snapshot([{ key: VIPS[0]!, reals: ['10.0.0.1:80', '10.0.0.2:80'] }]);
    const store = new AdminStore();
    store.setSnapshot(snap);
    const host = (h: string): AdminEntry => ({ target: { kind: 'host', real: { host: h, family: 4, port: null } }, state: 'maint', source: 'maintenance', by: `file ${h}`, since: 0 });
    store.replace('maintenance', [host('10.9.9.9')]);
    const first = adminListing(store, snap, 0, 1);
    assert.deepEqual([first.total, first.unmatched], [{ entries: 1, reals: 0, unmatched: 1 }, ['host 10.9.9.9 (maintenance: file 10.9.9.9)']]);
    store.put(host('10.0.0.1'));
    const second = adminListing(store, snap, 0, 1);
    assert.deepEqual(second.total, { entries: 2, reals: 1, unmatched: 1 });
    assert.deepEqual(second.reals.map((r) => `${r.real} ${r.state}`), ['10.0.0.1:80 maint']);
    // A configuration with that host gone: its entry matches nothing now.
    const other = snapshot([{ key: VIPS[0]!, reals: ['10.0.0.2:80'] }]);
    store.setSnapshot(other);
    const third = adminListing(store, other, 0, 5);
    assert.deepEqual(third.total, { entries: 2, reals: 0, unmatched: 2 });
  });
});
