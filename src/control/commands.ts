// What a control request does: resolve its target against the configuration (an unknown service or
// real is an error), change the operator's entries in the admin store, and build the reply.

import type { Snapshot } from '../config/model.js';
import type { AdminEntry, AdminState, AdminTarget, HostSpec } from './admin-model.js';
import { formatHostSpec, formatTarget, hostMatches, parseHostSpec, targetId } from './admin-model.js';
import { pairId } from '../model/keys.js';
import type { AdminChange, AdminStore } from './admin-store.js';
import type { AdminListing, AdminRealJson, AdminRequest, ControlReply, ControlRequest } from './protocol.js';
import { indexOf } from '../config/snapshot-index.js';

export interface CommandOutcome {
  readonly reply: ControlReply;
  /** The target as text, for the log ("web 10.0.0.11:80"); null for list and errors. */
  readonly target: string | null;
  readonly changes: readonly AdminChange[];
  /** True when the operator's entries changed (they must be saved). */
  readonly modified: boolean;
}

export const ADMIN_UNKNOWN = 'LVSD_ADMIN_UNKNOWN_TARGET';
export const CONTROL_BAD_REQUEST = 'LVSD_CONTROL_BAD_REQUEST';

class TargetError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

function list(names: readonly string[]): string {
  const shown = names.slice(0, 12).join(', ');
  return names.length > 12 ? `${shown}, … (${names.length} in all)` : shown || 'none';
}

/** Does `wider` cover everything `narrower` names? (enable removes the entries its target covers) */
export function covers(wider: AdminTarget, narrower: AdminTarget): boolean {
  const hostCovers = (w: HostSpec, n: HostSpec): boolean => w.host === n.host && (w.port === null || w.port === n.port);
  switch (wider.kind) {
    case 'service':
      return narrower.kind !== 'host' && narrower.service === wider.service;
    case 'real':
      return narrower.kind === 'real' && narrower.service === wider.service && hostCovers(wider.real, narrower.real);
    case 'host':
      return narrower.kind !== 'service' && hostCovers(wider.real, narrower.real);
  }
}

function parseReal(text: string, what: string): HostSpec {
  const spec = parseHostSpec(text);
  if (!spec) throw new TargetError(CONTROL_BAD_REQUEST, `${what} "${text}" is not IP or IP:PORT (IPv6 as [IP]:PORT)`);
  return spec;
}

/** The target of a set request, checked against the configuration. */
function resolveTarget(req: Extract<ControlRequest, { cmd: 'set' }>, snapshot: Snapshot, store: AdminStore): AdminTarget {
  const enabling = req.state === 'ready';
  const known = (t: AdminTarget): boolean => enabling && store.entries('operator').some((e) => covers(t, e.target));
  if (req.host !== undefined) {
    if (req.service !== undefined || req.real !== undefined) throw new TargetError(CONTROL_BAD_REQUEST, 'give either a host or a service, not both');
    const real = parseReal(req.host, 'real');
    const target: AdminTarget = { kind: 'host', real };
    const matched = snapshot.services.some((s) => s.reals.some((r) => hostMatches(real, r.address.host, r.address.port)));
    if (!matched && !known(target)) {
      throw new TargetError(ADMIN_UNKNOWN, `no service has a real ${formatHostSpec(real)} (sorry servers have no admin state)`);
    }
    return target;
  }
  if (req.service === undefined) throw new TargetError(CONTROL_BAD_REQUEST, 'a service (or a host) is required');
  const service = indexOf(snapshot).byName.get(req.service);
  if (req.real === undefined) {
    const target: AdminTarget = { kind: 'service', service: req.service };
    if (!service && !known(target)) {
      throw new TargetError(ADMIN_UNKNOWN, `unknown service "${req.service}" (services: ${list(snapshot.services.map((s) => s.name))})`);
    }
    return target;
  }
  const real = parseReal(req.real, 'real');
  const target: AdminTarget = { kind: 'real', service: req.service, real };
  if (!service) {
    if (known(target)) return target;
    throw new TargetError(ADMIN_UNKNOWN, `unknown service "${req.service}" (services: ${list(snapshot.services.map((s) => s.name))})`);
  }
  if (!service.reals.some((r) => hostMatches(real, r.address.host, r.address.port)) && !known(target)) {
    throw new TargetError(ADMIN_UNKNOWN, `service "${service.name}" has no real ${formatHostSpec(real)} (reals: ${list(service.reals.map((r) => r.key))})`);
  }
  return target;
}

