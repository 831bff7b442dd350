// Admin state, pure parts: maintenance file names, target matching, sources combined (the most
// restrictive wins), the store's change reports, and control commands against a configuration.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { combine, parseHostSpec, targetMatches } from '../../src/control/admin-model.js';
import type { AdminEntry, AdminTarget } from '../../src/control/admin-model.js';
import { parseMaintenanceName } from '../../src/control/maintenance-names.js';
import { AdminStore } from '../../src/control/admin-store.js';
import { covers, runCommand } from '../../src/control/commands.js';
import type { AdminRequest } from '../../src/control/protocol.js';
import { checkRequest } from '../../src/control/control-server.js';
import { snapshot } from '../helpers/reconcile-fixtures.js';

const v4 = (host: string, port: number | null = null) => ({ host, family: 4 as const, port });

describe('maintenance file names', () => {
  const cases: [string, AdminTarget | 'ignored' | 'error'][] = [
    ['10.0.0.11', { kind: 'host', real: v4('10.0.0.11') }],
    ['10.0.0.11:80', { kind: 'host', real: v4('10.0.0.11', 80) }],
    ['2001:db8::11', { kind: 'host', real: { host: '2001:db8::11', family: 6, port: null } }],
    ['[2001:DB8::11]:443', { kind: 'host', real: { host: '2001:db8::11', family: 6, port: 443 } }],
    ['web', { kind: 'service', service: 'web' }],
    ['web-v6.2', { kind: 'service', service: 'web-v6.2' }],
    ['web@10.0.0.11:80', { kind: 'real', service: 'web', real: v4('10.0.0.11', 80) }],
    ['web@10.0.0.11', { kind: 'real', service: 'web', real: v4('10.0.0.11') }],
    ['.10.0.0.11.swp', 'ignored'],
    ['10.0.0.11~', 'ignored'],
    ['web.dpkg-old', 'ignored'],
    ['web@nothost', 'error'],
    ['we b', 'error'],
    ['10.0.0.11:99999', 'error'],
  ];
  for (const [name, want] of cases) {
    it(`${JSON.stringify(name)} -> ${typeof want === 'string' ? want : JSON.stringify(want)}`, () => {
      const got = parseMaintenanceName(name);
      if (want === 'ignored') assert.deepEqual(got, { ok: false, ignored: true });
      else if (want === 'error') assert.equal(got.ok === false && !got.ignored, true, JSON.stringify(got));
      else assert.deepEqual(got, { ok: true, target: want });
    });
  }
});

describe('targets and combining sources', () => {
  const ref = { service: 'web', host: '10.0.0.11', port: 80 };
  it('matches by service name, by service and address (port optional), and host-wide', () => {
    assert.equal(targetMatches({ kind: 'service', service: 'web' }, ref), true);
    assert.equal(targetMatches({ kind: 'service', service: 'dns' }, ref), false);
    assert.equal(targetMatches({ kind: 'real', service: 'web', real: v4('10.0.0.11') }, ref), true);
    assert.equal(targetMatches({ kind: 'real', service: 'web', real: v4('10.0.0.11', 8080) }, ref), false);
    assert.equal(targetMatches({ kind: 'real', service: 'dns', real: v4('10.0.0.11') }, ref), false);
    assert.equal(targetMatches({ kind: 'host', real: v4('10.0.0.11', 80) }, ref), true);
    assert.equal(targetMatches({ kind: 'host', real: v4('10.0.0.12') }, ref), false);
  });

  const entry = (state: 'drain' | 'maint', source: AdminEntry['source'], target: AdminTarget): AdminEntry => ({ target, state, source, by: source, since: 0 });
  const table: [string, AdminEntry[], string][] = [
    ['no entry: ready', [], 'ready'],
    ['one drain', [entry('drain', 'operator', { kind: 'service', service: 'web' })], 'drain'],
    ['drain (operator) and maint (file): maint', [entry('drain', 'operator', { kind: 'service', service: 'web' }), entry('maint', 'maintenance', { kind: 'host', real: v4('10.0.0.11') })], 'maint'],
    ['maint (agent) and drain (operator): maint', [entry('maint', 'agent', { kind: 'real', service: 'web', real: v4('10.0.0.11', 80) }), entry('drain', 'operator', { kind: 'host', real: v4('10.0.0.11') })], 'maint'],
    ['an entry for another real does not count', [entry('maint', 'maintenance', { kind: 'host', real: v4('10.0.0.12') })], 'ready'],
  ];
  for (const [name, entries, want] of table) {
    it(name, () => {
      const v = combine(entries, ref);
      assert.equal(v.state, want);
      assert.equal(v.entries.length, entries.filter((e) => targetMatches(e.target, ref)).length);
    });
  }

  it('parses host specs, IPv6 with or without brackets, and refuses names', () => {
    assert.deepEqual(parseHostSpec('10.0.0.1:80'), v4('10.0.0.1', 80));
    assert.deepEqual(parseHostSpec('fe80::1'), { host: 'fe80::1', family: 6, port: null });
    assert.equal(parseHostSpec('web'), null);
  });
});

