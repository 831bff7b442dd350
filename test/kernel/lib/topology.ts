// A director topology inside the kernel-test VM. The root namespace is the director: it holds the
// VIPs (on a dummy link) and the kernel IPVS table. Each realserver lives in its own namespace
// behind a veth pair, with its default route via the director so masq replies pass back through
// IPVS; a client namespace reaches the VIPs the same way.
//
//   client ns  10.30.0.2  fd00:30::2  ──veth──  director (root ns)  ──veth──  rsN ns  10.10.N.2
//                                               VIPs on lvs-vip                        fd00:10:N::2
//
// Addresses exist only inside the VM's own namespaces. create() removes leftovers of the same
// names first, so a test file that crashed does not break the next one; teardown() removes all.

import { Client } from './client.js';
import { addAddress, clearMarks, deleteAddress, familyOf, ipBatch, removeNet } from './netns.js';
import { dnsServer, httpServer, ManagedProcess } from './servers.js';
import type { DnsServerOptions } from './servers.js';

/** The link holding the VIPs in the root namespace. */
export const VIP_LINK = 'lvs-vip';

export interface RealServer {
  /** "rs1": the namespace name and the name its servers answer with. */
  readonly name: string;
  readonly index: number;
  readonly ipv4: string;
  readonly ipv6: string;
  /** The director's addresses on this realserver's link (its gateways). */
  readonly gateway4: string;
  readonly gateway6: string;
  /** The root-namespace end of its veth pair. */
  readonly hostLink: string;
}

export interface TopologyOptions {
  /** How many realserver namespaces (rs1..rsN); at most 200. */
  readonly reals: number;
  /** Start the client agent in the client namespace (default true). */
  readonly client?: boolean;
}

export function realServerAddresses(index: number): RealServer {
  return {
    name: `rs${index}`,
    index,
    ipv4: `10.10.${index}.2`,
    ipv6: `fd00:10:${index}::2`,
    gateway4: `10.10.${index}.1`,
    gateway6: `fd00:10:${index}::1`,
    hostLink: `lvs-rs${index}`,
  };
}

export const CLIENT = {
  ns: 'client',
  ipv4: '10.30.0.2',
  ipv6: 'fd00:30::2',
  gateway4: '10.30.0.1',
  gateway6: 'fd00:30::1',
  hostLink: 'lvs-cl',
} as const;

export class Topology {
  private readonly processes = new Set<ManagedProcess>();
  private clientAgent: Client | null = null;

  private constructor(readonly reals: readonly RealServer[]) {}

  /** Builds the namespaces, links and routes (and starts the client agent unless told not to). */
  static async create(opts: TopologyOptions): Promise<Topology> {
    if (opts.reals < 1 || opts.reals > 200) throw new Error(`reals must be 1..200, got ${opts.reals}`);
    const reals = Array.from({ length: opts.reals }, (_, i) => realServerAddresses(i + 1));
    const topo = new Topology(reals);
    await topo.removeLeftovers();
    const attached: Attached[] = [
      ...reals.map((rs) => ({ ...rs, ns: rs.name })),
      { ...CLIENT },
    ];
    try {
      // One `ip -batch` for the root namespace and one per namespace: see ipBatch().
      await ipBatch([`link add ${VIP_LINK} type dummy`, `link set ${VIP_LINK} up`, ...attached.flatMap(rootSide)]);
      for (const a of attached) await ipBatch(namespaceSide(a), a.ns);
      if (opts.client !== false) topo.clientAgent = await new Client(CLIENT.ns).start();
    } catch (err) {
      await topo.teardown().catch(() => undefined);
      throw err;
    }
    return topo;
  }

  /** The client agent in the client namespace. */
  get client(): Client {
    if (this.clientAgent === null) throw new Error('topology created with client: false');
    return this.clientAgent;
  }

  real(nameOrIndex: string | number): RealServer {
    const rs = this.reals.find((r) => r.name === nameOrIndex || r.index === nameOrIndex);
    if (rs === undefined) throw new Error(`no realserver ${nameOrIndex}`);
    return rs;
  }

