// The announcer between the reconciler and a backend: which VIPs it covers, what it hands the
// backend after each pass (nothing before the first successful one), reloads that add and drop
// VIPs, an unhealthy daemon, adoption at start, the clean and the keeping stop, and its log lines.
// The backend here records what it is told (the real ones run in test/integration and test/kernel).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Announcer, announcedVips } from '../../src/announce/announcer.js';
import type { AnnounceBackend, BackendStatus, VipSet } from '../../src/announce/backend.js';
import { exabgpLine, parseAck } from '../../src/announce/exabgp-backend.js';
import type { AnnounceConfig, Snapshot } from '../../src/config/model.js';
import { createLogger } from '../../src/log.js';
import { snapshot } from '../helpers/reconcile-fixtures.js';

class RecordingBackend implements AnnounceBackend {
  readonly kind = 'bird' as const;
  readonly sets: string[][] = [];
  closedWith: boolean | null = null;
  constructor(private readonly adopt: VipSet = new Map()) {}
  async start(): Promise<VipSet> {
    return this.adopt;
  }
  set(announced: VipSet): void {
    this.sets.push([...announced.keys()].sort());
  }
  async settled(): Promise<void> {}
  async close(withdraw: boolean): Promise<void> {
    this.closedWith = withdraw;
  }
  status(): BackendStatus {
    return { backend: 'bird', ok: true, error: null, detail: {} };
  }
  get last(): string[] | undefined {
    return this.sets[this.sets.length - 1];
  }
}

const CONFIG: AnnounceConfig = { backend: 'bird', holdDownMs: 0, unhealthyAfter: 3, interface: 'lvsd0', socket: '/run/x.sock', socketGroup: null, vips: null };
const WEB = 'tcp:192.0.2.10:80';
const TLS = 'tcp:192.0.2.10:443';
const MAIL = 'tcp:192.0.2.25:25';
const V6 = 'tcp:[2001:db8::10]:80';

function snap(keys: readonly string[], announce: Partial<AnnounceConfig> = {}): Snapshot {
  const a = { ...CONFIG, ...announce };
  return snapshot(keys.map((key) => ({ key, reals: ['10.0.0.1:80'] })), { announce: a });
}

function setup(keys: readonly string[], announce: Partial<AnnounceConfig> = {}, adopt: VipSet = new Map(), clock = { now: 1_000_000 }) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const quorum = new Set<string>();
  /** Services whose reals have no first result yet. */
  const unchecked = new Set<string>();
  const backend = new RecordingBackend(adopt);
  const s = snap(keys, announce);
  const changes: string[] = [];
  const announcer = new Announcer({
    logger: createLogger('debug', sink),
    backend,
    snapshot: s,
    config: s.global.announce!,
    quorumOf: (k) => quorum.has(k),
    checked: (k) => !unchecked.has(k),
    now: () => clock.now,
    onChange: (vip, c) => changes.push(`${vip} ${c.announce ? '+' : '-'} ${c.reason}`),
  });
  return { announcer, backend, quorum, unchecked, lines, changes, clock };
}

