// Checker dispatch and the deadline helper: type -> checker mapping, runCheck never throws, timers and
// listeners released. No sockets are opened here.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkInternalErrors } from '../../src/checks/boundary.js';
import type { Boundary } from '../../src/checks/boundary.js';
import { startDeadline } from '../../src/checks/deadline.js';
import type { StopCause } from '../../src/checks/deadline.js';
import { checkDns } from '../../src/checks/dns.js';
import { checkHttp } from '../../src/checks/http.js';
import { checkerFor, runCheck } from '../../src/checks/index.js';
import { checkMisc } from '../../src/checks/misc.js';
import { checkNone } from '../../src/checks/none.js';
import { checkPing } from '../../src/checks/ping.js';
import { checkTcp } from '../../src/checks/tcp.js';
import { checkUdp } from '../../src/checks/udp.js';
import type { CheckTarget } from '../../src/checks/types.js';
import type { CheckSpec, CheckType } from '../../src/config/model.js';

function target(spec: CheckSpec): CheckTarget {
  return {
    address: { host: '127.0.0.1', family: 4, port: 80 },
    spec,
    context: { serviceName: 'test', vip: null, fwmark: null, protocol: 'tcp' },
  };
}

const common = { intervalMs: 1000, timeoutMs: 1000, rise: 1, fall: 1, port: 80 };

describe('checkerFor', () => {
  test('maps every check type to its checker', () => {
    const expected: Record<Exclude<CheckType, 'dns'>, unknown> = {
      tcp: checkTcp, http: checkHttp, https: checkHttp, misc: checkMisc, udp: checkUdp, ping: checkPing, none: checkNone,
    };
    for (const [type, checker] of Object.entries(expected)) assert.equal(checkerFor(type as CheckType), checker, type);
  });

  test('dns is loaded on first use (dns-packet stays out of memory without DNS checks) and is checkDns', async () => {
    const lazy = checkerFor('dns');
    assert.notEqual(lazy, checkDns);
    const ac = new AbortController();
    ac.abort();
    const spec = { ...common, type: 'dns', query: 'example.test', queryType: 'A', transport: 'udp', expectRcode: 'NOERROR', expectAnswer: null } as CheckSpec;
    const viaLazy = await lazy(target(spec), ac.signal);
    const direct = await checkDns(target(spec), ac.signal);
    assert.deepEqual([viaLazy.up, viaLazy.code, viaLazy.reason], [direct.up, direct.code, direct.reason]);
  });

  test('throws on a type the schema should have refused', () => {
    assert.throws(() => checkerFor('ftp' as CheckType), /no checker for check type "ftp"/);
    assert.throws(() => checkerFor('toString' as CheckType), /no checker/);
  });
});

describe('runCheck', () => {
  test('none is always up', async () => {
    const r = await runCheck(target({ ...common, type: 'none' }), new AbortController().signal);
    assert.equal(r.up, true);
    assert.equal(r.code, 'ok');
  });

  test('an unexpected throw becomes a down result with code error', async () => {
    const bogus = { ...common, type: 'ftp' } as unknown as CheckSpec;
    const r = await runCheck(target(bogus), new AbortController().signal);
    assert.equal(r.up, false);
    assert.equal(r.code, 'error');
    assert.match(r.reason, /^FTP check 127\.0\.0\.1:80: internal error: TypeError: no checker for check type "ftp"$/);
  });

  test('an already cancelled TCP or HTTP check returns at once without connecting', async () => {
    const ac = new AbortController();
    ac.abort();
    const tcp = await runCheck(target({ ...common, type: 'tcp', send: null, expect: null }), ac.signal);
    assert.deepEqual([tcp.up, tcp.code, tcp.reason], [false, 'error', 'TCP connect 127.0.0.1:80: cancelled']);
    const http = await runCheck(
      target({
        ...common, type: 'http', method: 'GET', path: '/', host: null, expectStatus: [[200, 399]],
        expectBody: null, tlsVerify: false, headers: {},
      }),
      ac.signal,
    );
    assert.deepEqual([http.up, http.code, http.reason], [false, 'error', 'HTTP GET http://127.0.0.1:80/: cancelled']);
  });
});

describe('startDeadline', () => {
  /** A boundary that must never be reached: these deadlines' callbacks do not throw. */
  const quiet: Boundary = {
    checkType: 'test',
    caught: (err) => assert.fail(`unexpected throw reached the boundary: ${String(err)}`),
  };

  test('a throw in one check\'s onStop during the shared parent\'s abort stays in that check\'s boundary; the others still stop', () => {
    const parent = new AbortController();
    const causes: string[] = [];
    const caught: unknown[] = [];
    const before = checkInternalErrors().get('thrower') ?? 0;
    const boundary: Boundary = { checkType: 'thrower', caught: (err) => caught.push(err) };
    const a = startDeadline(parent.signal, 60_000, (c) => causes.push(`a:${c}`), quiet);
    const t = startDeadline(parent.signal, 60_000, () => {
      throw new RangeError('boom');
    }, boundary);
    const c = startDeadline(parent.signal, 60_000, (x) => causes.push(`c:${x}`), quiet);
    parent.abort();
    assert.deepEqual(causes, ['a:cancelled', 'c:cancelled']);
    assert.equal(caught.length, 1);
    assert.match(String(caught[0]), /RangeError: boom/);
    assert.equal(checkInternalErrors().get('thrower'), before + 1);
    for (const d of [a, t, c]) d.dispose();
  });

  test('fires once with "timeout" and releases its timer', async () => {
    const causes: StopCause[] = [];
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    let fired!: () => void;
    const stopped = new Promise<void>((r) => (fired = r));
    const d = startDeadline(new AbortController().signal, 5, (c) => {
      causes.push(c);
      fired();
    }, quiet);
    await stopped;
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(causes, ['timeout']);
    assert.equal(d.cause, 'timeout');
    d.dispose();
    assert.equal(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, before);
  });

  test('one listener on a shared parent serves every deadline; abort reaches each live one', () => {
    const parent = new AbortController();
    const causes: string[] = [];
    const a = startDeadline(parent.signal, 60_000, (c) => causes.push(`a:${c}`), quiet);
    const b = startDeadline(parent.signal, 60_000, (c) => causes.push(`b:${c}`), quiet);
    const c = startDeadline(parent.signal, 60_000, (x) => causes.push(`c:${x}`), quiet);
    b.dispose();
    parent.abort();
    assert.deepEqual(causes, ['a:cancelled', 'c:cancelled']);
    assert.equal(a.cause, 'cancelled');
    assert.equal(b.cause, null);
    a.dispose();
    c.dispose();
  });

  test('many deadlines on one long-lived signal do not trip the max-listeners warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const parent = new AbortController();
      const all = Array.from({ length: 100 }, () => startDeadline(parent.signal, 60_000, () => {}, quiet));
      for (const d of all) d.dispose();
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(warnings, []);
    } finally {
      process.off('warning', onWarning);
    }
  });

  test('an already aborted parent stops synchronously, without a timer', () => {
    const parent = new AbortController();
    parent.abort();
    let cause: StopCause | null = null;
    const d = startDeadline(parent.signal, 60_000, (c) => (cause = c), quiet);
    assert.equal(cause, 'cancelled');
    assert.equal(d.cause, 'cancelled');
  });
});
