// TCP checker against real loopback listeners (IPv4 and IPv6): connect, banners, send/expect, failures, cleanup.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { checkTcp, TCP_MAX_READ } from '../../src/checks/tcp.js';
import { rawTcpAvailable } from '../../src/checks/tcp-connect.js';
import type { CheckTarget } from '../../src/checks/types.js';
import type { Family, TcpCheckSpec } from '../../src/config/model.js';

const FAMILIES: readonly { host: string; family: Family; shown: string }[] = [
  { host: '127.0.0.1', family: 4, shown: '127.0.0.1' },
  { host: '::1', family: 6, shown: '[::1]' },
];

function tcpTarget(host: string, family: Family, port: number, over: Partial<TcpCheckSpec> = {}): CheckTarget {
  const spec: TcpCheckSpec = {
    type: 'tcp', intervalMs: 1000, timeoutMs: 2000, rise: 1, fall: 1, port, send: null, expect: null, ...over,
  };
  return { address: { host, family, port }, spec, context: { serviceName: 'test', vip: null, fwmark: null, protocol: 'tcp' } };
}

/** A server whose per-connection behaviour is set by each test; it records what clients sent. */
class TestServer {
  readonly server: Server;
  onConnection: (socket: Socket) => void = () => {};
  received = '';
  readonly sockets = new Set<Socket>();

  constructor() {
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {}); // Our checks close with RST: ECONNRESET here is expected.
      socket.on('data', (d) => (this.received += d.toString('latin1')));
      this.onConnection(socket);
    });
  }

  async listen(host: string): Promise<number> {
    this.server.listen(0, host);
    await once(this.server, 'listening');
    return (this.server.address() as { port: number }).port;
  }

  reset(): void {
    this.received = '';
    this.onConnection = () => {};
  }

  /** Resolves once every accepted connection has closed on the server side too. */
  async drained(): Promise<void> {
    // Not events.once: it rejects on the 'error' (ECONNRESET) our RST close causes.
    for (const s of this.sockets) await new Promise((r) => s.once('close', r));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.server.close();
    await once(this.server, 'close');
  }
}

/** A port nothing listens on: bind one, then close it. */
async function freePort(host: string): Promise<number> {
  const s = createServer();
  s.listen(0, host);
  await once(s, 'listening');
  const { port } = s.address() as { port: number };
  s.close();
  await once(s, 'close');
  return port;
}

const never = new AbortController().signal;

