// Two directors behind a BGP router, inside the kernel-test VM. Every box is a namespace of its
// own, so each director has its own IPVS table, its own lvsd and its own BGP speaker; the root
// namespace is not touched.
//
//   bgp-rt (router, BIRD, ECMP)                  bgp-da (director A)              bgp-a1 10.51.1.2
//     rt-a 10.40.1.1 ──veth── eth0 10.40.1.2 ──  IPVS, lvsd, BIRD or ExaBGP  ──  bgp-a2 10.51.2.2
//     rt-b 10.40.2.1 ──veth── eth0 10.40.2.2 ──  bgp-db (director B)         ──  bgp-b1 10.52.1.2 ...
//
// The router's BIRD learns the VIPs from both directors and installs one kernel route with a next
// hop per director; nextHops() reads it back. Realservers route back through their director (masq),
// directors through the router.
// Addresses exist only inside these namespaces. create() removes leftovers of the same names
// first; teardown() kills every process started here and deletes the namespaces.

import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from './client.js';
import { output, pollUntil } from './exec.js';
import { ip, ipBatch, netState, sysctl } from './netns.js';
import { httpServer, ManagedProcess } from './servers.js';
import { directorBirdConf, directorExabgpConf, routerBirdConf } from './bgp-configs.js';

export const ROUTER = { ns: 'bgp-rt', routerId: '10.40.0.1', as: 65000 } as const;
/** The prefix the router accepts VIPs from (host routes only). */
export const VIP_PREFIX = '10.60.0.0/24';
/** Both directors in one AS: the router's routes from them are equal, so BIRD merges them. */
export const DIRECTOR_AS = 65001;
/** lvsd's default `announce.interface`, which the directors' BIRD exports. */
export const ANNOUNCE_INTERFACE = 'lvsd0';

export interface BgpReal {
  /** "a1": the name its HTTP server answers with. */
  readonly name: string;
  readonly ns: string;
  readonly address: string;
  /** Its director's address on their link (the real's default route). */
  readonly gateway: string;
}

export interface BgpDirector {
  /** "a" or "b". */
  readonly id: string;
  readonly ns: string;
  /** Its address on the link to the router: the next hop the router sees. */
  readonly address: string;
  readonly routerAddress: string;
  readonly reals: readonly BgpReal[];
}

export function bgpDirector(id: string, index: number, reals: number): BgpDirector {
  return {
    id,
    ns: `bgp-d${id}`,
    address: `10.40.${index}.2`,
    routerAddress: `10.40.${index}.1`,
    reals: Array.from({ length: reals }, (_, i) => ({
      name: `${id}${i + 1}`,
      ns: `bgp-${id}${i + 1}`,
      address: `10.5${index}.${i + 1}.2`,
      gateway: `10.5${index}.${i + 1}.1`,
    })),
  };
}

export interface BgpTopologyOptions {
  /** Realservers behind each director (1..9). */
  readonly realsPerDirector: number;
}

export class BgpTopology {
  private readonly processes = new Set<ManagedProcess>();
  private clientAgent: Client | null = null;

  private constructor(
    readonly directors: readonly BgpDirector[],
    /** Configs, sockets and pid files of the speakers (on the guest's tmpfs). */
    readonly dir: string,
  ) {}