  /** Adds a VIP (IPv4 /32 or IPv6 /128) to the director's VIP link; teardown() removes the link. */
  async addVip(address: string): Promise<string> {
    await addAddress(VIP_LINK, familyOf(address) === 6 ? `${address}/128` : `${address}/32`);
    return address;
  }

  async removeVip(address: string): Promise<void> {
    await deleteAddress(VIP_LINK, familyOf(address) === 6 ? `${address}/128` : `${address}/32`);
  }

  /** Starts (and tracks) a process; teardown() kills whatever is still running. */
  async startProcess(proc: ManagedProcess): Promise<ManagedProcess> {
    this.processes.add(proc);
    return proc.start();
  }

  /** Starts http-server.js in a realserver namespace, answering "hello from rsN". */
  async startHttp(
    rs: string | number,
    opts: { port?: number; mode?: 'http' | 'tcp'; name?: string; portCount?: number } = {},
  ): Promise<ManagedProcess> {
    const real = this.real(rs);
    return this.startProcess(httpServer({ ...opts, ns: real.name, name: opts.name ?? real.name }));
  }

  /** Starts http-server.js in every realserver namespace at once; the processes by name. */
  async startHttpOnAll(opts: { port?: number; mode?: 'http' | 'tcp' } = {}): Promise<Map<string, ManagedProcess>> {
    const procs = await Promise.all(this.reals.map((rs) => this.startHttp(rs.name, opts)));
    return new Map(this.reals.map((rs, i) => [rs.name, procs[i] as ManagedProcess]));
  }

  /** Starts dnsmasq in a realserver namespace on its own addresses; TXT whoami.test = rsN. */
  async startDns(rs: string | number, opts: Partial<Omit<DnsServerOptions, 'ns'>> = {}): Promise<ManagedProcess> {
    const real = this.real(rs);
    return this.startProcess(
      dnsServer({ name: real.name, listen: [real.ipv4, real.ipv6], ...opts, ns: real.name }),
    );
  }

  /** Kills everything started here and removes namespaces, links, VIPs and nft marks. */
  async teardown(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (fn: () => Promise<void>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    };
    if (this.clientAgent !== null) await attempt(() => this.clientAgent?.stop() ?? Promise.resolve());
    for (const proc of this.processes) await attempt(() => proc.dispose());
    this.processes.clear();
    await this.removeLeftovers().catch((err: unknown) => errors.push(err));
    if (errors.length > 0) throw new AggregateError(errors, 'topology teardown failed');
  }

  private async removeLeftovers(): Promise<void> {
    await removeNet(
      [...this.reals.map((rs) => rs.hostLink), CLIENT.hostLink, VIP_LINK],
      [...this.reals.map((rs) => rs.name), CLIENT.ns],
    );
    await clearMarks();
  }
}

/** A namespace behind a veth pair ("eth0" inside, hostLink outside), /24 and /64 on both ends. */
interface Attached {
  readonly ns: string;
  readonly hostLink: string;
  readonly ipv4: string;
  readonly ipv6: string;
  readonly gateway4: string;
  readonly gateway6: string;
}

function rootSide(a: Attached): string[] {
  return [
    `netns add ${a.ns}`,
    `link add ${a.hostLink} type veth peer name eth0 netns ${a.ns}`,
    `link set ${a.hostLink} up`,
    `addr add ${a.gateway4}/24 dev ${a.hostLink}`,
    // nodad: usable at once instead of "tentative" for a second or two.
    `addr add ${a.gateway6}/64 dev ${a.hostLink} nodad`,
  ];
}

/** Default routes via the director, so masq replies go back through IPVS. */
function namespaceSide(a: Attached): string[] {
  return [
    'link set lo up',
    'link set eth0 up',
    `addr add ${a.ipv4}/24 dev eth0`,
    `addr add ${a.ipv6}/64 dev eth0 nodad`,
    `route add default via ${a.gateway4}`,
    `route add default via ${a.gateway6}`,
  ];
}
