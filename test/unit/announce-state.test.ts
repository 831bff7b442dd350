// The per-VIP announce state machine: every (state, inputs) combination against its invariants,
// then the documented sequences (first results, quorum loss, hold-down, daemon health, stop).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { INITIAL, dueAt, isAnnounced, removed, step } from '../../src/announce/vip-announce-state.js';
import type { AnnounceInputs, VipAnnounceState } from '../../src/announce/vip-announce-state.js';

const HOLD = 10_000;
const STATES: VipAnnounceState[] = [
  { phase: 'waiting' },
  { phase: 'announced', since: 0 },
  { phase: 'withdrawn', since: 0, cause: 'quorum_lost' },
  { phase: 'withdrawn', since: 0, cause: 'daemon_unhealthy' },
  { phase: 'holding', healthySince: 0, cause: 'quorum_lost' },
  { phase: 'holding', healthySince: 0, cause: 'daemon_unhealthy' },
  { phase: 'stopped' },
];
const bools = [false, true];

function* allInputs(): Generator<AnnounceInputs> {
  for (const results of bools)
    for (const daemonHealthy of bools)
      for (const healthy of bools)
        for (const stopping of bools)
          for (const holdDownMs of [0, HOLD])
            for (const now of [1, HOLD - 1, HOLD, HOLD + 1]) yield { now, results, daemonHealthy, healthy, stopping, holdDownMs };
}

describe('announce state machine: invariants over every state and input', () => {
  it('holds for every combination', () => {
    let count = 0;
    for (const s of STATES) {
      for (const i of allInputs()) {
        count++;
        const r = step(s, i);
        const label = `${JSON.stringify(s)} ${JSON.stringify(i)}`;
        // A change is reported exactly when the announced bit flips, and says which way.
        assert.equal(r.change !== null, isAnnounced(s) !== isAnnounced(r.next), `change iff flip: ${label}`);
        if (r.change) assert.equal(r.change.announce, isAnnounced(r.next), label);
        // Never announce without results, while stopping, for an unhealthy VIP or an unhealthy daemon.
        if (!i.results || i.stopping || !i.healthy || !i.daemonHealthy) {
          assert.ok(!(r.change?.announce ?? false), `no announce: ${label}`);
        }
        // Before results nothing changes (a route adopted at start stays until results decide).
        if (!i.results && !i.stopping) assert.deepEqual(r.next, s, `no change before results: ${label}`);
        // A stop withdraws and is final.
        if (i.stopping || s.phase === 'stopped') assert.equal(r.next.phase, 'stopped', label);
        if (i.stopping && isAnnounced(s)) assert.deepEqual(r.change, { announce: false, reason: 'stopping' }, label);
        // With results, healthy and no stop: an announced VIP stays announced.
        if (isAnnounced(s) && i.results && i.healthy && i.daemonHealthy && !i.stopping) assert.equal(r.change, null, label);
        // After a withdraw, a hold-down > 0 is always waited: no announce straight from withdrawn.
        if (s.phase === 'withdrawn' && i.holdDownMs > 0) assert.equal(r.change, null, label);
        // Pure: the same call gives the same answer.
        assert.deepEqual(step(s, i), r, label);
      }
    }
    assert.equal(count, STATES.length * 2 ** 4 * 2 * 4);
  });
});

