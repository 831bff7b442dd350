// Per (service, real) metrics read at scrape time: health, weights (config, dynamic, kernel) and
// admin state, written as text (metrics-text.ts: prom-client's per-sample cost dominated a
// 10,000-real scrape); and the admin entries in force by source.

import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { RealConfig, ServiceConfig } from '../config/model.js';
import { labelValue, sampleValue } from './metrics-text.js';
import type { TextFamily } from './metrics-text.js';
import { eachReal } from './metrics-sources.js';
import type { MetricsSources } from './metrics-sources.js';

const ADMIN_VALUE = { ready: 0, drain: 1, maint: 2 } as const;

export function registerRealMetrics(registry: Registry, sources: MetricsSources, text: TextFamily[]): void {
  const registers = [registry];
  // Per (service, real): health and weights, read from the tracker and the config at scrape time,
  // written as text (metrics-text.ts: prom-client's per-sample cost dominated a 10,000-real scrape).
  // The label text of a pair, built once per (immutable) real config object: every per-real
  // family writes it on every scrape.
  const pairText = new WeakMap<RealConfig, { readonly service: ServiceConfig; readonly text: string }>();
  const pair = (service: ServiceConfig, real: RealConfig): string => {
    const hit = pairText.get(real);
    if (hit !== undefined && hit.service === service) return hit.text;
    const text = `service="${labelValue(service.name)}",real="${labelValue(real.key)}"`;
    pairText.set(real, { service, text });
    return text;
  };
  text.push({
    name: 'lvsd_real_up',
    help: 'Health of a real in a service: 1 up, 0 down or not checked yet.',
    type: 'gauge',
    lines(push) {
      for (const { service, real } of eachReal(sources)) {
        push(`lvsd_real_up{${pair(service, real)}} ${sources.health(service.key, real.key)?.health.state === 'up' ? 1 : 0}`);
      }
    },
  });
  text.push({
    name: 'lvsd_real_weight',
    help: 'Weight of a real: source="config" as configured, "dynamic" as a MISC check asked for, "kernel" in the IPVS table now.',
    type: 'gauge',
    async lines(push) {
      const kernel = await sources.kernel();
      for (const { service, real } of eachReal(sources)) {
        const labels = pair(service, real);
        push(`lvsd_real_weight{${labels},source="config"} ${sampleValue(real.weight)}`);
        const dynamic = sources.health(service.key, real.key)?.health.weight;
        if (dynamic !== undefined && dynamic !== null) push(`lvsd_real_weight{${labels},source="dynamic"} ${sampleValue(dynamic)}`);
        const k = kernel.table?.services.get(service.key)?.reals.get(real.key);
        if (k) push(`lvsd_real_weight{${labels},source="kernel"} ${sampleValue(k.weight)}`);
      }
    },
  });
  text.push({
    name: 'lvsd_real_admin_state',
    help: 'Admin state of a real in a service: 0 ready, 1 drain (weight 0, kept), 2 maint (removed when idle).',
    type: 'gauge',
    lines(push) {
      const admin = sources.admin?.();
      for (const { service, real } of eachReal(sources)) {
        push(`lvsd_real_admin_state{${pair(service, real)}} ${ADMIN_VALUE[admin?.verdict(service.key, real.key).state ?? 'ready']}`);
      }
    },
  });
  new Gauge({
    name: 'lvsd_admin_entries',
    help: 'Drain and maintenance entries in force, by source (operator, maintenance, agent) and state.',
    labelNames: ['source', 'state'],
    registers,
    collect() {
      this.reset();
      for (const source of ['operator', 'maintenance', 'agent']) for (const state of ['drain', 'maint']) this.set({ source, state }, 0);
      for (const e of sources.admin?.()?.entries() ?? []) this.inc({ source: e.source, state: e.state });
    },
  });
}
