// The per-check entries of /status (src/observe/status-checks.ts): each check's type and target as the
// check type's descriptor writes it, its own state and counters, in the order the tracker gives.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CheckSpec, RealConfig, ServiceConfig } from '../../src/config/model.js';
import type { CheckHealth } from '../../src/health/tracker.js';
import { checkStatuses } from '../../src/observe/status-checks.js';
import { probeKey } from '../../src/scheduler/probe-key.js';
import { realKey, serviceKey } from '../../src/model/keys.js';

const pos = { file: 'conf.d/x.yaml', line: 1, col: 1 };
const common = { intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 3, port: 8080 };
const http: CheckSpec = { ...common, type: 'https', method: 'GET', path: '/health', host: null, expectStatus: [[200, 399]], expectBody: null, tlsVerify: false, headers: {} };
const dns: CheckSpec = { ...common, port: 53, type: 'dns', query: 'example.org', queryType: 'AAAA', transport: 'tcp', expectRcode: 'NOERROR', expectAnswer: null };
const misc: CheckSpec = { ...common, type: 'misc', command: ['/usr/lib/check', '--secret', 'x'], dynamicWeight: false };
const ping: CheckSpec = { ...common, port: 0, type: 'ping' };

function v6real(checks: CheckSpec[]): RealConfig {
  const address = { host: '2001:db8::11', family: 6 as const, port: 8080 };
  return { key: realKey(address), address, weight: 1, forwarding: 'masq', check: checks[0]!, checks, slowStartMs: 0, pos };
}
const vip = { host: '2001:db8::1', family: 6 as const, port: 80 };
const real = v6real([http, dns, misc, ping]);
const service: ServiceConfig = { kind: 'address', name: 'web', key: serviceKey({ kind: 'address', protocol: 'tcp', vip }), family: 6, vip, protocol: 'tcp', scheduler: 'wlc', persistence: null, quiescent: false, quorum: 1, hysteresis: 0, notify: { commands: {}, timeoutMs: 10_000 }, reals: [real], sorry: [], pos };

function part(spec: CheckSpec, state: CheckHealth['health']['state'], successes: number, failures: number): CheckHealth {
  const lastResult = state === 'unknown' ? null : { up: state === 'up', code: state === 'up' ? ('ok' as const) : ('timeout' as const), reason: `r-${spec.type}`, latencyMs: 1.26 };
  return {
    probeKey: probeKey(real, service, spec),
    type: spec.type,
    thresholds: { rise: spec.rise, fall: spec.fall },
    health: { state, successes, failures, checks: successes + failures, lastResult, lastCheckAt: lastResult ? 2000 : null, since: 1000, weight: null },
  };
}

describe('per-check status entries', () => {
  it('name each check by type and target, with its own state, streak and last result', () => {
    const out = checkStatuses(service, real, [part(http, 'up', 4, 0), part(dns, 'down', 0, 3), part(misc, 'up', 1, 0), part(ping, 'unknown', 0, 0)])!;
    assert.deepEqual(out.map((c) => [c.index, c.type, c.target]), [
      [1, 'https', 'https://[2001:db8::11]:8080/health'],
      [2, 'dns', '[2001:db8::11]:53 tcp AAAA example.org'],
      [3, 'misc', '/usr/lib/check for [2001:db8::11]:8080'],
      [4, 'ping', '[2001:db8::11]'],
    ]);
    assert.deepEqual(out[1], {
      index: 2, type: 'dns', target: '[2001:db8::11]:53 tcp AAAA example.org', health: 'down', rise: 2, fall: 3,
      consecutive_successes: 0, consecutive_failures: 3, checks: 3, reason: 'r-dns', code: 'timeout', latency_ms: 1.3,
      last_check_at: new Date(2000).toISOString(), last_change_at: new Date(1000).toISOString(),
    });
    assert.deepEqual([out[3]!.reason, out[3]!.code, out[3]!.latency_ms, out[3]!.last_check_at], [null, null, null, null]);
    assert.ok(!out[2]!.target.includes('--secret'), 'a misc check shows its program, not its arguments');
  });

  it('is null for a real with one check', () => {
    assert.equal(checkStatuses(service, real, null), null);
  });

  it('a check the snapshot no longer has (a reload between two reads) is shown by the host, not guessed', () => {
    const gone = { ...part(http, 'up', 1, 0), probeKey: 'no such probe' };
    assert.equal(checkStatuses(service, real, [gone])![0]!.target, '[2001:db8::11]');
  });
});
