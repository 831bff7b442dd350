// Network namespace plumbing inside the kernel-test VM: namespaces, veth pairs, dummy links,
// addresses, routes, sysctls and nftables marks. Thin wrappers over `ip`, `sysctl` and `nft`.

import { output, run } from './exec.js';

export type IpFamily = 4 | 6;

export function familyOf(address: string): IpFamily {
  return address.includes(':') ? 6 : 4;
}

/** Runs `ip ARGS` in the root namespace, or in `ns` with `ip -n NS`. */
export async function ip(args: readonly string[], ns?: string): Promise<string> {
  return output('ip', ns === undefined ? args : ['-n', ns, ...args]);
}

/**
 * Runs many `ip` commands (one per line, without the leading "ip") in a single process:
 * `ip [-n NS] -batch -`. Under emulation every exec costs a noticeable fraction of a second, so
 * topologies are built in batches. Stops at the first failing line, with its error.
 */
export async function ipBatch(lines: readonly string[], ns?: string): Promise<void> {
  if (lines.length === 0) return;
  const args = ns === undefined ? ['-batch', '-'] : ['-n', ns, '-batch', '-'];
  await run('ip', args, { input: `${lines.join('\n')}\n` });
}

/** Runs a command inside a namespace (`ip netns exec NS FILE ARGS`). */
export async function nsRun(ns: string, file: string, args: readonly string[]): Promise<string> {
  return output('ip', ['netns', 'exec', ns, file, ...args]);
}

/** Names of the existing namespaces and of the root namespace's links (two execs). */
export async function netState(): Promise<{ namespaces: Set<string>; links: Set<string> }> {
  const netns = await output('ip', ['netns', 'list']);
  const links = await output('ip', ['-o', 'link', 'show']);
  return {
    namespaces: new Set(netns.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n !== '')),
    // "7: lvs-rs1@if2: <...>" -> "lvs-rs1"
    links: new Set(links.split('\n').map((l) => (l.split(': ')[1] ?? '').split('@')[0] ?? '')),
  };
}

export async function linkExists(dev: string, ns?: string): Promise<boolean> {
  const args = ns === undefined ? ['link', 'show', 'dev', dev] : ['-n', ns, 'link', 'show', 'dev', dev];
  return (await run('ip', args, { allowFail: true })).code === 0;
}

/**
 * Removes root-namespace links and namespaces if they exist. Links go first: deleting one end of
 * a veth pair removes both at once, while a deleted namespace frees its links asynchronously
 * (re-creating a link of the same name right after could still collide).
 */
export async function removeNet(links: readonly string[], namespaces: readonly string[]): Promise<void> {
  const state = await netState();
  await ipBatch([
    ...links.filter((l) => state.links.has(l)).map((l) => `link delete dev ${l}`),
    ...namespaces.filter((n) => state.namespaces.has(n)).map((n) => `netns delete ${n}`),
  ]);
}

/**
 * Adds `address/prefix` to a link. IPv6 addresses skip duplicate address detection, so they are
 * usable at once instead of staying "tentative" for a second or two.
 */
export async function addAddress(dev: string, cidr: string, ns?: string): Promise<void> {
  const nodad = familyOf(cidr) === 6 ? ['nodad'] : [];
  await ip(['addr', 'add', cidr, 'dev', dev, ...nodad], ns);
}

export async function deleteAddress(dev: string, cidr: string, ns?: string): Promise<void> {
  await ip(['addr', 'del', cidr, 'dev', dev], ns);
}

export async function addDefaultRoute(gateway: string, ns: string): Promise<void> {
  await ip([`-${familyOf(gateway)}`, 'route', 'add', 'default', 'via', gateway], ns);
}

/** Sets sysctls, in `ns` when given: `{ 'net.ipv4.ip_forward': 1 }`. */
export async function sysctl(values: Readonly<Record<string, string | number>>, ns?: string): Promise<void> {
  const args = ['-qw', ...Object.entries(values).map(([k, v]) => `${k}=${v}`)];
  if (ns === undefined) await output('sysctl', args);
  else await nsRun(ns, 'sysctl', args);
}

/**
 * Makes a realserver namespace accept traffic for a VIP it does not route: direct routing (`gate`)
 * puts the VIP on lo; `ipip` puts it on tunl0/ip6tnl0 and relaxes rp_filter. Either way the
 * realserver must not answer ARP/ND for it (arp_ignore/arp_announce) so the director stays its owner.
 */
export async function acceptVip(ns: string, vip: string, mode: 'gate' | 'ipip'): Promise<void> {
  const fam = familyOf(vip);
  const cidr = fam === 6 ? `${vip}/128` : `${vip}/32`;
  if (fam === 4) {
    await sysctl(
      {
        'net.ipv4.conf.all.arp_ignore': 1,
        'net.ipv4.conf.all.arp_announce': 2,
        'net.ipv4.conf.all.rp_filter': 0,
        'net.ipv4.conf.default.rp_filter': 0,
      },
      ns,
    );
  }
  if (mode === 'gate') {
    await addAddress('lo', cidr, ns);
    return;
  }
  const dev = fam === 6 ? 'ip6tnl0' : 'tunl0';
  if (!(await linkExists(dev, ns))) {
    // The fallback tunnel device appears when the module is loaded and a namespace is created.
    throw new Error(`${dev} missing in ${ns}: load the ${fam === 6 ? 'ip6_tunnel' : 'ipip'} module first`);
  }
  await ip(['link', 'set', dev, 'up'], ns);
  await addAddress(dev, cidr, ns);
  if (fam === 4) await sysctl({ [`net.ipv4.conf.${dev}.rp_filter`]: 0 }, ns);
}

const NFT_TABLE = 'lvstest';

export interface MarkRule {
  /** Destination address the mark applies to (IPv4 or IPv6). */
  readonly daddr: string;
  readonly protocol: 'tcp' | 'udp';
  readonly dport: number;
  readonly mark: number;
}

/**
 * Marks matching packets in prerouting (mangle priority, before IPVS sees them) so a fwmark
 * virtual service picks them up. All rules live in one nft table, removed by clearMarks().
 */
export async function addMark(rule: MarkRule): Promise<void> {
  const script = [
    `add table inet ${NFT_TABLE}`,
    `add chain inet ${NFT_TABLE} pre { type filter hook prerouting priority mangle; policy accept; }`,
    `add rule inet ${NFT_TABLE} pre ${familyOf(rule.daddr) === 6 ? 'ip6' : 'ip'} daddr ${rule.daddr} ` +
      `${rule.protocol} dport ${rule.dport} meta mark set ${rule.mark}`,
  ].join('\n');
  await run('nft', ['-f', '-'], { input: `${script}\n` });
}

export async function clearMarks(): Promise<void> {
  await run('nft', ['delete', 'table', 'inet', NFT_TABLE], { allowFail: true });
}