describe('announce state machine: reasons', () => {
  const base: AnnounceInputs = { now: 1000, results: true, daemonHealthy: true, healthy: true, stopping: false, holdDownMs: HOLD };

  it('nothing is announced before the first results, even when healthy', () => {
    assert.deepEqual(step(INITIAL, { ...base, results: false }), { next: INITIAL, change: null, note: null });
  });

  it('first results: a healthy VIP is announced at once (first_results), an unhealthy one waits', () => {
    assert.deepEqual(step(INITIAL, base).change, { announce: true, reason: 'first_results' });
    assert.deepEqual(step(INITIAL, { ...base, healthy: false }), { next: INITIAL, change: null, note: null });
    // A VIP never announced is announced as soon as it is healthy: no hold-down (nothing flapped).
    assert.deepEqual(step(INITIAL, { ...base, now: 99_000 }).change, { announce: true, reason: 'first_results' });
  });

  it('quorum loss withdraws at once (quorum_lost); an unhealthy daemon withdraws (daemon_unhealthy) whatever the VIP', () => {
    const on: VipAnnounceState = { phase: 'announced', since: 0 };
    assert.deepEqual(step(on, { ...base, healthy: false }).change, { announce: false, reason: 'quorum_lost' });
    assert.deepEqual(step(on, { ...base, daemonHealthy: false }).change, { announce: false, reason: 'daemon_unhealthy' });
    assert.deepEqual(step(on, { ...base, daemonHealthy: false, healthy: false }).change, { announce: false, reason: 'daemon_unhealthy' });
  });

  it('back after quorum loss: hold-down started, broken by a new loss, done after hold_down of continuous health', () => {
    let s: VipAnnounceState = { phase: 'announced', since: 0 };
    s = step(s, { ...base, now: 1000, healthy: false }).next;
    assert.deepEqual(s, { phase: 'withdrawn', since: 1000, cause: 'quorum_lost' });
    let r = step(s, { ...base, now: 2000 });
    assert.deepEqual(r.note, { kind: 'hold_down_started', reason: 'quorum_back', dueAt: 12_000 });
    assert.equal(r.change, null);
    s = r.next;
    assert.equal(dueAt(s, HOLD), 12_000);
    // Still healthy but not long enough.
    assert.equal(step(s, { ...base, now: 11_999 }).change, null);
    // Lost again inside the hold-down: it starts over from the next healthy evaluation.
    r = step(s, { ...base, now: 5000, healthy: false });
    assert.deepEqual(r.note, { kind: 'hold_down_broken', reason: 'quorum_lost' });
    assert.equal(r.change, null);
    s = r.next;
    s = step(s, { ...base, now: 6000 }).next;
    assert.equal(dueAt(s, HOLD), 16_000);
    assert.equal(step(s, { ...base, now: 15_999 }).change, null);
    assert.deepEqual(step(s, { ...base, now: 16_000 }).change, { announce: true, reason: 'hold_down_done' });
  });

  it('hold_down 0: announced again at once, with what came back as the reason', () => {
    const lost: VipAnnounceState = { phase: 'withdrawn', since: 0, cause: 'quorum_lost' };
    assert.deepEqual(step(lost, { ...base, holdDownMs: 0 }).change, { announce: true, reason: 'quorum_back' });
    const sick: VipAnnounceState = { phase: 'withdrawn', since: 0, cause: 'daemon_unhealthy' };
    assert.deepEqual(step(sick, { ...base, holdDownMs: 0 }).change, { announce: true, reason: 'daemon_recovered' });
  });

  it('daemon recovered while the VIP is down: the cause becomes quorum_lost, so its return reads quorum_back', () => {
    let s: VipAnnounceState = { phase: 'withdrawn', since: 0, cause: 'daemon_unhealthy' };
    s = step(s, { ...base, healthy: false }).next;
    assert.deepEqual(s, { phase: 'withdrawn', since: 0, cause: 'quorum_lost' });
    assert.deepEqual(step(s, base).note?.reason, 'quorum_back');
  });

  it('an unhealthy daemon during a hold-down breaks it; recovery starts a new one (daemon_recovered)', () => {
    let s: VipAnnounceState = { phase: 'holding', healthySince: 0, cause: 'quorum_lost' };
    const r = step(s, { ...base, daemonHealthy: false });
    assert.deepEqual(r.note, { kind: 'hold_down_broken', reason: 'daemon_unhealthy' });
    s = r.next;
    assert.deepEqual(step(s, { ...base, now: 3000 }).note, { kind: 'hold_down_started', reason: 'daemon_recovered', dueAt: 13_000 });
  });

  it('a clean stop withdraws an announced VIP (stopping) and nothing is announced afterwards', () => {
    const r = step({ phase: 'announced', since: 0 }, { ...base, stopping: true });
    assert.deepEqual(r.change, { announce: false, reason: 'stopping' });
    assert.equal(step(r.next, base).change, null);
    assert.equal(step({ phase: 'holding', healthySince: 0, cause: 'quorum_lost' }, { ...base, stopping: true }).change, null);
  });

  it('a reload that drops the VIP withdraws it only when announced (removed_from_config)', () => {
    assert.deepEqual(removed({ phase: 'announced', since: 0 }), { announce: false, reason: 'removed_from_config' });
    assert.equal(removed({ phase: 'holding', healthySince: 0, cause: 'quorum_lost' }), null);
    assert.equal(removed(INITIAL), null);
  });

  it('a route adopted at start (announced before results) stays until results, then follows them', () => {
    const adopted: VipAnnounceState = { phase: 'announced', since: 0 };
    assert.equal(step(adopted, { ...base, results: false, healthy: false }).change, null);
    assert.equal(step(adopted, base).change, null);
    assert.deepEqual(step(adopted, { ...base, healthy: false }).change, { announce: false, reason: 'quorum_lost' });
  });
});