const snap = snapshot([
  { key: 'tcp:192.0.2.10:80', reals: ['10.0.0.1:80', '10.0.0.2:80'] },
  { key: 'tcp:192.0.2.10:443', reals: ['10.0.0.1:443', '10.0.0.2:443'] },
]);
// The fixture names each service after its key.
const WEB = 'tcp:192.0.2.10:80';
const TLS = 'tcp:192.0.2.10:443';

describe('admin store', () => {
  it('reports each real whose combined state changes, once, with the entries in force', () => {
    const store = new AdminStore();
    store.setSnapshot(snap);
    const c1 = store.put({ target: { kind: 'host', real: v4('10.0.0.1') }, state: 'drain', source: 'operator', by: 'op', since: 1 });
    assert.deepEqual(c1.map((c) => [c.service, c.real, c.from, c.to]), [[WEB, '10.0.0.1:80', 'ready', 'drain'], [TLS, '10.0.0.1:443', 'ready', 'drain']]);
    const c2 = store.replace('maintenance', [{ target: { kind: 'real', service: WEB, real: v4('10.0.0.1', 80) }, state: 'maint', source: 'maintenance', by: 'file x', since: 2 }]);
    assert.deepEqual(c2.map((c) => [c.real, c.from, c.to, c.entries.length]), [['10.0.0.1:80', 'drain', 'maint', 2]]);
    // Same state again: no change reported.
    assert.deepEqual(store.put({ target: { kind: 'host', real: v4('10.0.0.1') }, state: 'drain', source: 'operator', by: 'op2', since: 3 }), []);
    const c3 = store.remove('operator', () => true).changes;
    assert.deepEqual(c3.map((c) => [c.real, c.from, c.to]), [['10.0.0.1:443', 'drain', 'ready']]);
    assert.equal(store.view()(WEB, '10.0.0.1:80'), 'maint');
    assert.equal(store.view()(TLS, '10.0.0.1:443'), 'ready');
  });

  it('follows the configuration: a real added under an existing entry starts in that state', () => {
    const store = new AdminStore();
    store.setSnapshot(snapshot([{ key: WEB, reals: ['10.0.0.2:80'] }]));
    store.put({ target: { kind: 'host', real: v4('10.0.0.1') }, state: 'maint', source: 'operator', by: 'op', since: 1 });
    const changes = store.setSnapshot(snap);
    assert.deepEqual(changes.map((c) => [c.service, c.real, c.to]), [[WEB, '10.0.0.1:80', 'maint'], [TLS, '10.0.0.1:443', 'maint']]);
  });
});

