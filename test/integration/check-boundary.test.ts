// The checkers' failure boundary (src/checks/boundary.ts): an exception thrown inside a checker's
// callback (socket event, raw-handle callback, deadline timer, write callback) ends that check as a
// failed result with a reason and a count, and never reaches the process. The throws are injected
// into values the checkers read from inside those callbacks, against real loopback servers.

import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { probeAgent } from '../../src/checks/agent.js';
import { checkInternalErrors } from '../../src/checks/boundary.js';
import { runCheck } from '../../src/checks/index.js';
import { compilePattern } from '../../src/checks/socket-util.js';
import type { CheckTarget } from '../../src/checks/types.js';
import type { CheckSpec } from '../../src/config/model.js';

const live = (): AbortSignal => new AbortController().signal;
const uncaught: unknown[] = [];
const record = (err: unknown): void => void uncaught.push(err);

function target(spec: CheckSpec): CheckTarget {
  return {
    address: { host: '127.0.0.1', family: 4, port: spec.port },
    spec,
    context: { serviceName: 'boundary', vip: null, fwmark: null, protocol: 'tcp' },
  };
}

const common = { intervalMs: 1000, timeoutMs: 2000, rise: 1, fall: 1 } as const;

/** A value whose getter answers `value` `good` times, then throws (injected fault). */
function throwsAfter<T>(good: number, value: T, what: string): { get(): T } {
  let reads = 0;
  return {
    get(): T {
      reads += 1;
      if (reads > good) throw new RangeError(`injected fault reading ${what}`);
      return value;
    },
  };
}

/** A pattern object from the checkers' cache whose test() throws: the checkers call it in 'data'/'message' handlers. */
function poisonPattern(source: string): void {
  const re = compilePattern(source);
  Object.defineProperty(re, 'test', {
    configurable: true,
    value: () => {
      throw new RangeError(`injected fault in /${source}/`);
    },
  });
}

/** expect_status that throws when the status is judged (inside the raw handle's onread, or the socket's 'data'). */
const poisonRanges = {
  [Symbol.iterator](): Iterator<readonly [number, number]> {
    throw new RangeError('injected fault judging the status');
  },
} as unknown as readonly (readonly [number, number])[];

function internal(type: string): number {
  return checkInternalErrors().get(type) ?? 0;
}

describe('failure boundary: a throw inside a checker callback is a failed result, never an uncaught exception', () => {
  let server: Server;
  let port: number;
  const sockets = new Set<Socket>();
  let greet = '220 ready\r\n';
  before(async () => {
    process.on('uncaughtException', record);
    server = createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
      s.on('data', (d) => {
        if (d.toString('latin1').startsWith('GET ')) s.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
      });
      if (greet !== '') s.write(greet);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    process.off('uncaughtException', record);
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    assert.deepEqual(uncaught, [], 'nothing reached the process');
  });

  it('tcp expect: a throw in the socket\'s data handler', async () => {
    poisonPattern('^220 boundary-data');
    const before = internal('tcp');
    const r = await runCheck(target({ ...common, type: 'tcp', port, send: null, expect: '^220 boundary-data' }), live());
    assert.equal(r.up, false);
    assert.equal(r.code, 'error');
    assert.match(r.reason, /^TCP connect 127\.0\.0\.1:\d+: internal error: RangeError: injected fault in \/\^220 boundary-data\/$/);
    assert.equal(internal('tcp'), before + 1);
  });

  it('tcp send: a throw in the connect handler', async () => {
    const send = throwsAfter(1, 'PING\r\n', 'send');
    const spec = Object.defineProperty({ ...common, type: 'tcp', port, expect: null }, 'send', { get: send.get, enumerable: true }) as CheckSpec;
    const before = internal('tcp');
    const r = await runCheck(target(spec), live());
    assert.equal(r.code, 'error');
    assert.match(r.reason, /internal error: RangeError: injected fault reading send$/);
    assert.equal(internal('tcp'), before + 1);
  });

  it('tcp: a throw in the deadline\'s timer (the timeout handler)', async () => {
    greet = '';
    try {
      const timeout = throwsAfter(1, 150, 'timeoutMs');
      const spec = Object.defineProperty({ ...common, type: 'tcp', port, send: null, expect: 'never' }, 'timeoutMs', {
        get: timeout.get,
        enumerable: true,
      }) as CheckSpec;
      const before = internal('tcp');
      const r = await runCheck(target(spec), live());
      assert.equal(r.code, 'error');
      assert.match(r.reason, /internal error: RangeError: injected fault reading timeoutMs$/);
      assert.equal(internal('tcp'), before + 1);
    } finally {
      greet = '220 ready\r\n';
    }
  });

  it('tcp dialogue: a throw while starting a step in the connect handler', async () => {
    const step = Object.defineProperty({ expect: null }, 'send', { get: throwsAfter(0, 'HELO x\r\n', 'step send').get, enumerable: true });
    const spec = { ...common, type: 'tcp', port, send: null, expect: null, dialogue: [step] } as unknown as CheckSpec;
    const before = internal('tcp');
    const r = await runCheck(target(spec), live());
    assert.equal(r.code, 'error');
    assert.match(r.reason, /^TCP dialogue 127\.0\.0\.1:\d+: step 1 of 1: internal error: RangeError: injected fault reading step send$/);
    assert.equal(internal('tcp'), before + 1);
  });

  it('http (raw handle): a throw in onread judging the status', async () => {
    const spec = {
      ...common, type: 'http', port, method: 'GET', path: '/raw', host: null, expectStatus: poisonRanges,
      expectBody: null, tlsVerify: false, headers: {},
    } as CheckSpec;
    const before = internal('http');
    greet = '';
    const r = await runCheck(target(spec), live()).finally(() => (greet = '220 ready\r\n'));
    assert.equal(r.code, 'error');
    assert.match(r.reason, /^HTTP GET http:\/\/127\.0\.0\.1:\d+\/raw: internal error: RangeError: injected fault judging the status$/);
    assert.equal(internal('http'), before + 1);
  });

  it('udp expect: a throw in the message handler', async () => {
    const peer = createSocket('udp4');
    peer.on('message', (_m, rinfo) => peer.send('PONG', rinfo.port, rinfo.address));
    await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', resolve));
    try {
      poisonPattern('^PONG boundary');
      const before = internal('udp');
      const r = await runCheck(
        target({ ...common, type: 'udp', port: peer.address().port, send: 'PING', expect: '^PONG boundary' }),
        live(),
      );
      assert.equal(r.code, 'error');
      assert.match(r.reason, /^UDP 127\.0\.0\.1:\d+: internal error: RangeError: injected fault in \/\^PONG boundary\/$/);
      assert.equal(internal('udp'), before + 1);
    } finally {
      peer.close();
    }
  });

  it('agent: a throw in the connect handler is a failed poll, counted as type agent', async () => {
    const t = Object.defineProperty({ host: '127.0.0.1', port, timeoutMs: 2000 }, 'send', {
      get: throwsAfter(0, 'x', 'agent send').get,
      enumerable: true,
    }) as Parameters<typeof probeAgent>[0];
    const before = internal('agent');
    const r = await probeAgent(t);
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.error, /^agent 127\.0\.0\.1:\d+: internal error: RangeError: injected fault reading agent send$/);
    assert.equal(internal('agent'), before + 1);
  });
});
