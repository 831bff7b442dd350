// Backend `bird`: each announced VIP is a /32 (/128) address on a dummy interface lvsd owns
// (default lvsd0); BIRD, FRR or any speaker exporting connected/direct routes of that interface
// announces it. lvsd creates the interface when missing, refuses one that is not a dummy, and
// never touches the addresses of any other interface. --dry-run touches nothing and logs instead.

import type { Family } from '../config/model.js';
import { LvsdError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { AnnounceBackend, BackendErrorHook, BackendStatus, VipSet } from './backend.js';
import { prefixOf } from './backend.js';
import type { IpRunner } from './ip-command.js';
import { createIpRunner } from './ip-command.js';

export interface BirdBackendOptions {
  readonly interface: string;
  readonly logger: Logger;
  readonly dryRun: boolean;
  readonly onError: BackendErrorHook;
  /** Tests: another `ip`. */
  readonly ip?: IpRunner;
  /** Wait before retrying a failed apply (default 5 s). */
  readonly retryMs?: number;
}

/** An address on the interface: "192.0.2.10/32" -> its family. */
type Present = Map<string, Family>;

interface AddrInfo {
  readonly family?: string;
  readonly local?: string;
  readonly prefixlen?: number;
  readonly scope?: string;
}

export class BirdBackend implements AnnounceBackend {
  readonly kind = 'bird' as const;
  readonly #o: BirdBackendOptions;
  readonly #ip: IpRunner;
  readonly #name: string;
  /** Prefixes wanted on the interface, once the announcer has said (set() or a clean stop). */
  #desired: Present = new Map();
  #told = false;
  /** Prefixes of the configured VIPs: until told, those found on the interface stay (adopted). */
  #configured = new Set<string>();
  /** Prefixes on the interface as last read or applied. */
  #present: Present = new Map();
  /** The interface exists, is a dummy and is up. */
  #ready = false;
  #error: string | null = null;
  #dirty = false;
  #running: Promise<void> | null = null;
  #retry: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(options: BirdBackendOptions) {
    this.#o = options;
    this.#ip = options.ip ?? createIpRunner();
    this.#name = options.interface;
  }

  async start(configured: VipSet): Promise<VipSet> {
    const wanted = new Set([...configured].map(([vip, family]) => prefixOf(vip, family)));
    this.#configured = wanted;
    if (this.#o.dryRun) {
      this.#o.logger.info({ event: 'announce_dry_run', interface: this.#name }, `announce (dry run): would create dummy interface ${this.#name} if missing; no interface is touched`);
      this.#ready = true;
      return new Map();
    }
    const adopted = new Map<string, Family>();
    try {
      await this.#ensureInterface();
      this.#present = await this.#read();
      for (const [prefix, family] of this.#present) {
        if (wanted.has(prefix)) {
          adopted.set(prefix.slice(0, prefix.lastIndexOf('/')), family);
        } else {
          // Left by an earlier run (a crash, a VIP removed from the config while lvsd was down).
          this.#o.logger.info({ event: 'announce_stale_removed', interface: this.#name, address: prefix }, `removing ${prefix} from ${this.#name}: left by an earlier run, not announced by this config`);
        }
      }
      if (adopted.size > 0) {
        this.#o.logger.info({ event: 'announce_adopted', interface: this.#name, vips: [...adopted.keys()] }, `kept ${adopted.size} VIP address(es) found on ${this.#name} until the first results`);
      }
      if (this.#present.size > adopted.size) this.#kick();
    } catch (err) {
      this.#failed(err);
    }
    return adopted;
  }

  set(announced: VipSet): void {
    this.#desired = new Map([...announced].map(([vip, family]) => [prefixOf(vip, family), family]));
    this.#told = true;
    this.#kick();
  }

  async settled(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async close(withdraw: boolean): Promise<void> {
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
    if (withdraw) {
      this.#desired = new Map();
      this.#told = true;
      this.#kick();
    }
    await this.settled();
    this.#closed = true;
  }

  status(): BackendStatus {
    return {
      backend: 'bird',
      ok: this.#ready && this.#error === null,
      error: this.#error,
      detail: { interface: this.#name, addresses: [...this.#present.keys()].sort() },
    };
  }

  #kick(): void {
    if (this.#closed) return;
    this.#dirty = true;
    this.#running ??= this.#work().finally(() => (this.#running = null));
  }

  async #work(): Promise<void> {
    while (this.#dirty && !this.#closed) {
      this.#dirty = false;
      try {
        await this.#apply();
        if (this.#error !== null) this.#o.logger.info({ event: 'announce_backend_ok', interface: this.#name }, `announce: ${this.#name} is in order again`);
        this.#error = null;
      } catch (err) {
        this.#failed(err);
      }
    }
  }

  async #apply(): Promise<void> {
    if (this.#o.dryRun) {
      const desired = this.#desired;
      for (const prefix of desired.keys()) if (!this.#present.has(prefix)) this.#wouldRun(['addr', 'add', prefix, 'dev', this.#name]);
      for (const prefix of this.#present.keys()) if (!desired.has(prefix)) this.#wouldRun(['addr', 'del', prefix, 'dev', this.#name]);
      this.#present = new Map(desired);
      return;
    }
    if (!this.#ready) await this.#ensureInterface();
    // Read every time: repairs an address deleted or added by hand, and a vanished interface.
    this.#present = await this.#read();
    // Before the announcer has spoken (a retry after a failed start), only stale addresses go.
    const desired = this.#told ? this.#desired : new Map([...this.#present].filter(([prefix]) => this.#configured.has(prefix)));
    for (const [prefix, family] of desired) {
      if (this.#present.has(prefix)) continue;
      // nodad: the address is this host's own; a tentative IPv6 address would not be exported yet.
      await this.#ip(['addr', 'add', prefix, 'dev', this.#name, ...(family === 6 ? ['nodad'] : [])]);
      this.#present.set(prefix, family);
      this.#o.logger.debug({ event: 'announce_address_added', interface: this.#name, address: prefix }, `ip addr add ${prefix} dev ${this.#name}`);
    }
    for (const prefix of [...this.#present.keys()]) {
      if (desired.has(prefix)) continue;
      await this.#ip(['addr', 'del', prefix, 'dev', this.#name]);
      this.#present.delete(prefix);
      this.#o.logger.debug({ event: 'announce_address_removed', interface: this.#name, address: prefix }, `ip addr del ${prefix} dev ${this.#name}`);
    }
  }

  #wouldRun(args: readonly string[]): void {
    this.#o.logger.info({ event: 'announce_dry_run', command: ['ip', ...args] }, `announce (dry run): would run ip ${args.join(' ')}`);
  }

  /** The interface exists (created when missing), is a dummy, and is up. */
  async #ensureInterface(): Promise<void> {
    const name = this.#name;
    let out: string;
    try {
      out = await this.#ip(['-d', '-j', 'link', 'show', 'dev', name]);
    } catch (err) {
      if (!/does not exist|cannot find device/i.test(errorMessage(err))) throw err;
      await this.#ip(['link', 'add', name, 'type', 'dummy']);
      this.#o.logger.info({ event: 'announce_interface_created', interface: name }, `created dummy interface ${name} for the announced VIPs`);
      out = await this.#ip(['-d', '-j', 'link', 'show', 'dev', name]);
    }
    const link = (JSON.parse(out) as { flags?: string[]; linkinfo?: { info_kind?: string } }[])[0];
    const kind = link?.linkinfo?.info_kind;
    if (kind !== 'dummy') {
      this.#ready = false;
      throw new LvsdError(
        'LVSD_ANNOUNCE_FAILED',
        `interface ${name} exists and is not a dummy interface (${kind ? `kind ${kind}` : 'a physical or loopback device'}); lvsd only manages addresses on a dummy interface of its own: choose another announce.interface`,
      );
    }
    if (!link?.flags?.includes('UP')) await this.#ip(['link', 'set', 'dev', name, 'up']);
    this.#ready = true;
  }

  /** The interface's global addresses (link-local ones are the kernel's, not lvsd's). */
  async #read(): Promise<Present> {
    let out: string;
    try {
      out = await this.#ip(['-j', 'addr', 'show', 'dev', this.#name]);
    } catch (err) {
      this.#ready = false;
      throw err;
    }
    const present: Present = new Map();
    for (const link of JSON.parse(out) as { addr_info?: AddrInfo[] }[]) {
      for (const a of link.addr_info ?? []) {
        if (a.scope !== 'global' || !a.local || a.prefixlen === undefined) continue;
        present.set(`${a.local}/${a.prefixlen}`, a.family === 'inet6' ? 6 : 4);
      }
    }
    return present;
  }

  #failed(err: unknown): void {
    const message = errorMessage(err);
    const kind = this.#ready ? 'command' : 'interface';
    if (message !== this.#error) this.#o.logger.error({ code: 'LVSD_ANNOUNCE_FAILED', interface: this.#name, err: message }, 'announce: cannot apply the VIP addresses; retrying');
    this.#error = message;
    this.#o.onError(kind, message);
    if (this.#closed || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#kick();
    }, this.#o.retryMs ?? 5000);
    this.#retry.unref();
  }
}
