// The packaged lvsd.service under a real systemd (PID 1 of the kernel-test VM, LVSD_VM_INIT=systemd)
// with a real kernel IPVS: the .deb is installed with dpkg where there is no system nodejs (guest.sh
// removed it; the unit runs the package's own /usr/lib/lvsd/node), its postinst starts the unit, and every
// scenario drives it with systemctl the way an operator would. Asserted on the kernel table
// (sampled from /proc/net/ip_vs the whole time), on journald, and on the processes left behind:
// start, reload and restart and a package upgrade keep live reals in the table; stop removes the
// managed services and nothing else; the unit's hardening still lets ipvsadm and MISC checks run;
// a MISC check's grandchild that escaped its process group with setsid dies with the unit's cgroup.

import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { output, pollUntil, run, skipOutsideVm } from '../kernel/lib/exec.js';
import { ipvsadm, readTable, waitForTable } from '../kernel/lib/ipvsadm.js';
import type { Table } from '../kernel/lib/ipvsadm.js';
import { hasReals, TableRecorder } from '../kernel/lib/scenario.js';
import { Topology } from '../kernel/lib/topology.js';

const underSystemd = existsSync('/run/systemd/system');
const skip = skipOutsideVm || (underSystemd ? false : 'needs systemd as PID 1 (LVSD_VM_INIT=systemd, npm run test:systemd)');

const TIMEOUT = { timeout: 300_000 };
const WAIT = 150_000;
/**
 * dpkg with this package (an 86 MB Node.js runtime to unpack, then the unit started from the
 * postinst) and repacking it: bounds for a loaded 2-core machine emulating the VM, not timings.
 */
const DPKG_WAIT = 600_000;
const DPKG_TIMEOUT = { timeout: 900_000 };
const VIP = '10.20.0.51';
const WEB = `tcp:${VIP}:80`;
const EXTRA = `tcp:${VIP}:81`;
const FOREIGN_VIP = '10.20.0.59';
const FOREIGN = `tcp:${FOREIGN_VIP}:80`;
const rip = (n: number): string => `10.10.${n}.2:80`;
const BOTH: readonly (readonly [string, number])[] = [[rip(1), 1], [rip(2), 1]];
/** Where the MISC check scripts live: outside /tmp (the unit has PrivateTmp) and readable to it. */
const CHECKS = '/usr/local/lib/lvsd-test';
/** Marks the grandchild a MISC check leaves behind with setsid (found again with pgrep -f). */
const ESCAPEE = 'lvsd-test-escapee';

const deb = process.env['LVSD_DEB'] ?? '';

function systemctl(...args: string[]): Promise<string> {
  return output('systemctl', args, { timeoutMs: WAIT });
}

async function mainPid(): Promise<number> {
  return Number(await systemctl('show', '-p', 'MainPID', '--value', 'lvsd.service'));
}

/** lvsd.yaml with fast checks; `extra` adds keys. */
function globalYaml(): string {
  return [
    'listen: 127.0.0.1:9716',
    'log_level: debug',
    'resync_interval: 10s',
    'defaults:',
    '  scheduler: rr',
    '  forwarding: masq',
    '  check: { type: tcp, interval: 1s, timeout: 900ms, rise: 1, fall: 2 }',
    '',
  ].join('\n');
}

function webYaml(withExtra: boolean): string {
  const web = [
    'name: web',
    `address: ${VIP}:80`,
    'reals:',
    `  - address: ${rip(1)}`,
    `  - address: ${rip(2)}`,
    // A MISC check under the unit's sandbox: it must be able to run (and it leaves an escapee).
    // timeout 10s: the first run after a restart starts the escapee and waits for it, in an emulated
    // machine that is also starting the new daemon; 2 s ran out there (the real's first result decides).
    `    check: { type: misc, command: ["${CHECKS}/check-escape.sh"], interval: 1s, timeout: 10s }`,
  ];
  const extra = ['---', 'name: extra', `address: ${VIP}:81`, 'reals:', `  - address: 10.10.1.2:81`, `    check: { type: none }`];
  return [...web, ...(withExtra ? extra : []), ''].join('\n');
}