for (const fam of FAMILIES) {
  describe(`checkTcp over IPv${fam.family}`, () => {
    const srv = new TestServer();
    let port = 0;
    const target = (over: Partial<TcpCheckSpec> = {}): CheckTarget => tcpTarget(fam.host, fam.family, port, over);

    before(async () => {
      port = await srv.listen(fam.host);
    });
    after(() => srv.close());

    test('a listener that only accepts is up', async () => {
      srv.reset();
      const r = await checkTcp(target(), never);
      assert.equal(r.up, true);
      assert.equal(r.code, 'ok');
      assert.equal(r.reason, `TCP connect ${fam.shown}:${port}: connected`);
      assert.ok(r.latencyMs >= 0);
    });

    test('connection refused', async () => {
      const closed = await freePort(fam.host);
      const r = await checkTcp(tcpTarget(fam.host, fam.family, closed), never);
      assert.equal(r.up, false);
      assert.equal(r.code, 'refused');
      assert.equal(r.reason, `TCP connect ${fam.shown}:${closed}: connection refused`);
    });

    test('an SMTP-like banner matching expect is up', async () => {
      srv.reset();
      srv.onConnection = (s) => s.write('220 mail ESMTP ready\r\n');
      const r = await checkTcp(target({ expect: '^220 ' }), never);
      assert.equal(r.code, 'ok');
      assert.equal(r.up, true);
    });

    test('a banner split across writes is matched once complete', async () => {
      srv.reset();
      srv.onConnection = (s) => {
        s.write('22');
        setTimeout(() => s.write('0 mail ESMTP\r\n'), 20);
      };
      const r = await checkTcp(target({ expect: '^220 mail' }), never);
      assert.equal(r.code, 'ok');
    });

    test('a wrong banner is banner_mismatch with a printable excerpt', async () => {
      srv.reset();
      srv.onConnection = (s) => s.end('554 go away\r\n');
      const r = await checkTcp(target({ expect: '^220 ' }), never);
      assert.equal(r.up, false);
      assert.equal(r.code, 'banner_mismatch');
      assert.match(r.reason, /"554 go away\\r\\n"/);
      assert.ok(r.reason.startsWith(`TCP connect ${fam.shown}:${port}: `));
    });

    test('send then expect: the server sees the bytes and the reply is matched', async () => {
      srv.reset();
      srv.onConnection = (s) => s.on('data', (d) => d.toString() === 'PING\r\n' && s.write('+PONG\r\n'));
      const r = await checkTcp(target({ send: 'PING\r\n', expect: '^\\+PONG' }), never);
      assert.equal(r.code, 'ok');
      assert.equal(srv.received, 'PING\r\n');
    });

    test('send without expect is up once the bytes are written', async () => {
      srv.reset();
      const r = await checkTcp(target({ send: 'QUIT\r\n' }), never);
      assert.equal(r.code, 'ok');
      await srv.drained();
      assert.equal(srv.received, 'QUIT\r\n');
    });

    test('a server that accepts and never speaks is a timeout when a reply is expected', async () => {
      srv.reset();
      const r = await checkTcp(target({ expect: '^220', timeoutMs: 150 }), never);
      assert.equal(r.up, false);
      assert.equal(r.code, 'timeout');
      assert.match(r.reason, /connected, no matching reply within 150 ms/);
    });

    test('a server that resets the connection is reset', async () => {
      srv.reset();
      srv.onConnection = (s) => s.resetAndDestroy();
      const r = await checkTcp(target({ expect: '^220' }), never);
      assert.equal(r.up, false);
      assert.equal(r.code, 'reset');
    });

    test('closed before sending anything is banner_mismatch', async () => {
      srv.reset();
      srv.onConnection = (s) => s.end();
      const r = await checkTcp(target({ expect: '^220' }), never);
      assert.equal(r.code, 'banner_mismatch');
      assert.match(r.reason, /closed by server before sending anything/);
    });

    test(`endless non-matching output stops after ${TCP_MAX_READ} bytes`, async () => {
      srv.reset();
      let written = 0;
      srv.onConnection = (s) => {
        const chunk = Buffer.alloc(1024, 'x');
        const pump = (): void => {
          while (!s.destroyed && written < 64 * 1024 * 1024) {
            written += chunk.length;
            if (!s.write(chunk)) return void s.once('drain', pump);
          }
        };
        pump();
      };
      const r = await checkTcp(target({ expect: '^220' }), never);
      assert.equal(r.code, 'banner_mismatch');
      assert.match(r.reason, new RegExp(`in the first ${TCP_MAX_READ} bytes`));
      await srv.drained();
      assert.ok(written < 32 * 1024 * 1024, `server wrote ${written} bytes`);
    });

    test('a server that says something else, then waits, is banner_mismatch at the timeout', async () => {
      srv.reset();
      srv.onConnection = (s) => void s.write('hello\r\n');
      const r = await checkTcp(target({ expect: '^220', timeoutMs: 150 }), never);
      // It talked, just not what we expect: a mismatch says more than a timeout.
      assert.equal(r.code, 'banner_mismatch');
      assert.match(r.reason, /"hello\\r\\n"/);
    });

    test('the check closes with RST, so no TIME_WAIT is left on the director', async () => {
      srv.reset();
      const closedWith: string[] = [];
      srv.onConnection = (s) => {
        s.on('error', (err: NodeJS.ErrnoException) => closedWith.push(err.code ?? err.message));
        s.on('end', () => closedWith.push('FIN'));
        s.write('220 ok\r\n');
      };
      const r = await checkTcp(target({ expect: '^220' }), never);
      assert.equal(r.code, 'ok');
      await srv.drained();
      assert.deepEqual(closedWith, ['ECONNRESET']);
    });

    test('an aborted caller signal ends a hanging check as cancelled', async () => {
      srv.reset();
      const ac = new AbortController();
      const pending = checkTcp(target({ expect: '^220', timeoutMs: 60_000 }), ac.signal);
      await once(srv.server, 'connection');
      ac.abort();
      const r = await pending;
      assert.equal(r.up, false);
      assert.equal(r.code, 'error');
      assert.match(r.reason, /: cancelled$/);
    });

    test('an already aborted signal opens no connection', async () => {
      srv.reset();
      let connections = 0;
      srv.onConnection = () => connections++;
      const ac = new AbortController();
      ac.abort();
      const r = await checkTcp(target(), ac.signal);
      assert.equal(r.code, 'error');
      assert.match(r.reason, /cancelled/);
      // A check that did connect would have been seen by now: run one real check after it.
      await checkTcp(target(), never);
      assert.equal(connections, 1);
    });

    test('an invalid expect pattern is an error result, not a throw', async () => {
      const r = await checkTcp(target({ expect: '(' }), never);
      assert.equal(r.code, 'error');
      assert.match(r.reason, /invalid expect pattern/);
    });

    test('a batch of checks leaves no handle or fd behind', async () => {
      srv.reset();
      srv.onConnection = (s) => s.write('220 ok\r\n');
      const before = await quiet();
      const closed = await freePort(fam.host);
      const results = await Promise.all([
        ...Array.from({ length: 10 }, () => checkTcp(target({ expect: '^220' }), never)),
        ...Array.from({ length: 10 }, () => checkTcp(target(), never)),
        // Mismatch is judged at the timeout once bytes have arrived: 2 s, not 100 ms, so that on a
        // loaded machine the banner is in by then (a CI run at load 20 saw 'timeout' here, and the
        // connections it left open broke the next test).
        ...Array.from({ length: 5 }, () => checkTcp(target({ expect: '^500', timeoutMs: 2000 }), never)),
        ...Array.from({ length: 5 }, () => checkTcp(tcpTarget(fam.host, fam.family, closed), never)),
      ]);
      assert.deepEqual(
        results.map((r) => r.code),
        [...Array(20).fill('ok'), ...Array(5).fill('banner_mismatch'), ...Array(5).fill('refused')],
      );
      await srv.drained();
      assert.deepEqual(await quiet(before), before);
    });

    test('a plain connect closes with RST as well, so no TIME_WAIT is left on the director', async () => {
      srv.reset();
      const closedWith: string[] = [];
      srv.onConnection = (s) => {
        s.on('error', (err: NodeJS.ErrnoException) => closedWith.push(err.code ?? err.message));
        s.on('end', () => closedWith.push('FIN'));
      };
      const before = await quiet();
      const r = await checkTcp(target(), never);
      assert.equal(r.code, 'ok');
      await srv.drained();
      assert.deepEqual(closedWith, ['ECONNRESET']);
      assert.deepEqual(await quiet(before), before);
    });

    test('a server that closes first leaves no fd behind (regression: RST after our auto-FIN leaked the fd)', async () => {
      srv.reset();
      srv.onConnection = (s) => s.end('554 bye\r\n');
      const before = await quiet();
      const results = await Promise.all(Array.from({ length: 10 }, () => checkTcp(target({ expect: '^220' }), never)));
      assert.ok(results.every((r) => r.code === 'banner_mismatch'));
      await srv.drained();
      assert.deepEqual(await quiet(before), before);
    });
  });
}

