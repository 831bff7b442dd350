// Health-driven VIP announce/withdraw (lvsd.yaml `announce`): after every reconcile pass, each VIP's
// health (every deciding service has quorum) and the daemon's health (fewer than unhealthy_after
// failed passes in a row) go through the per-VIP state machine; each change is one log line with
// its reason, counted in metrics, and the backend is given the announced set. A side channel:
// nothing here feeds back into health or the table.

import type { AnnounceConfig, Family, ServiceConfig, Snapshot } from '../config/model.js';
import type { Logger } from '../log.js';
import type { AnnounceBackend, BackendStatus } from './backend.js';
import { prefixOf } from './backend.js';
import type { AnnounceChange, AnnounceNote, VipAnnounceState } from './vip-announce-state.js';
import { INITIAL, dueAt, isAnnounced, removed, step } from './vip-announce-state.js';
import type { ServiceKey } from '../model/keys.js';
import { indexOf } from '../config/snapshot-index.js';
import { NO_DECISION, quorumOf } from '../reconcile/pass-report.js';
import type { PassDecision, PassPublished, PassSubscriber } from '../reconcile/pass-report.js';

/** Quorum of a service by key as of the last committed pass. */
export type QuorumOf = (serviceKey: string) => boolean;

export interface AnnouncerOptions {
  readonly logger: Logger;
  readonly backend: AnnounceBackend;
  readonly snapshot: Snapshot;
  /** The announce settings at start (snapshot.global.announce). */
  readonly config: AnnounceConfig;
  /** Default: the decision of the last pass published to it. */
  readonly quorumOf?: QuorumOf;
  /** Whether the real has a first health result (its state is no longer unknown). */
  readonly checked?: (serviceKey: string, realKey: string) => boolean;
  /** Every announce or withdraw (metrics). */
  readonly onChange?: (vip: string, change: AnnounceChange) => void;
  readonly now?: () => number;
}

/** One announced VIP as the config has it now. */
interface VipSpec {
  readonly family: Family;
  /** Names of the services deciding its health, in configuration order. */
  readonly services: readonly string[];
}

interface VipEntry {
  spec: VipSpec;
  state: VipAnnounceState;
  /** The reason of the last change, for status. */
  lastReason: string | null;
  changedAt: number | null;
  healthy: boolean;
}

export interface AnnounceVipStatus {
  readonly vip: string;
  readonly prefix: string;
  readonly announced: boolean;
  /** waiting | announced | withdrawn | holding | stopped */
  readonly state: VipAnnounceState['phase'];
  readonly healthy: boolean;
  readonly services: readonly { readonly name: string; readonly quorum: boolean }[];
  /** The reason and time (ISO) of the last announce or withdraw. */
  readonly reason: string | null;
  readonly changed_at: string | null;
  /** While holding: when (ISO) the VIP is announced if it stays healthy. */
  readonly announce_at: string | null;
}

export interface AnnounceStatus {
  readonly backend: BackendStatus;
  readonly hold_down_ms: number;
  readonly unhealthy_after: number;
  /** The first reconcile pass has succeeded. */
  readonly results: boolean;
  readonly daemon_healthy: boolean;
  readonly failed_passes: number;
  readonly vips: readonly AnnounceVipStatus[];
}