/** Every journald line of the unit since boot, as pino objects (lines that are not JSON skipped). */
async function journal(): Promise<Record<string, unknown>[]> {
  const text = await output('journalctl', ['-u', 'lvsd.service', '-o', 'cat', '--no-pager'], { timeoutMs: WAIT });
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // systemd's own lines ("Started ...") are plain text
    }
  }
  return out;
}

/** No sample of the recorder ever lacked one of the two live reals. */
function assertNeverLostReals(tables: readonly Table[], what: string): void {
  assert.ok(tables.length > 0, `${what}: no table sampled`);
  tables.forEach((t, i) => assert.ok(hasReals(t, WEB, BOTH), `${what}: sample ${i} lost a live real: ${JSON.stringify(t.byKey.get(WEB) ?? null)}`));
}

/** systemctl status and the unit's last journal lines, for a failure message. */
async function diagnose(): Promise<string> {
  const status = await run('systemctl', ['status', '--no-pager', '-l', 'lvsd.service'], { allowFail: true });
  const log = await run('journalctl', ['-u', 'lvsd.service', '--no-pager', '-n', '40'], { allowFail: true });
  return `${status.stdout}\n${log.stdout}`;
}

async function escapees(): Promise<number[]> {
  const r = await run('pgrep', ['-f', ESCAPEE], { allowFail: true });
  return r.stdout.split('\n').filter((l) => l.trim() !== '').map(Number);
}

