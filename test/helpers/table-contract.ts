// The IPVS table contract: scenarios of `ipvsadm -R` input with the `ipvsadm -Sn` lines, stderr and
// exit status each step must leave, written out literally. The unit tier runs them against
// MemoryTable (what the reconciler's model, --dry-run and the fake ipvsadm are built on) and the
// kernel tier against the real kernel IPVS in the VM, so a semantic error in MemoryTable cannot agree
// with itself: both must print exactly these lines.

import assert from 'node:assert/strict';

export interface TableStep {
  readonly what: string;
  /** Lines fed to one `ipvsadm -R`. */
  readonly apply: readonly string[];
  /** `ipvsadm -Sn` lines of the scenario's services afterwards, in ipvsadm's order. */
  readonly table: readonly string[];
  /** What `ipvsadm -R` printed on stderr, one message a line; default none. */
  readonly errors?: readonly string[];
  /** Its exit status (that of the last line run); default 0. */
  readonly status?: number;
}

export interface TableScenario {
  readonly name: string;
  /** Service selectors as `-Sn` prints them ("-t 10.20.0.201:80", "-f 2001 -6"): the scenario's own. */
  readonly services: readonly string[];
  readonly steps: readonly TableStep[];
}

/** One side of the contract: an `ipvsadm -R` run and an `ipvsadm -Sn` read. */
export interface TableEngine {
  restore(lines: readonly string[]): Promise<{ readonly errors: readonly string[]; readonly status: number }>;
  save(): Promise<string>;
}