function describe(e: AdminEntry): string {
  return `${e.state} by ${e.source} (${e.by})`;
}

/** Items of each list a reply carries at most (a page); `total` says how many there are. */
export const ADMIN_PAGE_SIZE = 1000;

interface Listed {
  readonly version: number;
  readonly snapshot: Snapshot;
  readonly entries: readonly AdminEntry[];
  readonly held: readonly { service: string; real: string; key: string; serviceKey: string }[];
  readonly unmatched: readonly AdminEntry[];
}

/** The last listing's lists per store, while neither entries nor configuration changed (`lvsd admin` asks page by page). */
const listedCache = new WeakMap<AdminStore, Listed>();

function listed(store: AdminStore, snapshot: Snapshot): Listed {
  const cached = listedCache.get(store);
  if (cached && cached.version === store.version && cached.snapshot === snapshot) return cached;
  const entries = store.entries();
  const notReady = store.notReady();
  const held: { service: string; real: string; key: string; serviceKey: string }[] = [];
  if (notReady.size > 0) {
    for (const s of snapshot.services) {
      for (const r of s.reals) if (notReady.has(pairId(s.key, r.key))) held.push({ service: s.name, real: r.key, key: r.key, serviceKey: s.key });
    }
  }
  const pairs = store.pairs();
  const unmatched = entries.filter((e) => !pairs.matchesAny(e.target));
  const out = { version: store.version, snapshot, entries, held, unmatched };
  listedCache.set(store, out);
  return out;
}

/**
 * The admin listing, one page of it: `entries`, `reals` and `unmatched` from `offset`, at most
 * `limit` items each, with the totals (10,000 entries made a reply over the CLI's 1 MiB). Only the
 * page is formatted; what is not ready is read from the store's verdicts, whether an entry matches
 * any configured real from the pair index (O(reals + entries), no entry tried against every real);
 * those lists are kept for the next page while the store's version and the snapshot stay the same.
 */
export function adminListing(store: AdminStore, snapshot: Snapshot, offset = 0, limit = ADMIN_PAGE_SIZE): AdminListing {
  const { entries, held, unmatched } = listed(store, snapshot);
  const end = offset + limit;
  return {
    entries: entries.slice(offset, end).map((e) => ({ source: e.source, target: formatTarget(e.target), state: e.state, by: e.by, since: new Date(e.since).toISOString() })),
    reals: held.slice(offset, end).map((h) => {
      const v = store.verdict(h.serviceKey, h.key);
      return { service: h.service, real: h.real, state: v.state, because: v.entries.map(describe) };
    }),
    unmatched: unmatched.slice(offset, end).map((e) => `${formatTarget(e.target)} (${e.source}: ${e.by})`),
    offset,
    total: { entries: entries.length, reals: held.length, unmatched: unmatched.length },
  };
}

function firstOf<T>(items: readonly T[]): { items: T[]; total: number } {
  return { items: items.slice(0, ADMIN_PAGE_SIZE), total: items.length };
}

/**
 * A `set` request checked against the configuration, not yet applied: the operator's entries it
 * leads to (what admin.json must hold before it is applied), and `apply` to make it so.
 */
export type SetPlan =
  | { readonly ok: false; readonly reply: ControlReply }
  | {
      readonly ok: true;
      readonly target: AdminTarget;
      /** True when the operator's entries change (they must be saved first). */
      readonly modified: boolean;
      /** The operator's entries after the request (only read when `modified`). */
      readonly operatorEntries: () => AdminEntry[];
      /** Apply to the store; returns the changes, and the reply built when asked (it may wait a turn). */
      readonly apply: (store: AdminStore) => AppliedSet;
    };