describe('announcer', () => {
  it('covers every address-service VIP (fwmark services have none), or the listed ones with their services', () => {
    const s = snapshot([{ key: WEB }, { key: TLS }, { key: MAIL }, { key: V6 }, { key: 'fwmark:7:v4' }]);
    const all = announcedVips(s, CONFIG);
    assert.deepEqual([...all.keys()], ['192.0.2.10', '192.0.2.25', '2001:db8::10']);
    assert.deepEqual(all.get('192.0.2.10'), { family: 4, services: [WEB, TLS] });
    assert.equal(all.get('2001:db8::10')?.family, 6);
    const listed = announcedVips(s, { ...CONFIG, vips: [{ vip: '192.0.2.10', family: 4, services: [WEB] }] });
    assert.deepEqual([...listed], [['192.0.2.10', { family: 4, services: [WEB] }]]);
  });

  it('tells the backend nothing before the first successful pass; then the healthy VIPs', async () => {
    const { announcer, backend, quorum, changes } = setup([WEB, MAIL]);
    await announcer.start();
    quorum.add(WEB);
    announcer.passed(false, 1);
    assert.deepEqual(backend.sets, []);
    announcer.passed(true, 0);
    assert.deepEqual(backend.last, ['192.0.2.10']);
    assert.deepEqual(changes, ['192.0.2.10 + first_results']);
  });

  it('a VIP is healthy only when every service on it has quorum', async () => {
    const { announcer, backend, quorum } = setup([WEB, TLS]);
    await announcer.start();
    quorum.add(WEB);
    announcer.passed(true, 0);
    assert.deepEqual(backend.last, []);
    quorum.add(TLS);
    announcer.passed(true, 0);
    assert.deepEqual(backend.last, ['192.0.2.10']);
    quorum.delete(TLS);
    announcer.passed(true, 0);
    assert.deepEqual(backend.last, []);
  });

  it('unhealthy_after failed passes in a row withdraw every VIP; a good pass brings them back', async () => {
    const { announcer, backend, quorum, changes, lines } = setup([WEB, MAIL]);
    await announcer.start();
    quorum.add(WEB).add(MAIL);
    announcer.passed(true, 0);
    announcer.passed(false, 2);
    assert.deepEqual(backend.last, ['192.0.2.10', '192.0.2.25']);
    announcer.passed(false, 3);
    assert.deepEqual(backend.last, []);
    announcer.passed(true, 0);
    assert.deepEqual(backend.last, ['192.0.2.10', '192.0.2.25']);
    assert.deepEqual(changes.slice(2), [
      '192.0.2.10 - daemon_unhealthy',
      '192.0.2.25 - daemon_unhealthy',
      '192.0.2.10 + daemon_recovered',
      '192.0.2.25 + daemon_recovered',
    ]);
    const w = lines.find((l) => l['event'] === 'vip_withdrawn');
    assert.equal(w?.['level'], 'warn');
    assert.equal(w?.['failed_passes'], 3);
    assert.equal(w?.['msg'], 'VIP 192.0.2.10 withdrawn (daemon_unhealthy)');
  });

  it('a reload adds a VIP (announced once healthy) and drops one (removed_from_config)', async () => {
    const { announcer, backend, quorum, changes, lines } = setup([WEB, MAIL]);
    await announcer.start();
    quorum.add(WEB).add(MAIL).add(V6);
    announcer.passed(true, 0);
    announcer.setSnapshot(snap([WEB, V6]));
    assert.deepEqual(backend.last, ['192.0.2.10', '2001:db8::10']);
    assert.deepEqual(changes.slice(2), ['192.0.2.25 - removed_from_config', '2001:db8::10 + first_results']);
    const removed = lines.find((l) => l['reason'] === 'removed_from_config');
    assert.equal(removed?.['level'], 'info');
    assert.equal(removed?.['prefix'], '192.0.2.25/32');
    assert.equal(lines.find((l) => l['vip'] === '2001:db8::10')?.['prefix'], '2001:db8::10/128');
  });

  it('regression: a reload adding a service to an announced VIP no longer withdraws it before that service\'s first results', async () => {
    const { announcer, backend, quorum, unchecked, changes, clock } = setup([WEB]);
    await announcer.start();
    quorum.add(WEB);
    announcer.passed(true, 0);
    // The new service's reals are not checked yet: its quorum (false) must not flap the route.
    unchecked.add(TLS);
    announcer.setSnapshot(snap([WEB, TLS]));
    announcer.passed(true, 0);
    assert.deepEqual(backend.last, ['192.0.2.10']);
    assert.deepEqual(changes, ['192.0.2.10 + first_results']);
    // Checked and up: still announced. Checked and down: withdrawn like any quorum loss.
    unchecked.delete(TLS);
    quorum.add(TLS);
    announcer.passed(true, 0);
    assert.deepEqual(backend.last, ['192.0.2.10']);
    quorum.delete(TLS);
    clock.now += 1000;
    announcer.passed(true, 0);
    assert.deepEqual(changes, ['192.0.2.10 + first_results', '192.0.2.10 - quorum_lost']);
  });

  it('a service added by a reload that never gets a result counts after its first-round deadline', async () => {
    const { announcer, backend, quorum, unchecked, clock } = setup([WEB]);
    await announcer.start();
    quorum.add(WEB);
    announcer.passed(true, 0);
    unchecked.add(TLS);
    announcer.setSnapshot(snap([WEB, TLS]));
    // The fixture's checks: interval 1 s + timeout 0.5 s, + 1 s.
    clock.now += 2_499;
    announcer.passed(true, 0);
    assert.deepEqual(backend.last, ['192.0.2.10']);
    clock.now += 1;
    announcer.passed(true, 0);
    assert.deepEqual(backend.last, []);
  });

  it('a pending service does not let a VIP that is not announced be announced', async () => {
    const { announcer, backend, quorum, unchecked } = setup([WEB]);
    await announcer.start();
    announcer.passed(true, 0);
    assert.deepEqual(backend.last, []);
    quorum.add(WEB);
    unchecked.add(TLS);
    announcer.setSnapshot(snap([WEB, TLS]));
    announcer.passed(true, 0);
    assert.deepEqual(backend.last, []);
  });

  it('quorum_lost names the services without quorum', async () => {
    const { announcer, quorum, lines } = setup([WEB, TLS]);
    await announcer.start();
    quorum.add(WEB).add(TLS);
    announcer.passed(true, 0);
    quorum.delete(TLS);
    announcer.passed(true, 0);
    const w = lines.find((l) => l['event'] === 'vip_withdrawn');
    assert.deepEqual(w?.['services_without_quorum'], [TLS]);
    assert.equal(w?.['msg'], `VIP 192.0.2.10 withdrawn (quorum_lost: no quorum in ${TLS})`);
  });

  it('adopted routes stay announced until the first results, then follow them', async () => {
    const { announcer, backend, quorum } = setup([WEB, MAIL], {}, new Map([['192.0.2.25', 4]]));
    await announcer.start();
    assert.equal(announcer.status().vips.find((v) => v.vip === '192.0.2.25')?.announced, true);
    announcer.passed(false, 1);
    assert.deepEqual(backend.sets, [], 'no change before results');
    quorum.add(WEB);
    announcer.passed(true, 0);
    assert.deepEqual(backend.last, ['192.0.2.10'], 'the adopted VIP without quorum is withdrawn at the first results');
  });

  it('a clean stop withdraws everything; a keeping stop (SIGUSR2) leaves the backend as it is', async () => {
    const a = setup([WEB]);
    await a.announcer.start();
    a.quorum.add(WEB);
    a.announcer.passed(true, 0);
    await a.announcer.stop(true);
    assert.deepEqual(a.backend.last, []);
    assert.equal(a.backend.closedWith, true);
    assert.deepEqual(a.changes, ['192.0.2.10 + first_results', '192.0.2.10 - stopping']);
    const b = setup([WEB]);
    await b.announcer.start();
    b.quorum.add(WEB);
    b.announcer.passed(true, 0);
    await b.announcer.stop(false);
    assert.deepEqual(b.backend.last, ['192.0.2.10']);
    assert.equal(b.backend.closedWith, false);
  });

  it('status: state, reasons, services with quorum', async () => {
    const { announcer, quorum } = setup([WEB], { holdDownMs: 60_000 });
    await announcer.start();
    quorum.add(WEB);
    announcer.passed(true, 0);
    quorum.delete(WEB);
    announcer.passed(true, 0);
    quorum.add(WEB);
    announcer.passed(true, 0);
    const v = announcer.status().vips[0]!;
    assert.equal(v.state, 'holding');
    assert.equal(v.announced, false);
    assert.equal(v.reason, 'quorum_lost');
    assert.ok(v.announce_at !== null);
    assert.deepEqual(v.services, [{ name: WEB, quorum: true }]);
    await announcer.stop(false);
  });
});

describe('exabgp API lines and answers', () => {
  it('announce and withdraw lines, /32 and /128', () => {
    assert.equal(exabgpLine(true, '192.0.2.10', 4), 'announce route 192.0.2.10/32 next-hop self');
    assert.equal(exabgpLine(false, '192.0.2.10', 4), 'withdraw route 192.0.2.10/32');
    assert.equal(exabgpLine(true, '2001:db8::10', 6), 'announce route 2001:db8::10/128 next-hop self');
  });
  it('acks as ExaBGP 4.2 writes them (shutdown carries pids)', () => {
    assert.equal(parseAck('done'), 'done');
    assert.equal(parseAck('error\r'), 'error');
    assert.equal(parseAck('shutdown 21978 21977'), 'shutdown');
    assert.equal(parseAck(''), null);
    assert.equal(parseAck('{"exabgp": "4.0.1"}'), null);
  });
});
