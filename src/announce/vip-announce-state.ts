// The per-VIP announce state machine (pure): whether a VIP's route should be announced, from its
// health, the daemon's health, whether results exist yet and whether lvsd is stopping. Every change
// of the announced bit carries one reason; the announcer logs it, counts it and tells the backend.

/** Why a VIP's route was announced or withdrawn (log field `reason`, metric label `reason`). */
export type AnnounceReason =
  /** Announced: the VIP's first healthy evaluation since start (or since a reload added it). */
  | 'first_results'
  /** Withdrawn: a service deciding the VIP lost quorum. */
  | 'quorum_lost'
  /** Announced at once after a quorum_lost withdraw (hold_down 0). */
  | 'quorum_back'
  /** Announced after a withdraw, once healthy for hold_down without a break. */
  | 'hold_down_done'
  /** Withdrawn: unhealthy_after reconcile passes in a row failed. */
  | 'daemon_unhealthy'
  /** Announced at once after a daemon_unhealthy withdraw (hold_down 0). */
  | 'daemon_recovered'
  /** Withdrawn: lvsd stops and removes its services (clean stop). */
  | 'stopping'
  /** Withdrawn: a reload took the VIP out of the announced set. */
  | 'removed_from_config';

/** Why a VIP is out: what has to be healthy again before it returns. */
export type WithdrawCause = 'quorum_lost' | 'daemon_unhealthy';

export type VipAnnounceState =
  /** Not announced and never announced since start or since it was added: announced once healthy. */
  | { readonly phase: 'waiting' }
  | { readonly phase: 'announced'; readonly since: number }
  /** Withdrawn and not (yet) healthy again. */
  | { readonly phase: 'withdrawn'; readonly since: number; readonly cause: WithdrawCause }
  /** Withdrawn, healthy again since `healthySince`: announced at healthySince + hold_down. */
  | { readonly phase: 'holding'; readonly healthySince: number; readonly cause: WithdrawCause }
  /** lvsd is stopping: never announced again. */
  | { readonly phase: 'stopped' };

export interface AnnounceInputs {
  readonly now: number;
  /** The first reconcile pass has succeeded: health and quorum are results, not guesses. */
  readonly results: boolean;
  /** Fewer than unhealthy_after reconcile passes in a row have failed. */
  readonly daemonHealthy: boolean;
  /** The VIP's own health: every service deciding it has quorum. */
  readonly healthy: boolean;
  /** A clean stop has begun: withdraw. */
  readonly stopping: boolean;
  readonly holdDownMs: number;
}

/** A change of the announced bit. */
export interface AnnounceChange {
  readonly announce: boolean;
  readonly reason: AnnounceReason;
}

/** Something worth one log line that does not change the route (a hold-down starting or broken). */
export interface AnnounceNote {
  readonly kind: 'hold_down_started' | 'hold_down_broken';
  /** hold_down_started: what came back (quorum_back, daemon_recovered); broken: what failed again. */
  readonly reason: AnnounceReason;
  /** hold_down_started: when the VIP is announced if it stays healthy. */
  readonly dueAt?: number;
}

export interface AnnounceStep {
  readonly next: VipAnnounceState;
  readonly change: AnnounceChange | null;
  readonly note: AnnounceNote | null;
}

export const INITIAL: VipAnnounceState = { phase: 'waiting' };

export function isAnnounced(s: VipAnnounceState): boolean {
  return s.phase === 'announced';
}

/** When the state would change with no new input (the end of a hold-down), or null. */
export function dueAt(s: VipAnnounceState, holdDownMs: number): number | null {
  return s.phase === 'holding' ? s.healthySince + holdDownMs : null;
}

const stay = (next: VipAnnounceState): AnnounceStep => ({ next, change: null, note: null });

/** One evaluation of one VIP. Pure: the same state and inputs always give the same step. */
export function step(s: VipAnnounceState, i: AnnounceInputs): AnnounceStep {
  if (s.phase === 'stopped') return stay(s);
  if (i.stopping) {
    return { next: { phase: 'stopped' }, change: s.phase === 'announced' ? { announce: false, reason: 'stopping' } : null, note: null };
  }
  // Before the first results nothing changes: nothing is announced, and a route adopted from an
  // earlier lvsd (phase announced at start) stays until results say otherwise.
  if (!i.results) return stay(s);
  const up = i.healthy && i.daemonHealthy;
  // What keeps a VIP out: the daemon first (it withdraws every VIP at once, whatever their health).
  const cause: WithdrawCause = i.daemonHealthy ? 'quorum_lost' : 'daemon_unhealthy';
  switch (s.phase) {
    case 'waiting':
      return up ? { next: { phase: 'announced', since: i.now }, change: { announce: true, reason: 'first_results' }, note: null } : stay(s);
    case 'announced':
      return up ? stay(s) : { next: { phase: 'withdrawn', since: i.now, cause }, change: { announce: false, reason: cause }, note: null };
    case 'withdrawn': {
      if (!up) return s.cause === cause ? stay(s) : stay({ ...s, cause });
      const back: AnnounceReason = s.cause === 'daemon_unhealthy' ? 'daemon_recovered' : 'quorum_back';
      if (i.holdDownMs <= 0) return { next: { phase: 'announced', since: i.now }, change: { announce: true, reason: back }, note: null };
      return {
        next: { phase: 'holding', healthySince: i.now, cause: s.cause },
        change: null,
        note: { kind: 'hold_down_started', reason: back, dueAt: i.now + i.holdDownMs },
      };
    }
    case 'holding':
      if (!up) return { next: { phase: 'withdrawn', since: i.now, cause }, change: null, note: { kind: 'hold_down_broken', reason: cause } };
      if (i.now - s.healthySince >= i.holdDownMs) {
        return { next: { phase: 'announced', since: i.now }, change: { announce: true, reason: 'hold_down_done' }, note: null };
      }
      return stay(s);
  }
}

/** A reload took the VIP out of the announced set: withdraw it if it was announced. */
export function removed(s: VipAnnounceState): AnnounceChange | null {
  return s.phase === 'announced' ? { announce: false, reason: 'removed_from_config' } : null;
}