/** A `set` applied: what changed now; `reply()` reads the store when called (what still holds, a listing page). */
export interface AppliedSet {
  readonly target: string;
  readonly changes: readonly AdminChange[];
  readonly modified: boolean;
  readonly reply: () => ControlReply;
}

/** Check a `set` request against the store and configuration without changing anything. */
export function planSet(req: Extract<AdminRequest, { cmd: 'set' }>, ctx: { store: AdminStore; snapshot: Snapshot; by: string; now: number }): SetPlan {
  const { store, snapshot } = ctx;
  let target: AdminTarget;
  try {
    target = resolveTarget(req, snapshot, store);
  } catch (err) {
    if (!(err instanceof TargetError)) throw err;
    return { ok: false, reply: { ok: false, code: err.code, error: err.message } };
  }
  const operator = store.entries('operator');
  if (req.state === 'ready') {
    const kept = operator.filter((e) => !covers(target, e.target));
    return {
      ok: true,
      target,
      modified: kept.length !== operator.length,
      operatorEntries: () => kept,
      apply: (s) => {
        const r = s.remove('operator', (e) => covers(target, e.target));
        return outcome(s, snapshot, req, target, r.changes, r.removed.length > 0);
      },
    };
  }
  const state = req.state as Exclude<AdminState, 'ready'>;
  const id = targetId(target);
  const modified = store.get('operator', id)?.state !== state;
  const entry: AdminEntry = { target, state, source: 'operator', by: ctx.by, since: ctx.now };
  return {
    ok: true,
    target,
    modified,
    operatorEntries: () => {
      // Where Map.set would put it: in place of the same target's entry, else last.
      const i = operator.findIndex((e) => targetId(e.target) === id);
      return i >= 0 ? operator.map((e, j) => (j === i ? entry : e)) : [...operator, entry];
    },
    apply: (s) => {
      const changed = s.get('operator', id)?.state !== state;
      return outcome(s, snapshot, req, target, changed ? s.put(entry) : [], changed);
    },
  };
}

/** An applied `set`; its reply says what changed, what other entries still hold, and the first page. */
function outcome(store: AdminStore, snapshot: Snapshot, req: Extract<AdminRequest, { cmd: 'set' }>, target: AdminTarget, changes: AdminChange[], modified: boolean): AppliedSet {
  const reply = (): ControlReply => {
    const still: AdminRealJson[] = [];
    if (req.state === 'ready') {
      for (const p of store.pairs().matching(target)) {
        const v = store.verdict(p.serviceKey, p.realKey);
        if (v.state !== 'ready') still.push({ service: p.ref.service, real: p.realKey, state: v.state, because: v.entries.map(describe) });
      }
    }
    const changed = firstOf(changes);
    const stillPage = firstOf(still);
    return {
      ok: true,
      changed: changed.items.map((c) => ({ service: c.service, real: c.real, from: c.from, to: c.to })),
      changed_total: changed.total,
      still: stillPage.items,
      still_total: stillPage.total,
      admin: adminListing(store, snapshot),
    };
  };
  return { target: formatTarget(target), changes, modified, reply };
}

/** Carry out one request. `by` says who asked ("socket uid 0 (root)"). Never throws for a bad request. */
export function runCommand(req: AdminRequest, ctx: { store: AdminStore; snapshot: Snapshot; by: string; now: number }): CommandOutcome {
  const { store, snapshot } = ctx;
  if (req.cmd === 'list') {
    const offset = typeof req.offset === 'number' && Number.isSafeInteger(req.offset) && req.offset > 0 ? req.offset : 0;
    return { reply: { ok: true, changed: [], changed_total: 0, still: [], still_total: 0, admin: adminListing(store, snapshot, offset) }, target: null, changes: [], modified: false };
  }
  const plan = planSet(req, ctx);
  if (!plan.ok) return { reply: plan.reply, target: null, changes: [], modified: false };
  const done = plan.apply(store);
  return { reply: done.reply(), target: done.target, changes: done.changes, modified: done.modified };
}
