// The issue-12 checkers (udp, tcp dialogue, http digest and urls, ping) classify a local fd shortage
// as not_run, like the others: a real probe process under prlimit with its fd table exhausted.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { tcpListener } from '../helpers/daemon-process.js';

describe('new checkers under an exhausted fd table', () => {
  it('udp, dialogue, digest, urls and ping return not_run with EMFILE (health left alone)', async () => {
    const real = await tcpListener();
    const checksUrl = new URL('../../src/checks/index.js', import.meta.url).href;
    const script = `
      import { openSync } from 'node:fs';
      const { runCheck } = await import(${JSON.stringify(checksUrl)});
      const held = [];
      try { for (;;) held.push(openSync('/dev/null', 'r')); } catch (e) { if (e.code !== 'EMFILE') throw e; }
      const ctx = { serviceName: 's', vip: null, fwmark: null, protocol: 'tcp' };
      const address = { host: '127.0.0.1', port: ${real.port}, family: 4 };
      const base = { intervalMs: 2000, timeoutMs: 1000, rise: 1, fall: 1, port: ${real.port} };
      const http = { ...base, type: 'http', method: 'GET', path: '/', host: null, expectStatus: [[200, 399]], expectBody: null, tlsVerify: false, headers: {} };
      const page = { path: '/', expectStatus: [[200, 200]], expectBody: null, expectDigest: null };
      const specs = [
        { ...base, type: 'udp', send: 'x', expect: null },
        { ...base, type: 'tcp', send: null, expect: null, dialogue: [{ send: null, expect: '^220' }] },
        { ...http, expectDigest: 'd41d8cd98f00b204e9800998ecf8427e' },
        { ...http, urls: [page, { ...page, path: '/b' }] },
        { ...base, type: 'ping' },
      ];
      const out = [];
      for (const spec of specs) out.push(await runCheck({ address, spec, context: ctx }, new AbortController().signal));
      process.stdout.write(JSON.stringify(out));
    `;
    const child = spawn('prlimit', ['--nofile=64:64', process.execPath, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    await real.close();
    assert.equal(status, 0, err);
    const results = JSON.parse(out) as { up: boolean; code: string; notRun?: string; reason: string }[];
    assert.equal(results.length, 5);
    for (const r of results) {
      assert.deepEqual([r.up, r.code, r.notRun], [false, 'not_run', 'EMFILE'], r.reason);
    }
  });
});
