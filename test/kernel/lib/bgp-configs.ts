// The BGP speakers' configuration files for "More than one director": the router's BIRD, a
// director's BIRD (exporting lvsd's dummy interface as connected routes) and a director's ExaBGP
// (running `lvsd exabgp-bridge` as its API process). The kernel test (announce-bgp.test.ts) runs
// exactly these texts, and test/unit/readme-bgp-configs.test.ts checks that README.md's
// copy-paste configs are these texts rendered with the README's example values, so what the
// README shows is what the test exercises. Pure functions: no I/O.

export interface BgpTimers {
  /**
   * Short timers for the test (sessions come up, and come back after a peer restarts, in about a
   * second instead of BIRD's 120 s connect retry). The README leaves them out: the speakers'
   * defaults are what a site starts from.
   */
  readonly fast?: boolean;
}

export interface RouterPeer {
  /** The BIRD protocol name ("director_a"). */
  readonly name: string;
  readonly address: string;
  readonly as: number;
}

export interface RouterBirdOptions extends BgpTimers {
  readonly routerId: string;
  readonly localAs: number;
  readonly peers: readonly RouterPeer[];
  /** The prefix the VIPs are in ("192.0.2.0/24"): only its /32s are accepted from a director. */
  readonly vips: string;
}

const BIRD_FAST = ['  connect retry time 1;', '  connect delay time 1;', '  error wait time 1, 5;'];

/**
 * A router running BIRD 2 that learns the VIPs from every director and installs them in its
 * kernel table as one route with a next hop per director (`merge paths on`: ECMP).
 */
export function routerBirdConf(o: RouterBirdOptions): string {
  return [
    `router id ${o.routerId};`,
    '',
    'protocol device {}',
    '',
    '# One kernel route per VIP with every director that announces it as a next hop (ECMP).',
    'protocol kernel {',
    '  ipv4 { export all; };',
    '  merge paths on;',
    '}',
    '',
    'template bgp director {',
    `  local as ${o.localAs};`,
    '  # Only VIPs (host routes in the VIP prefix) from a director; nothing to it.',
    `  ipv4 { import where net ~ [ ${o.vips}{32,32} ]; export none; };`,
    ...(o.fast === true ? BIRD_FAST : []),
    '}',
    '',
    ...o.peers.map((p) => `protocol bgp ${p.name} from director { neighbor ${p.address} as ${p.as}; }`),
    '',
  ].join('\n');
}

export interface DirectorBirdOptions extends BgpTimers {
  readonly routerId: string;
  /** The director's address on the router's link (the session's source, the next hop). */
  readonly localAddress: string;
  readonly localAs: number;
  readonly neighbor: string;
  readonly neighborAs: number;
  /** lvsd.yaml `announce.interface`: the dummy interface lvsd puts the healthy VIPs on. */
  readonly interface: string;
}

/**
 * A director's BIRD 2 for `announce.backend: bird`: the VIPs lvsd puts on its dummy interface
 * are connected routes (`protocol direct`), exported to the router and nothing else; nothing is
 * imported, so the director's own routing is left alone.
 */
export function directorBirdConf(o: DirectorBirdOptions): string {
  return [
    `router id ${o.routerId};`,
    '',
    'protocol device {}',
    '',
    '# The VIPs lvsd announces: the /32 routes of its dummy interface.',
    'protocol direct lvsd_vips {',
    '  ipv4;',
    `  interface "${o.interface}";`,
    '}',
    '',
    'protocol bgp uplink {',
    `  local ${o.localAddress} as ${o.localAs};`,
    `  neighbor ${o.neighbor} as ${o.neighborAs};`,
    '  ipv4 {',
    '    import none;',
    '    export where proto = "lvsd_vips";   # only the VIPs, nothing else of this host',
    '  };',
    ...(o.fast === true ? BIRD_FAST : []),
    '}',
    '',
  ].join('\n');
}

export interface DirectorExabgpOptions {
  readonly routerId: string;
  readonly localAddress: string;
  readonly localAs: number;
  readonly neighbor: string;
  readonly neighborAs: number;
  /** The command line of the API process: `lvsd exabgp-bridge --socket PATH`. */
  readonly run: string;
}

/**
 * A director's ExaBGP 4 for `announce.backend: exabgp`: ExaBGP runs `lvsd exabgp-bridge`, which
 * relays lvsd's `announce route VIP/32 next-hop self` and `withdraw route VIP/32` lines to it.
 * `next-hop self` needs `local-address`.
 */
export function directorExabgpConf(o: DirectorExabgpOptions): string {
  return [
    'process lvsd {',
    `  run ${o.run};`,
    '  encoder text;',
    '}',
    '',
    `neighbor ${o.neighbor} {`,
    `  router-id ${o.routerId};`,
    `  local-address ${o.localAddress};`,
    `  local-as ${o.localAs};`,
    `  peer-as ${o.neighborAs};`,
    '  api {',
    '    processes [ lvsd ];',
    '  }',
    '}',
    '',
  ].join('\n');
}

export interface LvsdAnnounceOptions {
  readonly backend: 'bird' | 'exabgp';
  readonly holdDown: string;
  /** exabgp: the socket `lvsd exabgp-bridge --socket` connects to (omitted: the default). */
  readonly socket?: string;
  /** exabgp: the group that may use the socket (the user ExaBGP, and so the bridge, runs as). */
  readonly socketGroup?: string;
}

/** The `announce:` block of lvsd.yaml on a director (every VIP of the director is announced). */
export function lvsdAnnounceYaml(o: LvsdAnnounceOptions): string {
  return [
    'announce:',
    `  backend: ${o.backend}`,
    `  hold_down: ${o.holdDown}`,
    ...(o.socket !== undefined ? [`  socket: ${o.socket}`] : []),
    ...(o.socketGroup !== undefined ? [`  socket_group: ${o.socketGroup}`.padEnd(31) + "# Debian's exabgp.service runs as the user exabgp"] : []),
    '  # vips:                      # optional: only these, decided by these services',
    '  #   - address: 192.0.2.10',
    '  #     services: [web-http, web-https]',
    '',
  ].join('\n');
}
