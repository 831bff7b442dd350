// IPVS numbers straight from the kernel (through the IpvsRunner, cached by KernelView): connections,
// packets and bytes per managed service and real. Only services in the config are exported, so the
// label sets stay bounded by the config whatever else the kernel holds.

import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Snapshot } from '../config/model.js';
import type { KernelState } from './kernel-view.js';
import type { TrafficStats } from '../ipvs/model.js';
import { labelValue, sampleValue } from './metrics-text.js';
import type { TextFamily } from './metrics-text.js';

interface KernelSources {
  snapshot(): Snapshot;
  kernel(): Promise<KernelState>;
}

type Direction = 'in' | 'out';

/** Reads one kernel state per scrape for every metric here (KernelView shares the read anyway). */
export function registerKernelMetrics(registry: Registry, sources: KernelSources, text: TextFamily[]): void {
  const registers = [registry];

  new Gauge({
    name: 'lvsd_ipvs_read_successful',
    help: 'Whether the last read of the kernel IPVS table, counters and stats succeeded (1) or not (0).',
    registers,
    async collect() {
      const k = await sources.kernel();
      this.set(k.at !== null && k.error === null ? 1 : 0);
    },
  });
  new Gauge({
    name: 'lvsd_ipvs_service_present',
    help: 'Whether a configured service is in the kernel IPVS table (1) or not (0).',
    labelNames: ['service'],
    registers,
    async collect() {
      const k = await sources.kernel();
      this.reset();
      if (!k.table) return;
      for (const s of sources.snapshot().services) this.set({ service: s.name }, k.table.services.has(s.key) ? 1 : 0);
    },
  });

  // Per real: written as text (metrics-text.ts), like the other per-real families.
  const connGauge = (name: string, help: string, pick: 'activeConns' | 'inactiveConns'): void => {
    text.push({
      name,
      help,
      type: 'gauge',
      async lines(push) {
        const k = await sources.kernel();
        for (const s of sources.snapshot().services) {
          const service = labelValue(s.name);
          for (const [real, c] of k.counters?.get(s.key) ?? []) push(`${name}{service="${service}",real="${labelValue(real)}"} ${sampleValue(c[pick])}`);
        }
      },
    });
  };
  connGauge('lvsd_ipvs_real_active_connections', 'Active (established) connections of a real in the kernel.', 'activeConns');
  connGauge('lvsd_ipvs_real_inactive_connections', 'Inactive connections of a real in the kernel.', 'inactiveConns');

  const serviceCounter = (name: string, help: string, each: (stats: TrafficStats, put: (value: number, direction?: Direction) => void) => void, directed: boolean): void => {
    new Counter({
      name,
      help,
      labelNames: directed ? ['service', 'direction'] : ['service'],
      registers,
      async collect() {
        const k = await sources.kernel();
        this.reset();
        if (!k.stats) return;
        for (const s of sources.snapshot().services) {
          const st = k.stats.get(s.key);
          if (!st) continue;
          each(st.total, (value, direction) => this.inc(direction ? { service: s.name, direction } : { service: s.name }, value));
        }
      },
    });
  };
  const realCounter = (name: string, help: string, each: (stats: TrafficStats, put: (value: number, direction?: Direction) => void) => void): void => {
    text.push({
      name,
      help,
      type: 'counter',
      async lines(push) {
        const k = await sources.kernel();
        if (!k.stats) return;
        for (const s of sources.snapshot().services) {
          const service = labelValue(s.name);
          for (const [real, st] of k.stats.get(s.key)?.reals ?? []) {
            const labels = `service="${service}",real="${labelValue(real)}"`;
            each(st, (value, direction) => push(`${name}{${labels}${direction ? `,direction="${direction}"` : ''}} ${sampleValue(value)}`));
          }
        }
      },
    });
  };

  const conns = (st: TrafficStats, put: (v: number) => void): void => put(st.connections);
  const packets = (st: TrafficStats, put: (v: number, d: Direction) => void): void => {
    put(st.inPackets, 'in');
    put(st.outPackets, 'out');
  };
  const bytes = (st: TrafficStats, put: (v: number, d: Direction) => void): void => {
    put(st.inBytes, 'in');
    put(st.outBytes, 'out');
  };
  const since = ' (kernel counter; restarts when the entry is re-created)';
  serviceCounter('lvsd_ipvs_service_connections_total', `Connections scheduled by a service${since}.`, conns, false);
  serviceCounter('lvsd_ipvs_service_packets_total', `Packets through a service by direction${since}.`, packets, true);
  serviceCounter('lvsd_ipvs_service_bytes_total', `Bytes through a service by direction${since}.`, bytes, true);
  realCounter('lvsd_ipvs_real_connections_total', `Connections scheduled to a real${since}.`, conns);
  realCounter('lvsd_ipvs_real_packets_total', `Packets to and from a real by direction${since}.`, packets);
  realCounter('lvsd_ipvs_real_bytes_total', `Bytes to and from a real by direction${since}.`, bytes);
}
