// Metrics of VIP announce (lvsd.yaml `announce`): the announced bit per VIP read from the announcer
// at scrape time, and counters of changes by reason and of backend errors. Absent without announce.

import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { AnnounceStatus } from '../announce/announcer.js';

export interface AnnounceMetrics {
  change(reason: string): void;
  backendError(backend: string, kind: string): void;
}

export function registerAnnounceMetrics(registry: Registry, source: () => AnnounceStatus | null): AnnounceMetrics {
  const registers = [registry];
  new Gauge({
    name: 'lvsd_vip_announced',
    help: 'Whether lvsd announces the VIP route now (1) or not (0), per VIP of `announce`.',
    labelNames: ['vip'],
    registers,
    collect() {
      this.reset();
      for (const v of source()?.vips ?? []) this.set({ vip: v.vip }, v.announced ? 1 : 0);
    },
  });
  new Gauge({
    name: 'lvsd_vip_healthy',
    help: 'Whether the services deciding an announced VIP all have quorum (1) or not (0).',
    labelNames: ['vip'],
    registers,
    collect() {
      this.reset();
      for (const v of source()?.vips ?? []) this.set({ vip: v.vip }, v.healthy ? 1 : 0);
    },
  });
  new Gauge({
    name: 'lvsd_announce_backend_up',
    help: 'Whether the announce backend applied the last change (bird) or has a bridge connected and in order (exabgp): 1, else 0.',
    labelNames: ['backend'],
    registers,
    collect() {
      this.reset();
      const s = source();
      if (s) this.set({ backend: s.backend.backend }, s.backend.ok ? 1 : 0);
    },
  });
  new Gauge({
    name: 'lvsd_announce_daemon_healthy',
    help: 'Whether fewer than unhealthy_after reconcile passes in a row failed (1); 0 withdraws every VIP.',
    registers,
    collect() {
      this.reset();
      const s = source();
      if (s) this.set(s.daemon_healthy ? 1 : 0);
    },
  });
  const changes = new Counter({
    name: 'lvsd_announce_changes_total',
    help: 'VIP announces and withdraws, by reason (first_results, quorum_lost, quorum_back, hold_down_done, daemon_unhealthy, daemon_recovered, stopping, removed_from_config).',
    labelNames: ['reason'],
    registers,
  });
  const errors = new Counter({
    name: 'lvsd_announce_backend_errors_total',
    help: 'Announce backend failures: bird `command`/`interface` (an ip command failed), exabgp `ack_error` (ExaBGP answered error) and `socket`.',
    labelNames: ['backend', 'kind'],
    registers,
  });
  return {
    change: (reason) => changes.inc({ reason }),
    backendError: (backend, kind) => errors.inc({ backend, kind }),
  };
}