/**
 * A listener whose process never accepts (its event loop is blocked): once its accept queue is
 * full the kernel drops further SYNs, so a connect hangs as it does to a dead host.
 */
async function startNonAccepting(): Promise<{ port: number; stop: () => Promise<void> }> {
  const code = "const s=require('net').createServer().listen({host:'127.0.0.1',port:0,backlog:1},()=>{" +
    "process.stdout.write(s.address().port+'\\n');Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0)})";
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const exited = once(child, 'exit');
  return {
    port: Number(line.toString().trim()),
    stop: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

describe('checkTcp plain connect (raw handle) timeouts and the net.connect fallback', () => {
  test('a connect that never completes times out, is cancelled by the caller, and leaves no fd behind', async (t) => {
    const before = await quiet();
    const dead = await startNonAccepting();
    t.after(dead.stop);
    const target = tcpTarget('127.0.0.1', 4, dead.port, { timeoutMs: 200 });
    // The first connects fill the accept queue and succeed; then SYNs are dropped.
    let r = await checkTcp(target, never);
    for (let i = 0; i < 10 && r.code === 'ok'; i++) r = await checkTcp(target, never);
    assert.equal(r.code, 'timeout');
    assert.equal(r.reason, `TCP connect 127.0.0.1:${dead.port}: timed out after 200 ms`);
    const ac = new AbortController();
    const pending = checkTcp(tcpTarget('127.0.0.1', 4, dead.port, { timeoutMs: 60_000 }), ac.signal);
    setTimeout(() => ac.abort(), 50);
    const cancelled = await pending;
    assert.equal(cancelled.code, 'error');
    assert.equal(cancelled.reason, `TCP connect 127.0.0.1:${dead.port}: cancelled`);
    await dead.stop();
    assert.deepEqual(await quiet(before), before);
  });

  test('LVSD_TCP_CHECK=net (net.connect) gives the same results as the raw handle', async (t) => {
    assert.equal(rawTcpAvailable, true, 'Node 20 has the tcp_wrap binding');
    const srv = createServer((s) => s.on('error', () => {}));
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    t.after(() => srv.close());
    const up = (srv.address() as { port: number }).port;
    const down = await freePort('127.0.0.1');
    const here = [await checkTcp(tcpTarget('127.0.0.1', 4, up), never), await checkTcp(tcpTarget('127.0.0.1', 4, down), never)];
    const module = fileURLToPath(new URL('../../src/checks/tcp.js', import.meta.url));
    const script = `import(${JSON.stringify(module)}).then(async ({ checkTcp }) => {
      const t = (port) => ({ address: { host: '127.0.0.1', family: 4, port }, context: {}, spec: { type: 'tcp', intervalMs: 1000, timeoutMs: 2000, rise: 1, fall: 1, port, send: null, expect: null } });
      const s = new AbortController().signal;
      console.log(JSON.stringify([await checkTcp(t(${up}), s), await checkTcp(t(${down}), s)]));
    })`;
    const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, LVSD_TCP_CHECK: 'net' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 0);
    const there = JSON.parse(out) as { up: boolean; code: string; reason: string }[];
    assert.deepEqual(there.map((r) => [r.up, r.code, r.reason]), here.map((r) => [r.up, r.code, r.reason]));
  });
});

interface Usage {
  readonly resources: number;
  readonly fds: number;
}

function usage(): Usage {
  return { resources: process.getActiveResourcesInfo().length, fds: readdirSync('/proc/self/fd').length };
}

/**
 * Lets closing handles finish (close callbacks run on later loop turns) and returns active
 * resources and open fds; with `target`, stops as soon as both are back to it.
 */
async function quiet(target?: Usage): Promise<Usage> {
  let u = usage();
  for (let i = 0; i < 50 && (target === undefined || u.resources !== target.resources || u.fds !== target.fds); i++) {
    await new Promise((r) => setImmediate(r));
    u = usage();
  }
  return u;
}
