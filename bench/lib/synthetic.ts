// Synthetic snapshots for benchmarks: N reals on distinct loopback addresses 127.0.x.y.

import type { CheckSpec, GlobalConfig, RealConfig, ServiceConfig, Snapshot } from '../../src/config/model.js';
import { realKey, serviceKey } from '../../src/model/keys.js';

export type BenchCheckType = 'tcp' | 'http';

/** 127.0.0.0/8 is all loopback on Linux, so one listener on 0.0.0.0 answers every one of these. */
export function loopbackHost(i: number): string {
  return `127.0.${1 + Math.floor(i / 254)}.${1 + (i % 254)}`;
}

function spec(type: BenchCheckType, port: number, intervalMs: number): CheckSpec {
  const common = { intervalMs, timeoutMs: Math.min(intervalMs, 3000), rise: 2, fall: 3, port };
  if (type === 'tcp') return { type: 'tcp', ...common, send: null, expect: null };
  return {
    type: 'http', ...common, method: 'GET', path: '/health', host: null, expectStatus: [[200, 399]],
    expectBody: null, tlsVerify: false, headers: {},
  };
}

export function syntheticSnapshot(opts: { type: BenchCheckType; reals: number; port: number; intervalMs: number; maxConcurrentChecks: number }): Snapshot {
  const pos = { file: 'bench', line: 1, col: 1 };
  const check = spec(opts.type, opts.port, opts.intervalMs);
  const reals: RealConfig[] = [];
  for (let i = 0; i < opts.reals; i++) {
    const host = loopbackHost(i);
    const address = { host, family: 4 as const, port: opts.port };
    reals.push({ key: realKey(address), address, weight: 1, forwarding: 'gate', check, slowStartMs: 0, pos });
  }
  const service: ServiceConfig = {
    kind: 'address', name: 'bench', key: serviceKey({ kind: 'address', protocol: 'tcp', vip: { host: '192.0.2.1', family: 4, port: 80 } }), family: 4, vip: { host: '192.0.2.1', family: 4, port: 80 },
    protocol: 'tcp', scheduler: 'wlc', persistence: null, quiescent: false, quorum: 1, hysteresis: 0, notify: { commands: {}, timeoutMs: 10_000 }, reals, sorry: [], pos,
  };
  const global: GlobalConfig = {
    listen: { host: '127.0.0.1', port: 0 }, ipvsadm: '/bin/false', resyncIntervalMs: 30_000, drainTimeoutMs: 60_000,
    cleanStop: true, logLevel: 'info', stateDir: '/nonexistent', maxConcurrentChecks: opts.maxConcurrentChecks, checkThreads: null,
    controlSocket: '/nonexistent/control.sock', maintenanceDir: null, dnsStateFile: null, announce: null,
    syncDaemon: null,
  };
  return { global, services: [service], files: [], hash: `bench-${opts.type}-${opts.reals}` };
}