  static async create(opts: BgpTopologyOptions): Promise<BgpTopology> {
    if (opts.realsPerDirector < 1 || opts.realsPerDirector > 9) throw new Error('realsPerDirector must be 1..9');
    const directors = [bgpDirector('a', 1, opts.realsPerDirector), bgpDirector('b', 2, opts.realsPerDirector)];
    const topo = new BgpTopology(directors, await mkdtemp(join(tmpdir(), 'lvsd-bgp-')));
    // ExaBGP drops to its own user, and its bridge must reach lvsd's socket in here.
    await chmod(topo.dir, 0o755);
    try {
      await topo.removeNamespaces();
      await ipBatch(topo.namespaces().map((ns) => `netns add ${ns}`));
      await ipBatch(
        [
          'link set lo up',
          ...directors.flatMap((d) => [
            `link add rt-${d.id} type veth peer name eth0 netns ${d.ns}`,
            `addr add ${d.routerAddress}/24 dev rt-${d.id}`,
            `link set rt-${d.id} up`,
          ]),
        ],
        ROUTER.ns,
      );
      for (const d of directors) {
        await ipBatch(
          [
            'link set lo up',
            `addr add ${d.address}/24 dev eth0`,
            'link set eth0 up',
            // The router is the director's gateway: replies to a router address of the other
            // link (a connection the router sourced from it) go back through it.
            `route add default via ${d.routerAddress}`,
            ...d.reals.flatMap((r, i) => [
              `link add rs${i + 1} type veth peer name eth0 netns ${r.ns}`,
              `addr add ${r.gateway}/24 dev rs${i + 1}`,
              `link set rs${i + 1} up`,
            ]),
          ],
          d.ns,
        );
        for (const r of d.reals) {
          await ipBatch(['link set lo up', `addr add ${r.address}/24 dev eth0`, 'link set eth0 up', `route add default via ${r.gateway}`], r.ns);
        }
        // Forwarding carries the realservers' replies back through IPVS (masq).
        await sysctl({ 'net.ipv4.ip_forward': 1 }, d.ns);
      }
      // Hash on ports too, so requests from the router's one address spread over both next hops.
      await sysctl({ 'net.ipv4.fib_multipath_hash_policy': 1 }, ROUTER.ns);
    } catch (err) {
      await topo.teardown().catch(() => undefined);
      throw err;
    }
    return topo;
  }

  director(id: string): BgpDirector {
    const d = this.directors.find((x) => x.id === id);
    if (d === undefined) throw new Error(`no director ${id}`);
    return d;
  }

  /** Starts (and tracks) a process; teardown() kills whatever is still running. */
  async startProcess(proc: ManagedProcess): Promise<ManagedProcess> {
    this.processes.add(proc);
    return proc.start();
  }

  /** http-server.js in every realserver namespace at once, answering with the real's name. */
  async startHttpOnAll(): Promise<Map<string, ManagedProcess>> {
    const reals = this.directors.flatMap((d) => d.reals);
    const procs = await Promise.all(reals.map((r) => this.startProcess(httpServer({ ns: r.ns, name: r.name }))));
    return new Map(reals.map((r, i) => [r.name, procs[i] as ManagedProcess]));
  }

  /** The client agent, in the router namespace: requests to a VIP follow the router's routes. */
  async startClient(): Promise<Client> {
    this.clientAgent ??= await new Client(ROUTER.ns).start();
    return this.clientAgent;
  }

  /** The router's BIRD, peering with every director (fast timers: see bgp-configs.ts). */
  async startRouterBird(): Promise<ManagedProcess> {
    const conf = routerBirdConf({
      routerId: ROUTER.routerId,
      localAs: ROUTER.as,
      peers: this.directors.map((d) => ({ name: `director_${d.id}`, address: d.address, as: DIRECTOR_AS })),
      vips: VIP_PREFIX,
      fast: true,
    });
    return this.startBird('router', ROUTER.ns, conf);
  }

  /** A director's BIRD for `announce.backend: bird`: exports the VIPs on ANNOUNCE_INTERFACE. */
  async startDirectorBird(d: BgpDirector): Promise<ManagedProcess> {
    const conf = directorBirdConf({
      routerId: d.address,
      localAddress: d.address,
      localAs: DIRECTOR_AS,
      neighbor: d.routerAddress,
      neighborAs: ROUTER.as,
      interface: ANNOUNCE_INTERFACE,
      fast: true,
    });
    return this.startBird(`director-${d.id}`, d.ns, conf);
  }

  /**
   * A director's ExaBGP for `announce.backend: exabgp`, running `runCommand` as its API process.
   * Started as root, it drops to the user `exabgp` (ExaBGP's default, as Debian's exabgp.service
   * runs it), so the bridge reaches lvsd's socket only through `announce.socket_group: exabgp`.
   */
  async startExabgp(d: BgpDirector, runCommand: string): Promise<ManagedProcess> {
    const conf = join(this.dir, `exabgp-${d.id}.conf`);
    await writeFile(
      conf,
      directorExabgpConf({
        routerId: d.address,
        localAddress: d.address,
        localAs: DIRECTOR_AS,
        neighbor: d.routerAddress,
        neighborAs: ROUTER.as,
        run: runCommand,
      }),
    );
    // ExaBGP reads its settings from the environment: its defaults (user exabgp, drop), log to
    // stdout, no CLI pipes (none are made here).
    const env = [
      'exabgp.daemon.user=exabgp',
      'exabgp.daemon.drop=true',
      'exabgp.daemon.daemonize=false',
      'exabgp.log.destination=stdout',
      'exabgp.api.cli=false',
    ];
    return this.startProcess(
      new ManagedProcess({
        label: `bgp-exabgp-${d.id}`,
        ns: d.ns,
        command: 'env',
        args: [...env, 'exabgp', conf],
        // Python under TCG: loading ExaBGP alone takes a while.
        ready: /loaded new configuration successfully/,
        readyTimeoutMs: 180_000,
      }),
    );
  }