describe('control commands', () => {
  const run = (store: AdminStore, req: AdminRequest) => runCommand(req, { store, snapshot: snap, by: 'socket uid 0', now: 1000 });
  const fresh = (): AdminStore => {
    const s = new AdminStore();
    s.setSnapshot(snap);
    return s;
  };

  it('an unknown service or real is an error naming what exists', () => {
    const store = fresh();
    const a = run(store, { v: 1, cmd: 'set', state: 'drain', service: 'nope' });
    assert.equal(a.reply.ok, false);
    assert.match(a.reply.ok ? '' : `${a.reply.code} ${a.reply.error}`, /LVSD_ADMIN_UNKNOWN_TARGET unknown service "nope" \(services: tcp:192\.0\.2\.10:80, tcp:192\.0\.2\.10:443\)/);
    const b = run(store, { v: 1, cmd: 'set', state: 'maint', service: WEB, real: '10.0.0.9:80' });
    assert.match(b.reply.ok ? '' : b.reply.error, /has no real 10\.0\.0\.9:80 \(reals: 10\.0\.0\.1:80, 10\.0\.0\.2:80\)/);
    const c = run(store, { v: 1, cmd: 'set', state: 'maint', host: '10.0.0.9' });
    assert.match(c.reply.ok ? '' : c.reply.error, /no service has a real 10\.0\.0\.9/);
    const d = run(store, { v: 1, cmd: 'set', state: 'maint', service: WEB, real: 'host.example' });
    assert.equal(d.reply.ok ? '' : d.reply.code, 'LVSD_CONTROL_BAD_REQUEST');
    assert.equal(store.entries().length, 0);
  });

  it('disable --real takes the host out of every service; enable brings it back', () => {
    const store = fresh();
    const off = run(store, { v: 1, cmd: 'set', state: 'maint', host: '10.0.0.1' });
    assert.equal(off.modified, true);
    assert.deepEqual(off.reply.ok && off.reply.changed.map((c) => `${c.real} ${c.to}`), ['10.0.0.1:80 maint', '10.0.0.1:443 maint']);
    const again = run(store, { v: 1, cmd: 'set', state: 'maint', host: '10.0.0.1' });
    assert.equal(again.modified, false);
    const on = run(store, { v: 1, cmd: 'set', state: 'ready', host: '10.0.0.1' });
    assert.deepEqual(on.reply.ok && on.reply.changed.map((c) => `${c.real} ${c.to}`), ['10.0.0.1:80 ready', '10.0.0.1:443 ready']);
    assert.equal(store.entries().length, 0);
  });

  it('enable removes the operator entries its target covers and reports what other sources still hold', () => {
    const store = fresh();
    run(store, { v: 1, cmd: 'set', state: 'drain', service: WEB, real: '10.0.0.2:80' });
    run(store, { v: 1, cmd: 'set', state: 'maint', service: TLS });
    store.replace('maintenance', [{ target: { kind: 'host', real: v4('10.0.0.2', 443) }, state: 'maint', source: 'maintenance', by: 'file /m/10.0.0.2:443', since: 5 }]);
    const on = run(store, { v: 1, cmd: 'set', state: 'ready', host: '10.0.0.2' });
    assert.deepEqual(on.reply.ok && on.reply.changed.map((c) => `${c.real} ${c.to}`), ['10.0.0.2:80 ready']);
    // The service-wide entry of TLS is not covered by a host, and the file is not the operator's.
    assert.deepEqual(on.reply.ok && on.reply.still.map((s) => `${s.real} ${s.state} ${s.because.join('; ')}`), [
      '10.0.0.2:443 maint maint by operator (socket uid 0); maint by maintenance (file /m/10.0.0.2:443)',
    ]);
    assert.equal(covers({ kind: 'service', service: TLS }, { kind: 'real', service: TLS, real: v4('10.0.0.1') }), true);
    assert.equal(covers({ kind: 'host', real: v4('10.0.0.1', 80) }, { kind: 'host', real: v4('10.0.0.1') }), false);
  });

  it('list shows entries, the reals not ready, and entries that match nothing', () => {
    const store = fresh();
    run(store, { v: 1, cmd: 'set', state: 'drain', service: WEB });
    store.replace('maintenance', [{ target: { kind: 'host', real: v4('10.9.9.9') }, state: 'maint', source: 'maintenance', by: 'file /m/10.9.9.9', since: 5 }]);
    const l = run(store, { v: 1, cmd: 'list' });
    assert.ok(l.reply.ok);
    assert.deepEqual(l.reply.admin.entries.map((e) => `${e.source} ${e.target} ${e.state} ${e.by} ${e.since}`), [
      `operator service ${WEB} drain socket uid 0 1970-01-01T00:00:01.000Z`,
      'maintenance host 10.9.9.9 maint file /m/10.9.9.9 1970-01-01T00:00:00.005Z',
    ]);
    assert.deepEqual(l.reply.admin.reals.map((r) => `${r.real} ${r.state}`), ['10.0.0.1:80 drain', '10.0.0.2:80 drain']);
    assert.deepEqual(l.reply.admin.unmatched, ['host 10.9.9.9 (maintenance: file /m/10.9.9.9)']);
  });

  it('requests are checked before they are run', () => {
    assert.equal(typeof checkRequest({ v: 2, cmd: 'list' }), 'string');
    assert.equal(typeof checkRequest({ v: 1, cmd: 'flush' }), 'string');
    assert.equal(typeof checkRequest({ v: 1, cmd: 'set', state: 'down', service: 'web' }), 'string');
    assert.equal(typeof checkRequest({ v: 1, cmd: 'set', state: 'drain', service: 7 }), 'string');
    assert.equal(typeof checkRequest({ v: 1, cmd: 'set', state: 'drain', service: 'web' }), 'object');
  });
});
