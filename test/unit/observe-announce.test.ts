// Where VIP announce shows: /status `announce`, `lvsd status` lines, the status page pills and the
// metrics lvsd_vip_announced, lvsd_announce_*; nothing of it without `announce`.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AnnounceStatus } from '../../src/announce/announcer.js';
import { renderStatusPage } from '../../src/observe/status-page.js';
import { renderStatusText } from '../../src/observe/status-text.js';
import { world } from '../helpers/observe-fixtures.js';

const STATUS: AnnounceStatus = {
  backend: { backend: 'exabgp', ok: false, error: 'no lvsd exabgp-bridge connected', detail: { socket: '/run/lvsd/exabgp.sock', bridges: 0 } },
  hold_down_ms: 10_000,
  unhealthy_after: 3,
  results: true,
  daemon_healthy: true,
  failed_passes: 0,
  vips: [
    {
      vip: '192.0.2.10', prefix: '192.0.2.10/32', announced: true, state: 'announced', healthy: true,
      services: [{ name: 'web', quorum: true }], reason: 'first_results', changed_at: '2030-01-01T00:00:00.000Z', announce_at: null,
    },
    {
      vip: '192.0.2.20', prefix: '192.0.2.20/32', announced: false, state: 'holding', healthy: true,
      services: [{ name: 'mail', quorum: true }], reason: 'quorum_lost', changed_at: '2030-01-01T00:00:00.000Z', announce_at: '2030-01-01T00:00:10.000Z',
    },
    {
      vip: '2001:db8::10', prefix: '2001:db8::10/128', announced: false, state: 'withdrawn', healthy: false,
      services: [{ name: 'v6', quorum: false }], reason: 'quorum_lost', changed_at: '2030-01-01T00:00:00.000Z', announce_at: null,
    },
  ],
};

describe('announce in status, page and metrics', () => {
  it('/status carries the announcer\'s state; null without announce', async () => {
    assert.equal((await world().observer.statusDocument()).announce, null);
    const doc = await world({ announce: { status: () => STATUS } }).observer.statusDocument();
    assert.deepEqual(doc.announce, STATUS);
  });

  it('lvsd status: a summary line and one line per VIP', async () => {
    const text = renderStatusText(await world({ announce: { status: () => STATUS } }).observer.statusDocument());
    assert.match(text, /^announce exabgp: 1 of 3 VIPs announced; BACKEND PROBLEM: no lvsd exabgp-bridge connected$/m);
    assert.match(text, /^ {2}192\.0\.2\.10\/32\s+ANNOUNCED\s+announced\s+first_results .+\s+healthy$/m);
    assert.match(text, /^ {2}192\.0\.2\.20\/32\s+withdrawn\s+holding, announced at 2030-01-01T00:00:10\.000Z if it stays healthy\s+quorum_lost/m);
    assert.match(text, /^ {2}2001:db8::10\/128\s+withdrawn\s+withdrawn\s+quorum_lost .+no quorum: v6$/m);
    assert.doesNotMatch(renderStatusText(await world().observer.statusDocument()), /^announce/m);
  });

  it('the page: one pill per VIP', async () => {
    const html = renderStatusPage(await world({ announce: { status: () => STATUS } }).observer.statusDocument());
    assert.match(html, /<span class="pill ok" data-vip="192\.0\.2\.10" data-announced="true"/);
    assert.match(html, /data-vip="192\.0\.2\.20" data-announced="false"[^>]*>192\.0\.2\.20\/32 holding</);
    assert.match(html, /exabgp: no lvsd exabgp-bridge connected/);
  });

  it('metrics: announced, healthy, backend up, daemon healthy; counters fed by the announcer', async () => {
    const w = world({ announce: { status: () => STATUS } });
    w.observer.metrics.announce.change('quorum_lost');
    w.observer.metrics.announce.backendError('exabgp', 'ack_error');
    const text = await w.observer.metrics.text();
    assert.match(text, /^lvsd_vip_announced\{vip="192\.0\.2\.10"\} 1$/m);
    assert.match(text, /^lvsd_vip_announced\{vip="2001:db8::10"\} 0$/m);
    assert.match(text, /^lvsd_vip_healthy\{vip="192\.0\.2\.20"\} 1$/m);
    assert.match(text, /^lvsd_announce_backend_up\{backend="exabgp"\} 0$/m);
    assert.match(text, /^lvsd_announce_daemon_healthy 1$/m);
    assert.match(text, /^lvsd_announce_changes_total\{reason="quorum_lost"\} 1$/m);
    assert.match(text, /^lvsd_announce_backend_errors_total\{backend="exabgp",kind="ack_error"\} 1$/m);
    const none = await world().observer.metrics.text();
    assert.doesNotMatch(none, /^lvsd_vip_announced\{/m);
  });
});
