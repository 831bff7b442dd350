// The gdnsd state file (lvsd.yaml `dns_state_file`) as a subscriber of the reconcile passes: after
// each pass, every VIP's health as that pass decided it; on a clean stop, every VIP DOWN first.

import type { Snapshot } from '../config/model.js';
import type { Logger } from '../log.js';
import { quorumOf } from '../reconcile/pass-report.js';
import type { PassPublished, PassSubscriber } from '../reconcile/pass-report.js';
import { renderExtfile, vipHealthAll } from '../observe/vip-health.js';
import { DnsStateFile } from './dns-state-file.js';

export class DnsStateFeed implements PassSubscriber {
  readonly #file: DnsStateFile;
  #snapshot: Snapshot;
  /** Set by a clean stop: no later pass may write a VIP UP again. */
  #withdrawn = false;

  constructor(snapshot: Snapshot, logger: Logger) {
    this.#snapshot = snapshot;
    this.#file = new DnsStateFile(logger);
  }

  setSnapshot(snapshot: Snapshot): void {
    this.#snapshot = snapshot;
  }

  /** Written after every pass whose VIP health differs from the file's. */
  published(p: PassPublished): void {
    const path = this.#snapshot.global.dnsStateFile;
    if (p.report === null || path === null || this.#withdrawn) return;
    this.#file.update(path, renderExtfile(vipHealthAll(this.#snapshot.services, (key) => quorumOf(p.decision, key))));
  }

  /**
   * A clean stop: every VIP DOWN (the services are about to be removed, so the DNS should send
   * clients elsewhere first). Resolves once written or failed (logged).
   */
  async withdraw(): Promise<void> {
    this.#withdrawn = true;
    const path = this.#snapshot.global.dnsStateFile;
    if (path === null) return;
    this.#file.update(path, renderExtfile(vipHealthAll(this.#snapshot.services, () => false)));
    await this.#file.settled();
  }
}
