// Behavioural equivalence of `lvsd convert`: the same realservers (namespaces rs1..rs3), first
// keepalived (checker only: --check, no VRRP) on a keepalived.conf and ldirectord on an
// ldirectord.cf, side by side on two VIPs, then one lvsd on the conversions of both files. The
// normalised `ipvsadm -Sn` lines of each VIP are compared in three states: all healthy, one real
// down, all down (the sorry server / fallback serves). They must be equal.
//
// Deliberately different, and outside these states: keepalived without `alpha` adds every real
// before its first check; lvsd adds a real only once a check passed (it never changes the kernel
// before the first results are in). The "all healthy" state is therefore taken once every real
// is up in both; that start-up window is the only place the tables may differ.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import type { ChildProcess } from 'node:child_process';
import { Daemon } from './lib/daemon.js';
import { skipOutsideVm } from './lib/exec.js';
import { startKeepalived, startLdirectord, stopChild } from './lib/peers.js';
import { deleteService, ipvsadm, lineKey, parseTable, waitForTable } from './lib/ipvsadm.js';
import type { Table } from './lib/ipvsadm.js';
import { START_WAIT, assertNoErrors, realsOf, stopDaemon } from './lib/scenario.js';
import type { ManagedProcess } from './lib/servers.js';
import { Topology } from './lib/topology.js';
import { convert } from '../../src/convert/index.js';
import { render } from '../../src/cli/convert.js';

const TIMEOUT = { timeout: 600_000 };
const WAIT = 90_000;
const K_VIP = '10.20.0.41';
const L_VIP = '10.20.0.42';
const KEYS = { keepalived: `tcp:${K_VIP}:80`, ldirectord: `tcp:${L_VIP}:80` } as const;
type Tool = keyof typeof KEYS;

const RS1 = '10.10.1.2:80';
const RS2 = '10.10.2.2:80';
const SORRY = '10.10.3.2:80';

const KEEPALIVED_CONF = `! keepalived.conf for the lvsd convert equivalence test (checker only)
global_defs {
  router_id lvsd_equivalence
}

virtual_server ${K_VIP} 80 {
  delay_loop 2
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  sorry_server ${SORRY.replace(':', ' ')}

  real_server ${RS1.replace(':', ' ')} {
    weight 2
    HTTP_GET {
      url {
        path /
        status_code 200
      }
      connect_timeout 1
      retry 0
    }
  }
  real_server ${RS2.replace(':', ' ')} {
    weight 3
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
}
`;

const LDIRECTORD_CF = `# ldirectord.cf for the lvsd convert equivalence test
checktimeout=1
checkinterval=1
failurecount=1
quiescent=no

virtual=${L_VIP}:80
	real=${RS1} masq 2
	real=${RS2} masq 3
	fallback=${SORRY} masq
	service=http
	request="/"
	receive="hello from"
	scheduler=wrr
	protocol=tcp
	checktype=negotiate
`;

/** The lines of one VIP in `ipvsadm -Sn`, blanks collapsed, sorted. */
function normalised(text: string, key: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && lineKey(l) === key)
    .map((l) => l.trim().split(/\s+/).join(' '))
    .sort();
}

const STATES = {
  healthy: [[RS1, 2], [RS2, 3]],
  'one down': [[RS2, 3]],
  'all down': [[SORRY, 1]],
} as const;
type State = keyof typeof STATES;

function inState(table: Table, key: string, state: State): boolean {
  const got = realsOf(table, key).map(([a]) => a).sort();
  const want = STATES[state].map(([a]) => a).sort();
  return JSON.stringify(got) === JSON.stringify(want);
}

/** Waits until every tool's VIP is in `state`, returns each VIP's normalised lines. */
async function capture(tools: readonly Tool[], state: State): Promise<Record<string, string[]>> {
  await waitForTable((t) => tools.every((tool) => inState(t, KEYS[tool], state)), WAIT);
  const text = await ipvsadm('-Sn');
  return Object.fromEntries(tools.map((tool) => [tool, normalised(text, KEYS[tool])]));
}

