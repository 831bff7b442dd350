// Per service metrics read at scrape time: reals configured and healthy, sorry servers in the
// kernel, and quorum, healthy weight and slow start as the last committed pass decided them.

import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { pairId } from '../model/keys.js';
import type { ServiceQuorum } from '../reconcile/quorum.js';
import { eachReal } from './metrics-sources.js';
import type { MetricsSources } from './metrics-sources.js';

export function registerServiceMetrics(registry: Registry, sources: MetricsSources): void {
  const registers = [registry];
  new Gauge({
    name: 'lvsd_service_reals',
    help: 'Reals configured for a service (sorry servers not included).',
    labelNames: ['service'],
    registers,
    collect() {
      this.reset();
      for (const s of sources.snapshot().services) this.set({ service: s.name }, s.reals.length);
    },
  });
  new Gauge({
    name: 'lvsd_service_healthy_reals',
    help: 'Reals of a service whose health is up.',
    labelNames: ['service'],
    registers,
    collect() {
      this.reset();
      for (const s of sources.snapshot().services) {
        let up = 0;
        for (const r of s.reals) if (sources.health(s.key, r.key)?.health.state === 'up') up++;
        this.set({ service: s.name }, up);
      }
    },
  });
  new Gauge({
    name: 'lvsd_service_sorry_active',
    help: 'Whether the sorry servers of a service are in the kernel table (1) or not (0).',
    labelNames: ['service'],
    registers,
    async collect() {
      const kernel = await sources.kernel();
      this.reset();
      if (!kernel.table) return; // unknown is absent, not 0
      for (const s of sources.snapshot().services) {
        if (s.sorry.length === 0) continue;
        const ks = kernel.table.services.get(s.key);
        const active = s.sorry.some((sorry) => ks?.reals.has(sorry.key) === true);
        this.set({ service: s.name }, active ? 1 : 0);
      }
    },
  });

  // Quorum (keepalived semantics) as the reconciler committed it; absent before the first pass.
  const perQuorum = (name: string, help: string, value: (q: ServiceQuorum) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['service'],
      registers,
      collect() {
        this.reset();
        const state = sources.services?.();
        if (!state) return;
        for (const s of sources.snapshot().services) {
          const q = state.get(s.key)?.quorum;
          if (q) this.set({ service: s.name }, value(q));
        }
      },
    });
  };
  perQuorum(
    'lvsd_service_quorum',
    'Whether a service has quorum (1) or has lost it (0): the sum of the weights of its healthy reals against quorum and hysteresis.',
    (q) => (q.up ? 1 : 0),
  );
  perQuorum('lvsd_service_healthy_weight', 'Sum of the weights of the healthy reals of a service (what quorum is compared with).', (q) => q.weightSum);
  new Gauge({
    name: 'lvsd_real_slow_start',
    help: 'Whether a real is ramping its weight after coming up (slow_start): 1 while ramping.',
    labelNames: ['service', 'real'],
    registers,
    collect() {
      this.reset();
      const ramps = sources.slowStarts?.();
      if (!ramps) return;
      for (const { service, real } of eachReal(sources)) {
        if (ramps.has(pairId(service.key, real.key))) this.set({ service: service.name, real: real.key }, 1);
      }
    },
  });
}
