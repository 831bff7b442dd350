// The floor under the TCP checks: CPU per bare Node connect + RST close on loopback, no lvsd code,
// run in its own process against the same server, to tell lvsd's overhead from Node's and the kernel's.

import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { loopbackHost } from './synthetic.js';

export interface FloorResult {
  readonly connects: number;
  readonly perS: number;
  readonly cpuUsPerConnect: number;
  /** Peak RSS of this bare process: what Node itself needs for this connection rate. */
  readonly peakRssMb: number;
}

function measure(port: number, n: number, concurrency: number): Promise<FloorResult> {
  let started = 0;
  let done = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  return new Promise((resolve) => {
    const one = (): void => {
      if (started >= n) return;
      const socket = connect({ host: loopbackHost(started++ % 10_000), port });
      socket.on('error', () => {});
      socket.once('connect', () => {
        socket.resetAndDestroy();
        if (++done < n) return one();
        const cpu = process.cpuUsage(cpu0);
        const ms = performance.now() - t0;
        resolve({
          connects: n,
          perS: Math.round(n / (ms / 1000)),
          cpuUsPerConnect: Math.round(((cpu.user + cpu.system) / n) * 10) / 10,
          peakRssMb: Math.round(process.resourceUsage().maxRSS / 102.4) / 10,
        });
      });
    };
    for (let i = 0; i < concurrency; i++) one();
  });
}

process.once('message', (m: { port: number; n: number; concurrency: number }) => {
  measure(m.port, m.n, m.concurrency).then(
    (r) => process.send!(r, () => process.exit(0)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
});