  /** `birdc -s SOCK ARGS` against one of the BIRDs started here ("router", "director-a"). */
  async birdc(label: string, args: readonly string[]): Promise<string> {
    return output('birdc', ['-s', this.birdSocket(label), ...args]);
  }

  /**
   * The router's kernel next hops for `vip`/32, sorted: [] when it has no route, one gateway for a
   * plain route, one per `nexthop` of an ECMP route.
   */
  async nextHops(vip: string): Promise<string[]> {
    const text = await ip(['-4', '-j', 'route', 'show', 'exact', `${vip}/32`], ROUTER.ns);
    const routes = JSON.parse(text === '' ? '[]' : text) as RouteJson[];
    return routes
      .flatMap((r) => (r.nexthops ?? [r]).map((h) => h.gateway))
      .filter((g): g is string => g !== undefined)
      .sort();
  }

  /** Waits until the router's next hops for `vip` are exactly `want` (any order). */
  async waitForNextHops(vip: string, want: readonly string[], timeoutMs: number): Promise<string[]> {
    const sorted = [...want].sort();
    let last: string[] = [];
    try {
      return await pollUntil(
        `next hops ${JSON.stringify(sorted)} for ${vip}`,
        async () => {
          last = await this.nextHops(vip);
          return JSON.stringify(last) === JSON.stringify(sorted) ? last : undefined;
        },
        timeoutMs,
        300,
      );
    } catch (err) {
      const routes = await this.birdc('router', ['show', 'route', 'all']).catch((e: unknown) => String(e));
      throw new Error(`${(err as Error).message}; last seen ${JSON.stringify(last)}; router's BIRD:\n${routes}`);
    }
  }

  /** Kills everything started here and deletes the namespaces and the temp dir. */
  async teardown(): Promise<void> {
    const errors: unknown[] = [];
    if (this.clientAgent !== null) await this.clientAgent.stop().catch((err: unknown) => errors.push(err));
    for (const proc of this.processes) await proc.dispose().catch((err: unknown) => errors.push(err));
    this.processes.clear();
    await this.removeNamespaces().catch((err: unknown) => errors.push(err));
    await rm(this.dir, { recursive: true, force: true }).catch((err: unknown) => errors.push(err));
    if (errors.length > 0) throw new AggregateError(errors, 'BGP topology teardown failed');
  }

  private birdSocket(label: string): string {
    return join(this.dir, `bird-${label}.ctl`);
  }

  private async startBird(label: string, ns: string, conf: string): Promise<ManagedProcess> {
    const file = join(this.dir, `bird-${label}.conf`);
    // Log to stderr (collected by ManagedProcess) on top of the documented config.
    await writeFile(file, `log stderr all;\n${conf}`);
    return this.startProcess(
      new ManagedProcess({
        label: `bgp-bird-${label}`,
        ns,
        command: 'bird',
        args: ['-f', '-c', file, '-s', this.birdSocket(label), '-P', join(this.dir, `bird-${label}.pid`)],
        ready: /<INFO> Started/,
      }),
    );
  }

  private namespaces(): string[] {
    return [ROUTER.ns, ...this.directors.flatMap((d) => [d.ns, ...d.reals.map((r) => r.ns)])];
  }

  private async removeNamespaces(): Promise<void> {
    const { namespaces } = await netState();
    const present = this.namespaces().filter((ns) => namespaces.has(ns));
    await ipBatch(present.map((ns) => `netns delete ${ns}`));
  }
}

interface RouteJson {
  readonly gateway?: string;
  readonly nexthops?: readonly { readonly gateway?: string }[];
}