describe('the packaged lvsd.service under systemd (kernel IPVS)', { skip }, () => {
  let topo: Topology;

  before(async () => {
    assert.ok(deb !== '' && existsSync(deb), `LVSD_DEB must name the built .deb, got "${deb}"`);
    topo = await Topology.create({ reals: 2, client: false });
    await topo.startHttpOnAll();
    await topo.addVip(VIP);
    await topo.addVip(FOREIGN_VIP);
    // A service lvsd does not own: it must come through everything byte for byte.
    await ipvsadm('-A', '-t', `${FOREIGN_VIP}:80`, '-s', 'wrr');
    await ipvsadm('-a', '-t', `${FOREIGN_VIP}:80`, '-r', rip(1), '-m', '-w', '7');

    // The machine image this VM boots from is a container's, which forbids starting services from
    // maintainer scripts (policy-rc.d exits 101); a real director has no such file. The guest's
    // root is a throw-away overlay, so removing it changes nothing on the host.
    rmSync('/usr/sbin/policy-rc.d', { force: true });
    // The guest's root is the host's: an lvsd package installed there would turn the dpkg -i
    // below into an upgrade of it (whose postinst restarts only a running daemon: nothing would
    // start), and its config-files state would keep dpkg from putting back conffiles removed here.
    // Purge it from this throw-away root first, so the test installs afresh whatever the host has.
    const installed = await run('dpkg-query', ['-W', '-f=${Status}', 'lvsd'], { allowFail: true });
    if (installed.code === 0 && installed.stdout.trim() !== '' && !installed.stdout.includes('not-installed')) {
      const purge = await run('dpkg', ['--purge', '--force-depends', 'lvsd'], { timeoutMs: DPKG_WAIT, allowFail: true });
      assert.equal(purge.code, 0, `dpkg --purge of the host's lvsd: ${purge.stdout}\n${purge.stderr}`);
    }
    rmSync('/etc/lvsd', { recursive: true, force: true });
    rmSync('/var/lib/lvsd', { recursive: true, force: true });
    mkdirSync(CHECKS, { recursive: true });
    const script = join(CHECKS, 'check-escape.sh');
    // Up when the real answers; leaves one grandchild in a new session with a clean environment, as
    // badly written checks do (/run/lvsd is the unit's writable runtime directory).
    writeFileSync(script, [
      '#!/bin/bash',
      // env -i: without lvsd's per-run tag in its environment lvsd cannot find it (lvsd reaps the
      // setsid children it can find itself); only the unit's cgroup still holds it. The check
      // waits until the escapee has cleared its environment (it wrote its pid) before it exits.
      `if ! pgrep -f ${ESCAPEE} >/dev/null; then`,
      '  rm -f /run/lvsd/escapee.pid',
      `  setsid env -i bash -c 'echo $$ > /run/lvsd/escapee.pid; exec -a ${ESCAPEE} sleep 100000' </dev/null >/dev/null 2>&1 &`,
      '  for _ in $(seq 15); do [ -s /run/lvsd/escapee.pid ] && break; sleep 0.1; done',
      'fi',
      'exec 3<>"/dev/tcp/$LVSD_RIP/$LVSD_RPORT"',
      '',
    ].join('\n'));
    chmodSync(script, 0o755);
  });

  after(async () => {
    await run('systemctl', ['stop', 'lvsd.service'], { allowFail: true, timeoutMs: WAIT });
    await run('ipvsadm', ['-D', '-t', `${FOREIGN_VIP}:80`], { allowFail: true });
    await topo?.teardown();
  });

  it('installs from the .deb, starts under systemd and reloads into a new conf.d', DPKG_TIMEOUT, async () => {
    const started = Date.now();
    const install = await run('dpkg', ['-i', deb], { timeoutMs: DPKG_WAIT, allowFail: true });
    process.stdout.write(`# dpkg -i (unpack, postinst starting the unit): ${Math.round((Date.now() - started) / 1000)} s\n`);
    assert.equal(install.code, 0, `dpkg -i: ${install.stdout}\n${install.stderr}`);
    await pollUntil('lvsd.service active', async () => ((await systemctl('is-active', 'lvsd.service').catch(() => '')) === 'active' ? true : undefined), WAIT, 500)
      .catch(async (err: Error) => assert.fail(`${err.message}\n${await diagnose()}`));
    // The daemon runs on the package's runtime (this root has no other node when guest.sh ran with
    // LVSD_GUEST_NO_SYSTEM_NODE, as test/systemd/run.sh sets it).
    assert.equal(readlinkSync(`/proc/${await mainPid()}/exe`), '/usr/lib/lvsd/node');
    if (process.env['LVSD_GUEST_NO_SYSTEM_NODE']) {
      assert.notEqual((await run('sh', ['-c', 'command -v node'], { allowFail: true })).code, 0, 'a system node is on PATH');
    }
    // Serving its listener: past its start, so the SIGHUP below is a reload.
    await pollUntil('lvsd status answering', async () => ((await run('lvsd', ['status'], { allowFail: true })).code === 0 ? true : undefined), WAIT, 500)
      .catch(async (err: Error) => assert.fail(`${err.message}\n${await diagnose()}`));
    writeFileSync('/etc/lvsd/lvsd.yaml', globalYaml());
    writeFileSync('/etc/lvsd/conf.d/web.yaml', webYaml(false));
    await systemctl('reload', 'lvsd.service');
    await waitForTable((t) => hasReals(t, WEB, BOTH), WAIT).catch(async (err: Error) => assert.fail(`${err.message}\n${await diagnose()}`));
    // The MISC check ran under the sandbox and answered: its real is in the table only if it did.
    const status = JSON.parse(await output('lvsd', ['status', '--json'], { timeoutMs: WAIT })) as unknown;
    assert.match(JSON.stringify(status), /misc/i, 'status shows the MISC check');
  });

  it('logs reach journald as JSON lines', TIMEOUT, async () => {
    const lines = await journal();
    assert.ok(lines.some((l) => l['msg'] === 'lvsd starting'), 'the start line is in the journal');
    assert.ok(lines.some((l) => l['msg'] === 'applying IPVS changes'), 'the applied changes are in the journal');
  });

  it('systemctl reload keeps the live reals (no flap)', TIMEOUT, async () => {
    const recorder = new TableRecorder();
    writeFileSync('/etc/lvsd/conf.d/web.yaml', webYaml(true));
    await systemctl('reload', 'lvsd.service');
    await waitForTable((t) => t.byKey.has(EXTRA) && hasReals(t, WEB, BOTH), WAIT);
    assertNeverLostReals(await recorder.stop(), 'reload');
  });

  it('systemctl restart keeps the live reals (the restart leaves the table to the next daemon)', TIMEOUT, async () => {
    const before = await mainPid();
    const recorder = new TableRecorder();
    await systemctl('restart', 'lvsd.service');
    const pid = await pollUntil('a new main pid', async () => {
      const p = await mainPid();
      return p !== 0 && p !== before ? p : undefined;
    }, WAIT, 500);
    // The new daemon has adopted the table once its first round is in; sample until then.
    await pollUntil('the new daemon in sync', async () => {
      const s = JSON.parse(await output('lvsd', ['status', '--json'], { timeoutMs: WAIT })) as { reconcile?: { passes?: number } };
      return (s.reconcile?.passes ?? 0) > 0 ? true : undefined;
    }, WAIT, 500);
    const tables = await recorder.stop();
    try {
      assertNeverLostReals(tables, `restart (new pid ${pid})`);
    } catch (err) {
      // What the daemons said about the lost real, for whoever reads the failure.
      const lines = (await journal()).filter((l) => JSON.stringify(l).includes('10.10.2.2') || /stop|start|first|applying/.test(String(l['msg'])));
      throw new Error(`${(err as Error).message}\njournal:\n${lines.slice(-60).map((l) => JSON.stringify(l)).join('\n')}`);
    }
  });

  it('a package upgrade keeps the live reals', DPKG_TIMEOUT, async () => {
    // The same payload as a newer version: unpack, bump the version, repack.
    const dir = mkdtempSync('/var/tmp/lvsd-upgrade-');
    await run('dpkg-deb', ['-R', deb, join(dir, 'pkg')], { timeoutMs: DPKG_WAIT });
    const control = join(dir, 'pkg', 'DEBIAN', 'control');
    writeFileSync(control, readFileSync(control, 'utf8').replace(/^Version: (.*)$/m, 'Version: $1+upgrade1'));
    const next = join(dir, 'lvsd-upgrade.deb');
    // Uncompressed: the package carries an 86 MB runtime, and xz (dpkg-deb's default) would take
    // minutes under the VM's emulation.
    await run('dpkg-deb', ['--root-owner-group', '-Znone', '-b', join(dir, 'pkg'), next], { timeoutMs: DPKG_WAIT });
    const before = await mainPid();
    const recorder = new TableRecorder();
    const install = await run('dpkg', ['-i', next], { timeoutMs: DPKG_WAIT, allowFail: true });
    assert.equal(install.code, 0, `dpkg -i (upgrade): ${install.stdout}\n${install.stderr}`);
    const version = await output('dpkg-query', ['-W', '-f=${Version}', 'lvsd']);
    assert.match(version, /\+upgrade1$/);
    await pollUntil('the upgraded daemon running', async () => {
      const p = await mainPid();
      return p !== 0 && p !== before ? p : undefined;
    }, WAIT, 500);
    await pollUntil('the upgraded daemon in sync', async () => {
      const s = JSON.parse(await output('lvsd', ['status', '--json'], { timeoutMs: WAIT })) as { reconcile?: { passes?: number } };
      return (s.reconcile?.passes ?? 0) > 0 ? true : undefined;
    }, WAIT, 500);
    assertNeverLostReals(await recorder.stop(), 'upgrade');
  });

  it('systemctl stop removes the managed services, leaves the foreign one, and kills the setsid escapee with the cgroup', TIMEOUT, async () => {
    const foreignBefore = (await ipvsadm('-Sn')).split('\n').filter((l) => l.includes(FOREIGN_VIP)).join('\n');
    assert.ok((await escapees()).length > 0, 'the MISC check left its setsid grandchild (precondition)');
    await systemctl('stop', 'lvsd.service');
    const table = await readTable();
    assert.equal(table.byKey.has(WEB), false, 'web removed');
    assert.equal(table.byKey.has(EXTRA), false, 'extra removed');
    const foreignAfter = (await ipvsadm('-Sn')).split('\n').filter((l) => l.includes(FOREIGN_VIP)).join('\n');
    assert.equal(foreignAfter, foreignBefore, 'the foreign service is byte-identical');
    assert.ok(table.byKey.has(FOREIGN));
    assert.deepEqual(await escapees(), [], 'the escapee died with the unit cgroup');
    const stops = (await journal()).filter((l) => l['msg'] === 'lvsd stopped');
    assert.ok(stops.length > 0, 'the clean stop is in the journal');
    // Nothing of lvsd's is left running.
    const procs = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('/usr/lib/lvsd/lvsd.js');
      } catch {
        return false;
      }
    });
    assert.deepEqual(procs, [], 'no lvsd process left');
  });
});