/** The VIPs `announce` covers in `snapshot`, each with the services deciding it. */
export function announcedVips(snapshot: Snapshot, config: AnnounceConfig): Map<string, VipSpec> {
  const onVip = new Map<string, { family: Family; names: string[] }>();
  for (const s of snapshot.services) {
    if (s.kind !== 'address') continue;
    const e = onVip.get(s.vip.host) ?? { family: s.vip.family, names: [] };
    e.names.push(s.name);
    onVip.set(s.vip.host, e);
  }
  const out = new Map<string, VipSpec>();
  if (config.vips === null) {
    for (const [vip, e] of [...onVip].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out.set(vip, { family: e.family, services: e.names });
    return out;
  }
  for (const v of config.vips) {
    const e = onVip.get(v.vip);
    // A valid snapshot has every listed VIP served (checkAnnounceVips); skip defensively otherwise.
    if (e) out.set(v.vip, { family: v.family, services: v.services ?? e.names });
  }
  return out;
}

/** As the daemon's first round: the slowest check of the service may take its interval + timeout. */
function firstResultsDeadlineMs(s: ServiceConfig): number {
  let max = 0;
  for (const r of s.reals) for (const c of r.checks ?? [r.check]) max = Math.max(max, c.intervalMs + c.timeoutMs);
  return max + 1000;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export class Announcer implements PassSubscriber {
  readonly #o: AnnouncerOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  #config: AnnounceConfig;
  /** Services by name: the snapshot's shared index. */
  #byName: ReadonlyMap<string, ServiceConfig> = new Map();
  readonly #vips = new Map<string, VipEntry>();
  #results = false;
  /** Services a reload added after the first results: service key -> when it appeared. */
  readonly #added = new Map<ServiceKey, number>();
  #failedPasses = 0;
  #stopping = false;
  /** stop() ran: later passes (the clean stop's own) change nothing any more. */
  #closed = false;
  #timer: NodeJS.Timeout | null = null;
  /** What the last published pass decided (read unless quorumOf was given). */
  #decision: PassDecision = NO_DECISION;
  readonly #quorumOf: QuorumOf;

  constructor(options: AnnouncerOptions) {
    this.#o = options;
    this.#log = options.logger;
    this.#now = options.now ?? Date.now;
    this.#config = options.config;
    this.#quorumOf = options.quorumOf ?? ((key) => quorumOf(this.#decision, key));
    this.#setVips(options.snapshot, false);
  }

  /** Open the backend; VIP routes an earlier lvsd left are adopted (announced until results decide). */
  async start(): Promise<void> {
    const configured = new Map([...this.#vips].map(([vip, e]) => [vip, e.spec.family]));
    const adopted = await this.#o.backend.start(configured);
    const now = this.#now();
    for (const vip of adopted.keys()) {
      const e = this.#vips.get(vip);
      if (e) e.state = { phase: 'announced', since: now };
    }
  }

  /**
   * A reload: the VIP list, hold_down and unhealthy_after follow it (backend, interface and socket
   * are restart-only). A snapshot without `announce` keeps the last settings until the restart.
   */
  setSnapshot(snapshot: Snapshot): void {
    if (this.#closed) return;
    if (snapshot.global.announce) this.#config = snapshot.global.announce;
    this.#setVips(snapshot, true);
    this.#evaluate();
  }

  /** Every reconcile pass, as it published itself (the clean stop's deletes are no pass). */
  published(p: PassPublished): void {
    if (p.report === null) return;
    this.#decision = p.decision;
    this.passed(p.report.ok, p.stats.consecutiveFailures);
  }

  /** After every reconcile pass. */
  passed(ok: boolean, consecutiveFailures: number): void {
    if (this.#closed) return;
    if (ok) this.#results = true;
    this.#failedPasses = consecutiveFailures;
    this.#evaluate();
  }

  /**
   * Stop. `withdraw` (a clean stop): every route down before the services go; otherwise (SIGUSR2,
   * clean_stop: false) the routes stay with the table for the next lvsd to adopt.
   */
  async stop(withdraw: boolean): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (withdraw) {
      this.#stopping = true;
      this.#evaluate();
    }
    await this.#o.backend.close(withdraw);
  }

  status(): AnnounceStatus {
    return {
      backend: this.#o.backend.status(),
      hold_down_ms: this.#config.holdDownMs,
      unhealthy_after: this.#config.unhealthyAfter,
      results: this.#results,
      daemon_healthy: this.#daemonHealthy,
      failed_passes: this.#failedPasses,
      vips: [...this.#vips].map(([vip, e]) => ({
        vip,
        prefix: prefixOf(vip, e.spec.family),
        announced: isAnnounced(e.state),
        state: e.state.phase,
        healthy: e.healthy,
        services: e.spec.services.map((name) => ({ name, quorum: this.#quorumByName(name) })),
        reason: e.lastReason,
        changed_at: iso(e.changedAt),
        announce_at: iso(dueAt(e.state, this.#config.holdDownMs)),
      })),
    };
  }

  get #daemonHealthy(): boolean {
    return this.#failedPasses < this.#config.unhealthyAfter;
  }

  #quorumByName(name: string): boolean {
    const s = this.#byName.get(name);
    return s ? this.#quorumOf(s.key) : false;
  }

  /**
   * A service a reload added whose reals have no first result yet: it neither withdraws an
   * announced VIP (adding a port to a VIP must not flap its route) nor lets one be announced.
   * Bounded like the first round at start: its slowest check's interval + timeout + 1 s.
   */
  #pending(s: ServiceConfig, now: number): boolean {
    const since = this.#added.get(s.key);
    if (since === undefined) return false;
    const checked = this.#o.checked;
    if (!checked || s.reals.every((r) => checked(s.key, r.key)) || now >= since + firstResultsDeadlineMs(s)) {
      this.#added.delete(s.key);
      return false;
    }
    return true;
  }

  /** Every deciding service has quorum; a pending one keeps the VIP as it is. */
  #vipHealthy(e: VipEntry, now: number): boolean {
    return e.spec.services.every((name) => {
      const s = this.#byName.get(name);
      if (!s) return false;
      return this.#pending(s, now) ? isAnnounced(e.state) : this.#quorumOf(s.key);
    });
  }

  #setVips(snapshot: Snapshot, log: boolean): void {
    if (this.#results) {
      const now = this.#now();
      for (const s of snapshot.services) if (!this.#byName.has(s.name) || this.#byName.get(s.name)?.key !== s.key) this.#added.set(s.key, now);
    }
    const index = indexOf(snapshot);
    for (const k of this.#added.keys()) if (!index.byKey.has(k)) this.#added.delete(k);
    this.#byName = index.byName;
    const next = announcedVips(snapshot, this.#config);
    for (const [vip, e] of this.#vips) {
      if (next.has(vip)) continue;
      this.#vips.delete(vip);
      const change = removed(e.state);
      if (change && log) this.#changed(vip, e, change);
    }
    for (const [vip, spec] of next) {
      const e = this.#vips.get(vip);
      if (e) e.spec = spec;
      else this.#vips.set(vip, { spec, state: INITIAL, lastReason: null, changedAt: null, healthy: false });
    }
  }

  #evaluate(): void {
    const now = this.#now();
    const inputs = {
      now,
      results: this.#results,
      daemonHealthy: this.#daemonHealthy,
      stopping: this.#stopping,
      holdDownMs: this.#config.holdDownMs,
    };
    let next: number | null = null;
    for (const [vip, e] of this.#vips) {
      e.healthy = this.#vipHealthy(e, now);
      const r = step(e.state, { ...inputs, healthy: e.healthy });
      e.state = r.next;
      if (r.change) this.#changed(vip, e, r.change);
      if (r.note) this.#noted(vip, r.note);
      const due = dueAt(e.state, this.#config.holdDownMs);
      if (due !== null) next = next === null ? due : Math.min(next, due);
    }
    // Before the first results the backend keeps what it adopted; after them it follows the states.
    if (this.#results || this.#stopping) this.#push();
    this.#arm(next, now);
  }

  #push(): void {
    const announced = new Map<string, Family>();
    const known = new Map<string, Family>();
    for (const [vip, e] of this.#vips) {
      known.set(vip, e.spec.family);
      if (isAnnounced(e.state)) announced.set(vip, e.spec.family);
    }
    this.#o.backend.set(announced, known);
  }

  /** One timer for the earliest hold-down end: a hold-down ends on time, not at the next pass. */
  #arm(due: number | null, now: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (due === null || this.#stopping) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#evaluate();
    }, Math.max(0, due - now));
    this.#timer.unref();
  }

  #changed(vip: string, e: VipEntry, change: AnnounceChange): void {
    e.lastReason = change.reason;
    e.changedAt = this.#now();
    const prefix = prefixOf(vip, e.spec.family);
    const lacking = e.spec.services.filter((name) => !this.#quorumByName(name));
    const fields = {
      event: change.announce ? 'vip_announced' : 'vip_withdrawn',
      vip,
      prefix,
      reason: change.reason,
      backend: this.#o.backend.kind,
      ...(change.reason === 'quorum_lost' ? { services_without_quorum: lacking } : {}),
      ...(change.reason === 'daemon_unhealthy' ? { failed_passes: this.#failedPasses } : {}),
    };
    const why = change.reason === 'quorum_lost' && lacking.length > 0 ? `: no quorum in ${lacking.join(', ')}` : '';
    if (change.announce) this.#log.info(fields, `VIP ${vip} announced (${change.reason})`);
    // A withdraw the operator asked for (stop, reload) is news; one health forced is a warning.
    else if (change.reason === 'quorum_lost' || change.reason === 'daemon_unhealthy') this.#log.warn(fields, `VIP ${vip} withdrawn (${change.reason}${why})`);
    else this.#log.info(fields, `VIP ${vip} withdrawn (${change.reason})`);
    this.#o.onChange?.(vip, change);
  }

  #noted(vip: string, note: AnnounceNote): void {
    if (note.kind === 'hold_down_started') {
      const inS = Math.round(this.#config.holdDownMs / 100) / 10;
      this.#log.info(
        { event: 'vip_hold_down', vip, reason: note.reason, announce_at: note.dueAt === undefined ? null : new Date(note.dueAt).toISOString() },
        `VIP ${vip} healthy again (${note.reason}): announced in ${inS}s if it stays healthy`,
      );
    } else {
      this.#log.info({ event: 'vip_hold_down_broken', vip, reason: note.reason }, `VIP ${vip} unhealthy again during its hold-down (${note.reason}); it starts over`);
    }
  }
}
