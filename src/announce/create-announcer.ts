// Builds the announcer and its backend from lvsd.yaml `announce` (null when not configured), with
// the metric hooks; it subscribes to the reconcile passes, the daemon forwards reloads and the stop.

import type { Snapshot } from '../config/model.js';
import type { Logger } from '../log.js';
import type { AnnounceBackend } from './backend.js';
import { BirdBackend } from './bird-backend.js';
import { ExabgpBackend } from './exabgp-backend.js';
import { Announcer } from './announcer.js';

export interface AnnouncerHooks {
  readonly change: (reason: string) => void;
  readonly backendError: (backend: string, kind: string) => void;
}

export interface CreateAnnouncerOptions {
  readonly logger: Logger;
  readonly dryRun: boolean;
  /** The real has a first health result. */
  readonly checked: (serviceKey: string, realKey: string) => boolean;
  readonly hooks: () => AnnouncerHooks | null;
}

export function createAnnouncer(snapshot: Snapshot, options: CreateAnnouncerOptions): Announcer | null {
  const config = snapshot.global.announce;
  if (!config) return null;
  const { logger, dryRun } = options;
  const onError = (kind: string): void => options.hooks()?.backendError(config.backend, kind);
  const backend: AnnounceBackend =
    config.backend === 'bird'
      ? new BirdBackend({ interface: config.interface, logger, dryRun, onError })
      : new ExabgpBackend({ socket: config.socket, socketGroup: config.socketGroup, logger, onError });
  return new Announcer({
    logger,
    backend,
    snapshot,
    config,
    checked: options.checked,
    onChange: (_vip, change) => options.hooks()?.change(change.reason),
  });
}