describe('lvsd convert: keepalived and ldirectord vs lvsd on their conversions (kernel IPVS)', { skip: skipOutsideVm }, () => {
  let topo: Topology;
  let http: Map<string, ManagedProcess>;
  let dir: string;
  const peers: ChildProcess[] = [];
  let daemon: Daemon | null = null;
  const seen: Record<Tool, Partial<Record<State, string[]>>> = { keepalived: {}, ldirectord: {} };

  before(async () => {
    topo = await Topology.create({ reals: 3, client: false });
    http = await topo.startHttpOnAll();
    await topo.addVip(K_VIP);
    await topo.addVip(L_VIP);
    dir = await mkdtemp(join(tmpdir(), 'lvsd-equiv-'));
    await writeFile(join(dir, 'keepalived.conf'), KEEPALIVED_CONF);
    await writeFile(join(dir, 'ldirectord.cf'), LDIRECTORD_CF);
  });

  after(async () => {
    for (const p of peers) await stopChild(p).catch(() => undefined);
    if (daemon) await stopDaemon(daemon).catch(() => undefined);
    for (const key of Object.values(KEYS)) await deleteService(key).catch(() => undefined);
    await topo?.teardown();
  });

  it('keepalived (--check) and ldirectord: all healthy, one real down, all down', TIMEOUT, async (t) => {
    peers.push(
      startKeepalived('keepalived', join(dir, 'keepalived.conf'), dir),
      startLdirectord('ldirectord', join(dir, 'ldirectord.cf')),
    );
    const tools: Tool[] = ['keepalived', 'ldirectord'];
    for (const state of Object.keys(STATES) as State[]) {
      if (state === 'one down') await http.get('rs1')!.kill();
      if (state === 'all down') await http.get('rs2')!.kill();
      const lines = await capture(tools, state);
      for (const tool of tools) {
        seen[tool][state] = lines[tool];
        t.diagnostic(`${tool}, ${state}: ${lines[tool]!.join(' | ')}`);
      }
    }
    // Not a comparison of two empty lists: the weights and NAT forwarding of the configs are there.
    for (const tool of tools) {
      const vip = KEYS[tool].slice('tcp:'.length);
      assert.deepEqual(seen[tool].healthy, [`-A -t ${vip} -s wrr`, `-a -t ${vip} -r ${RS1} -m -w 2`, `-a -t ${vip} -r ${RS2} -m -w 3`], tool);
    }
    await http.get('rs1')!.revive();
    await http.get('rs2')!.revive();
    await capture(tools, 'healthy');
    for (const p of peers.splice(0)) await stopChild(p);
    // Both remove what they added when they stop; whatever is left is the test's to remove.
    for (const key of Object.values(KEYS)) await deleteService(key).catch(() => undefined);
    await waitForTable((t) => Object.values(KEYS).every((k) => !t.services.some((s) => s.key === k)), WAIT);
  });

  it('lvsd on both conversions: the same tables in the same three states', TIMEOUT, async (t) => {
    assert.ok(seen.keepalived['all down'] && seen.ldirectord['all down'], 'the peers ran first');
    const confDir = join(dir, 'lvsd');
    await mkdir(join(confDir, 'conf.d'), { recursive: true });
    // The converted files as they are; lvsd.yaml gets the test's listen port and state dir on top.
    let global: Record<string, unknown> = { listen: '127.0.0.1:19690', state_dir: 'state', log_level: 'debug' };
    for (const [format, file] of [['keepalived', 'keepalived.conf'], ['ldirectord', 'ldirectord.cf']] as const) {
      const src = join(dir, file);
      const { readFile } = await import('node:fs/promises');
      const r = await convert(format, src, await readFile(src, 'utf8'));
      assert.ok(r.ok, `${file} converts`);
      if (!r.ok) return;
      for (const [rel, body] of render(r, src)) {
        if (rel === 'lvsd.yaml') global = { ...((parse(body) as Record<string, unknown> | null) ?? {}), ...global };
        else await writeFile(join(confDir, rel), body);
      }
    }
    const { stringify } = await import('yaml');
    await writeFile(join(confDir, 'lvsd.yaml'), stringify(global));
    daemon = await Daemon.start({ configDir: confDir, label: 'lvsd-equivalence' });
    const tools: Tool[] = ['keepalived', 'ldirectord'];
    await waitForTable((t) => tools.every((tool) => inState(t, KEYS[tool], 'healthy')), START_WAIT);
    for (const state of Object.keys(STATES) as State[]) {
      if (state === 'one down') await http.get('rs1')!.kill();
      if (state === 'all down') await http.get('rs2')!.kill();
      const lines = await capture(tools, state);
      for (const tool of tools) {
        t.diagnostic(`lvsd on the ${tool} conversion, ${state}: ${lines[tool]!.join(' | ')}`);
        assert.deepEqual(lines[tool], seen[tool][state], `${tool} vs lvsd, ${state}`);
      }
    }
    await http.get('rs1')!.revive();
    await http.get('rs2')!.revive();
    await capture(tools, 'healthy');
    assertNoErrors(daemon);
    await stopDaemon(daemon);
    daemon = null;
    const left = parseTable(await ipvsadm('-Sn'));
    assert.ok(!left.services.some((s) => Object.values(KEYS).includes(s.key as (typeof KEYS)[Tool])), 'clean stop');
  });
});