// Addresses: VIPs 10.20.0.2xx / fd00:20::2xx and marks 20xx, used by no other kernel test; nothing
// is sent to any of them (the table is only written and read).
export const TABLE_SCENARIOS: readonly TableScenario[] = [
  {
    name: 'a TCP service: add, edit and delete it and its reals (masq, weights)',
    services: ['-t 10.20.0.201:80'],
    steps: [
      {
        what: 'add a service and two reals, one without a weight',
        apply: ['-A -t 10.20.0.201:80 -s rr', '-a -t 10.20.0.201:80 -r 10.10.9.1:80 -m -w 5', '-a -t 10.20.0.201:80 -r 10.10.9.2:80 -m'],
        table: ['-A -t 10.20.0.201:80 -s rr', '-a -t 10.20.0.201:80 -r 10.10.9.1:80 -m -w 5', '-a -t 10.20.0.201:80 -r 10.10.9.2:80 -m -w 1'],
      },
      {
        what: 'edit a weight to 0 and the scheduler',
        apply: ['-e -t 10.20.0.201:80 -r 10.10.9.2:80 -m -w 0', '-E -t 10.20.0.201:80 -s wlc'],
        table: ['-A -t 10.20.0.201:80 -s wlc', '-a -t 10.20.0.201:80 -r 10.10.9.1:80 -m -w 5', '-a -t 10.20.0.201:80 -r 10.10.9.2:80 -m -w 0'],
      },
      {
        what: 'a real on another port of the same host, listed after the first',
        apply: ['-a -t 10.20.0.201:80 -r 10.10.9.1:8080 -m -w 65535'],
        table: [
          '-A -t 10.20.0.201:80 -s wlc',
          '-a -t 10.20.0.201:80 -r 10.10.9.1:80 -m -w 5',
          '-a -t 10.20.0.201:80 -r 10.10.9.1:8080 -m -w 65535',
          '-a -t 10.20.0.201:80 -r 10.10.9.2:80 -m -w 0',
        ],
      },
      {
        what: 'delete two reals',
        apply: ['-d -t 10.20.0.201:80 -r 10.10.9.1:80', '-d -t 10.20.0.201:80 -r 10.10.9.1:8080'],
        table: ['-A -t 10.20.0.201:80 -s wlc', '-a -t 10.20.0.201:80 -r 10.10.9.2:80 -m -w 0'],
      },
      {
        what: 'delete the service with its last real',
        apply: ['-D -t 10.20.0.201:80'],
        table: [],
      },
    ],
  },
  {
    name: 'forwarding: gate, masq, ipip, and an edit from one to another',
    services: ['-t 10.20.0.202:80'],
    steps: [
      {
        what: 'one real of each forwarding method',
        apply: [
          '-A -t 10.20.0.202:80 -s wrr',
          '-a -t 10.20.0.202:80 -r 10.10.9.1:80 -g -w 2',
          '-a -t 10.20.0.202:80 -r 10.10.9.2:80 -m -w 3',
          '-a -t 10.20.0.202:80 -r 10.10.9.3:80 -i -w 4',
        ],
        table: [
          '-A -t 10.20.0.202:80 -s wrr',
          '-a -t 10.20.0.202:80 -r 10.10.9.1:80 -g -w 2',
          '-a -t 10.20.0.202:80 -r 10.10.9.2:80 -m -w 3',
          '-a -t 10.20.0.202:80 -r 10.10.9.3:80 -i -w 4 --tun-type ipip',
        ],
      },
      {
        what: 'gate to masq and ipip to gate, weights kept',
        apply: ['-e -t 10.20.0.202:80 -r 10.10.9.1:80 -m -w 2', '-e -t 10.20.0.202:80 -r 10.10.9.3:80 -g -w 4'],
        table: [
          '-A -t 10.20.0.202:80 -s wrr',
          '-a -t 10.20.0.202:80 -r 10.10.9.1:80 -m -w 2',
          '-a -t 10.20.0.202:80 -r 10.10.9.2:80 -m -w 3',
          '-a -t 10.20.0.202:80 -r 10.10.9.3:80 -g -w 4',
        ],
      },
      { what: 'delete it', apply: ['-D -t 10.20.0.202:80'], table: [] },
    ],
  },
  {
    name: 'persistence: timeout and netmask, changed and removed by -E',
    services: ['-t 10.20.0.203:443', '-t 10.20.0.203:0'],
    steps: [
      {
        what: 'a persistent service with a /24 netmask and a persistent wildcard-port service',
        apply: [
          '-A -t 10.20.0.203:443 -s sh -p 300 -M 255.255.255.0',
          '-a -t 10.20.0.203:443 -r 10.10.9.1:443 -g -w 1',
          '-A -t 10.20.0.203:0 -s rr -p 120',
          '-a -t 10.20.0.203:0 -r 10.10.9.2:0 -g -w 1',
        ],
        table: [
          '-A -t 10.20.0.203:0 -s rr -p 120',
          '-a -t 10.20.0.203:0 -r 10.10.9.2:0 -g -w 1',
          '-A -t 10.20.0.203:443 -s sh -p 300 -M 255.255.255.0',
          '-a -t 10.20.0.203:443 -r 10.10.9.1:443 -g -w 1',
        ],
      },
      {
        what: 'a new timeout without -M: the netmask is back to /32 (not printed)',
        apply: ['-E -t 10.20.0.203:443 -s sh -p 600'],
        table: [
          '-A -t 10.20.0.203:0 -s rr -p 120',
          '-a -t 10.20.0.203:0 -r 10.10.9.2:0 -g -w 1',
          '-A -t 10.20.0.203:443 -s sh -p 600',
          '-a -t 10.20.0.203:443 -r 10.10.9.1:443 -g -w 1',
        ],
      },
      {
        what: 'an edit without -p ends persistence; the reals stay',
        apply: ['-E -t 10.20.0.203:443 -s sh'],
        table: [
          '-A -t 10.20.0.203:0 -s rr -p 120',
          '-a -t 10.20.0.203:0 -r 10.10.9.2:0 -g -w 1',
          '-A -t 10.20.0.203:443 -s sh',
          '-a -t 10.20.0.203:443 -r 10.10.9.1:443 -g -w 1',
        ],
      },
      { what: 'delete both', apply: ['-D -t 10.20.0.203:443', '-D -t 10.20.0.203:0'], table: [] },
    ],
  },
  {
    name: 'fwmark services, IPv4 and IPv6, reals with and without a port',
    services: ['-f 2001', '-f 2002 -6'],
    steps: [
      {
        what: 'an IPv4 and an IPv6 mark service',
        apply: [
          '-A -f 2001 -s rr',
          '-a -f 2001 -r 10.10.9.1:0 -g -w 1',
          '-a -f 2001 -r 10.10.9.2:80 -m -w 4',
          '-A -f 2002 -6 -s wlc -p 300 -M 64',
          '-a -f 2002 -6 -r [fd00:10:9::1]:0 -g -w 1',
          '-a -f 2002 -6 -r [fd00:10:9::2]:8080 -m -w 2',
        ],
        table: [
          '-A -f 2001 -s rr',
          '-a -f 2001 -r 10.10.9.1:0 -g -w 1',
          '-a -f 2001 -r 10.10.9.2:80 -m -w 4',
          '-A -f 2002 -6 -s wlc -p 300 -M 64',
          '-a -f 2002 -6 -r [fd00:10:9::1]:0 -g -w 1',
          '-a -f 2002 -6 -r [fd00:10:9::2]:8080 -m -w 2',
        ],
      },
      {
        what: 'edit a mark service and one of its reals, delete the other real',
        apply: ['-E -f 2001 -s lc', '-e -f 2001 -r 10.10.9.2:80 -m -w 9', '-d -f 2002 -6 -r [fd00:10:9::1]:0'],
        table: [
          '-A -f 2001 -s lc',
          '-a -f 2001 -r 10.10.9.1:0 -g -w 1',
          '-a -f 2001 -r 10.10.9.2:80 -m -w 9',
          '-A -f 2002 -6 -s wlc -p 300 -M 64',
          '-a -f 2002 -6 -r [fd00:10:9::2]:8080 -m -w 2',
        ],
      },
      { what: 'delete both', apply: ['-D -f 2001', '-D -f 2002 -6'], table: [] },
    ],
  },
  {
    name: 'IPv6: TCP and UDP services with IPv6 reals, addresses written long and printed short',
    services: ['-t [fd00:20::201]:80', '-u [fd00:20::201]:53'],
    steps: [
      {
        what: 'add them',
        apply: [
          '-A -t [fd00:20:0:0::201]:80 -s lc',
          '-a -t [fd00:20::201]:80 -r [FD00:10:9:0::1]:80 -m -w 10',
          '-a -t [fd00:20::201]:80 -r [fd00:10:9::2]:80 -m -w 20',
          '-A -u [fd00:20::201]:53 -s nq -p 60 -M 64',
          '-a -u [fd00:20::201]:53 -r [fd00:10:9::1]:53 -m -w 1',
        ],
        table: [
          '-A -t [fd00:20::201]:80 -s lc',
          '-a -t [fd00:20::201]:80 -r [fd00:10:9::1]:80 -m -w 10',
          '-a -t [fd00:20::201]:80 -r [fd00:10:9::2]:80 -m -w 20',
          '-A -u [fd00:20::201]:53 -s nq -p 60 -M 64',
          '-a -u [fd00:20::201]:53 -r [fd00:10:9::1]:53 -m -w 1',
        ],
      },
      {
        what: 'a weight edit and a real deleted',
        apply: ['-e -t [fd00:20::201]:80 -r [fd00:10:9::2]:80 -m -w 0', '-d -t [fd00:20::201]:80 -r [fd00:10:9::1]:80'],
        table: [
          '-A -t [fd00:20::201]:80 -s lc',
          '-a -t [fd00:20::201]:80 -r [fd00:10:9::2]:80 -m -w 0',
          '-A -u [fd00:20::201]:53 -s nq -p 60 -M 64',
          '-a -u [fd00:20::201]:53 -r [fd00:10:9::1]:53 -m -w 1',
        ],
      },
      { what: 'delete both', apply: ['-D -t [fd00:20::201]:80', '-D -u [fd00:20::201]:53'], table: [] },
    ],
  },
  {
    name: 'schedulers: every one lvsd loads in the VM, with scheduler flags',
    services: ['-t 10.20.0.206:80'],
    steps: [
      { what: 'rr', apply: ['-A -t 10.20.0.206:80 -s rr', '-a -t 10.20.0.206:80 -r 10.10.9.1:80 -m -w 1'], table: ['-A -t 10.20.0.206:80 -s rr', '-a -t 10.20.0.206:80 -r 10.10.9.1:80 -m -w 1'] },
      { what: 'wrr', apply: ['-E -t 10.20.0.206:80 -s wrr'], table: ['-A -t 10.20.0.206:80 -s wrr', '-a -t 10.20.0.206:80 -r 10.10.9.1:80 -m -w 1'] },
      { what: 'lc', apply: ['-E -t 10.20.0.206:80 -s lc'], table: ['-A -t 10.20.0.206:80 -s lc', '-a -t 10.20.0.206:80 -r 10.10.9.1:80 -m -w 1'] },
      { what: 'sed', apply: ['-E -t 10.20.0.206:80 -s sed'], table: ['-A -t 10.20.0.206:80 -s sed', '-a -t 10.20.0.206:80 -r 10.10.9.1:80 -m -w 1'] },
      { what: 'nq', apply: ['-E -t 10.20.0.206:80 -s nq'], table: ['-A -t 10.20.0.206:80 -s nq', '-a -t 10.20.0.206:80 -r 10.10.9.1:80 -m -w 1'] },
      {
        what: 'sh with sh-port',
        apply: ['-E -t 10.20.0.206:80 -s sh -b sh-port'],
        table: ['-A -t 10.20.0.206:80 -s sh -b sh-port', '-a -t 10.20.0.206:80 -r 10.10.9.1:80 -m -w 1'],
      },
      {
        what: 'mh with mh-fallback and persistence',
        apply: ['-E -t 10.20.0.206:80 -s mh -b mh-fallback -p 30'],
        table: ['-A -t 10.20.0.206:80 -s mh -p 30 -b mh-fallback', '-a -t 10.20.0.206:80 -r 10.10.9.1:80 -m -w 1'],
      },
      { what: 'back to wlc, flags gone', apply: ['-E -t 10.20.0.206:80 -s wlc'], table: ['-A -t 10.20.0.206:80 -s wlc', '-a -t 10.20.0.206:80 -r 10.10.9.1:80 -m -w 1'] },
      { what: 'delete it', apply: ['-D -t 10.20.0.206:80'], table: [] },
    ],
  },
  {
    // ip_vs_ctl.c accepts a destination of the other family for IP_VS_CONN_F_TUNNEL only (issue 19:
    // keepalived runs such pools under lb_kind TUN; lvsd's config accepts them for forwarding: ipip).
    name: 'mixed families: tunnelled IPv6 reals in an IPv4 service, tunnelled IPv4 reals in an IPv6 one',
    services: ['-t 10.20.0.208:80', '-t [fd00:20::208]:80', '-f 2003'],
    steps: [
      {
        what: 'ipip reals of both families in an address service of each family and in a mark service',
        apply: [
          '-A -t 10.20.0.208:80 -s rr',
          '-a -t 10.20.0.208:80 -r 10.10.9.1:80 -i -w 1',
          '-a -t 10.20.0.208:80 -r [fd00:10:9::1]:80 -i -w 2',
          '-A -t [fd00:20::208]:80 -s rr',
          '-a -t [fd00:20::208]:80 -r 10.10.9.2:80 -i -w 3',
          '-A -f 2003 -s wlc -p 60',
          '-a -f 2003 -r 10.10.9.3:0 -g -w 1',
          '-a -f 2003 -r [fd00:10:9::3]:0 -i -w 1',
        ],
        // libipvs compares addresses as signed 32-bit differences over the first's width: fd00:: before 10.x.
        table: [
          '-A -t 10.20.0.208:80 -s rr',
          '-a -t 10.20.0.208:80 -r [fd00:10:9::1]:80 -i -w 2 --tun-type ipip',
          '-a -t 10.20.0.208:80 -r 10.10.9.1:80 -i -w 1 --tun-type ipip',
          '-A -t [fd00:20::208]:80 -s rr',
          '-a -t [fd00:20::208]:80 -r 10.10.9.2:80 -i -w 3 --tun-type ipip',
          '-A -f 2003 -s wlc -p 60',
          '-a -f 2003 -r [fd00:10:9::3]:0 -i -w 1 --tun-type ipip',
          '-a -f 2003 -r 10.10.9.3:0 -g -w 1',
        ],
      },
      { what: 'delete them', apply: ['-D -t 10.20.0.208:80', '-D -t [fd00:20::208]:80', '-D -f 2003'], table: [] },
    ],
  },
  {
    name: 'kernel errors: each failing line is reported, -R goes on, the table keeps what succeeded',
    services: ['-t 10.20.0.207:80', '--sctp-service 10.20.0.207:3868'],
    steps: [
      {
        what: 'an existing service, an existing real, a missing real, a missing service',
        apply: [
          '-A -t 10.20.0.207:80 -s rr',
          '-a -t 10.20.0.207:80 -r 10.10.9.1:80 -m -w 1',
          '-A -t 10.20.0.207:80 -s wlc',
          '-a -t 10.20.0.207:80 -r 10.10.9.1:80 -m -w 7',
          '-e -t 10.20.0.207:80 -r 10.10.9.2:80 -m -w 1',
          '-d -t 10.20.0.207:80 -r 10.10.9.3:80',
          '-a -t 10.20.0.207:81 -r 10.10.9.1:81 -m -w 1',
          '-E -t 10.20.0.207:82 -s rr',
          '-A --sctp-service 10.20.0.207:3868 -s rr',
        ],
        table: ['-A -t 10.20.0.207:80 -s rr', '-a -t 10.20.0.207:80 -r 10.10.9.1:80 -m -w 1', '-A --sctp-service 10.20.0.207:3868 -s rr'],
        errors: ['Service already exists', 'Destination already exists', 'No such destination', 'No such destination', 'Service not defined', 'No such service'],
        status: 0,
      },
      {
        what: 'an unknown scheduler fails the edit and changes nothing; the last line decides the status',
        apply: ['-E -t 10.20.0.207:80 -s nosuch', '-D --sctp-service 10.20.0.207:3869'],
        table: ['-A -t 10.20.0.207:80 -s rr', '-a -t 10.20.0.207:80 -r 10.10.9.1:80 -m -w 1', '-A --sctp-service 10.20.0.207:3868 -s rr'],
        errors: ['Scheduler or persistence engine not found', 'No such service'],
        status: 255,
      },
      { what: 'delete both', apply: ['-D -t 10.20.0.207:80', '-D --sctp-service 10.20.0.207:3868'], table: [] },
    ],
  },
];

/** The `-Sn` lines of these services (selector right after -A/-a), in the order printed. */
export function linesOf(save: string, services: readonly string[]): string[] {
  const selectors = services.map((s) => s.split(' '));
  return save.split('\n').filter((line) => {
    const t = line.split(' ');
    if (t[0] !== '-A' && t[0] !== '-a') return false;
    // "-f 2001" is not "-f 2001 -6": the family flag is part of a mark service's identity.
    return selectors.some((sel) => sel.every((x, i) => t[i + 1] === x) && (sel.includes('-6') || t[sel.length + 1] !== '-6'));
  });
}

/** Run one scenario on an engine, asserting every step; returns after the last step. */
export async function checkScenario(engine: TableEngine, scenario: TableScenario): Promise<void> {
  for (const [i, step] of scenario.steps.entries()) {
    const at = `step ${i + 1} (${step.what})`;
    const r = await engine.restore(step.apply);
    assert.deepEqual([...r.errors], [...(step.errors ?? [])], `${at}: ipvsadm -R stderr`);
    assert.equal(r.status, step.status ?? 0, `${at}: ipvsadm -R exit status`);
    assert.deepEqual(linesOf(await engine.save(), scenario.services), [...step.table], `${at}: ipvsadm -Sn`);
  }
}
