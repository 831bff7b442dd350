// Kernel reconcile benchmark, run inside the kernel-test VM (`bash test/kernel/run-bench.sh`):
// lvsd against the real IPVS. Figures only, no assertions; printed and written to
// /vmout/kernel.md and /vmout/kernel.json (run-bench.sh copies them to bench/results/).
//
// 1. Failure to removal: a realserver's HTTP server is frozen (SIGSTOP, so its checks time out,
//    the slow kind of failure) and the time until its entry is gone from the kernel table is
//    measured by polling /proc/net/ip_vs (a file read, no fork, every few ms). Target: interval x
//    fall + timeout + 100 ms. SIGCONT brings it back between runs.
// 2. 1,000 services x 10 reals (`check: {type: none}`, the same 10 addresses in every service,
//    which need not exist: no packet is ever sent to them): build from empty, a change of 500 weights, the steady-state resync, a
//    clean stop. Wall time from the daemon's own log timestamps and from the kernel's side; CPU
//    from /proc/<pid>/stat (the daemon's utime+stime, and its reaped children's: ipvsadm).

import { execFileSync, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Daemon, makeConfigDir, writeConfigDir } from '../../test/kernel/lib/daemon.js';
import type { LogLine } from '../../test/kernel/lib/daemon.js';
import { inKernelVm, run, sleep } from '../../test/kernel/lib/exec.js';
import { deleteService, ipvsadmRestore, readTable } from '../../test/kernel/lib/ipvsadm.js';
import { globalConfig, listenPort, metric } from '../../test/kernel/lib/scenario.js';
import { Topology } from '../../test/kernel/lib/topology.js';
import { spawnTracked } from '../../test/kernel/lib/servers.js';

const OUT_DIR = process.env['LVSD_BENCH_OUT'] ?? '/vmout';
const RUNS = Number(process.env['LVSD_BENCH_RUNS'] ?? 7);
const SERVICES = Number(process.env['LVSD_BENCH_SERVICES'] ?? 1000);
const REALS_PER_SERVICE = 10;
const CHANGED = Number(process.env['LVSD_BENCH_CHANGED'] ?? 500);
const STEADY_WINDOW_MS = 60_000;
/** "failure" runs only part 1 (failure to removal, keepalived, execs per change). */
const ONLY = process.env['LVSD_BENCH_ONLY'] ?? '';

// ---- /proc/net/ip_vs: the kernel table without forking ipvsadm ----

/** "10.20.0.50", 80 -> "0A140032:0050", as /proc/net/ip_vs prints IPv4 endpoints. */
function hexEndpoint(ip: string, port: number): string {
  const hex = ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('').toUpperCase();
  return `${hex}:${port.toString(16).padStart(4, '0').toUpperCase()}`;
}

/** service ("TCP 0A140032:0050") -> real ("0A0A0102:0050") -> weight. */
type ProcTable = Map<string, Map<string, number>>;

function parseProc(text: string): ProcTable {
  const table: ProcTable = new Map();
  let current: Map<string, number> | null = null;
  for (const line of text.split('\n')) {
    const t = line.trim().split(/\s+/);
    if (t[0] === '->' && current !== null && t[1] !== 'RemoteAddress:Port') current.set(t[1] ?? '', Number(t[3]));
    else if (t[0] === 'TCP' || t[0] === 'UDP' || t[0] === 'FWM' || t[0] === 'SCTP') {
      current = new Map();
      table.set(`${t[0]} ${t[1]}`, current);
    }
  }
  return table;
}

async function readProc(): Promise<ProcTable> {
  return parseProc(await readFile('/proc/net/ip_vs', 'utf8'));
}

/** Polls /proc/net/ip_vs until `done`; the performance.now() of the first read that satisfied it. */
async function pollProc(done: (t: ProcTable) => boolean, timeoutMs: number, intervalMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const t = await readProc();
    const now = performance.now();
    if (done(t)) return now;
    if (now > deadline) throw new Error(`kernel table condition not met within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

// ---- CPU of a process from /proc/<pid>/stat ----

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

interface Cpu {
  /** The process's own user+system time, ms. */
  readonly self: number;
  /** Its waited-for children's (ipvsadm), ms. */
  readonly children: number;
}

function cpuOf(pid: number): Cpu {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at state = field 3.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  const ms = (ticks: number): number => (ticks * 1000) / CLK_TCK;
  // utime=14, stime=15, cutime=16, cstime=17 (1-based) -> indices 11..14 after the state field.
  return { self: ms((f[11] ?? 0) + (f[12] ?? 0)), children: ms((f[13] ?? 0) + (f[14] ?? 0)) };
}

const cpuDelta = (a: Cpu, b: Cpu): Cpu => ({ self: b.self - a.self, children: b.children - a.children });

// ---- small helpers ----

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const r0 = (x: number): number => Math.round(x);

function logTime(line: LogLine | undefined): number {
  if (line === undefined) return NaN;
  return Date.parse(String(line['time']));
}

function findLog(daemon: Daemon, since: number, pred: (l: LogLine) => boolean): LogLine | undefined {
  return daemon.logs.slice(since).find(pred);
}

interface Row {
  readonly figure: string;
  readonly value: string;
  readonly target?: string;
  readonly note?: string;
}

const rows: Row[] = [];
const json: Record<string, unknown> = {};

function report(row: Row, key: string, value: unknown): void {
  rows.push(row);
  json[key] = value;
  console.log(`${row.figure}: ${row.value}${row.target ? ` (target ${row.target})` : ''}${row.note ? ` — ${row.note}` : ''}`);
}

// ---- 1. failure to removal, lvsd and keepalived on the same realservers ----

/** Sum of a metric's samples over its labels, from /metrics. */
async function metricSum(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

interface RemovalRuns {
  readonly observed: number[];
  /** performance.now() of each freeze, for matching log lines. */
  readonly frozenAt: number[];
}

/**
 * Freeze the victim's HTTP server (SIGSTOP: its checks time out, the slow kind of failure) at a
 * random phase of the check timer, time until its entry is gone from `service` in the kernel
 * table, SIGCONT, wait until it is back. `between` runs after each recovery (log bookkeeping).
 */
async function removalRuns(pid: number, service: string, real: string, intervalMs: number, before?: () => void, after?: () => Promise<void>): Promise<RemovalRuns> {
  const observed: number[] = [];
  const frozenAt: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await sleep(Math.random() * intervalMs);
    before?.();
    const t0 = performance.now();
    process.kill(pid, 'SIGSTOP');
    const gone = await pollProc((t) => t.get(service)?.has(real) === false, 30_000, 5);
    observed.push(gone - t0);
    frozenAt.push(t0);
    process.kill(pid, 'SIGCONT');
    await pollProc((t) => t.get(service)?.has(real) === true, 30_000, 20);
    await after?.();
  }
  return { observed, frozenAt };
}

const INTERVAL_MS = 500;
const TIMEOUT_MS = 250;
const FALL = 3;

/** keepalived's checker (no VRRP) with the same check: HTTP GET /health every 0.5 s, 0.25 s
 *  timeout, down after 3 failures in a row (one failed check + retry 2). */
function keepalivedConf(vip: string, reals: readonly string[]): string {
  return [
    'global_defs {',
    '  router_id lvsd_bench',
    '}',
    `virtual_server ${vip} 80 {`,
    `  delay_loop ${INTERVAL_MS / 1000}`,
    '  lb_algo wlc',
    '  lb_kind NAT',
    '  protocol TCP',
    ...reals.flatMap((r) => [
      `  real_server ${r} 80 {`,
      '    weight 1',
      '    HTTP_GET {',
      '      url {',
      '        path /health',
      '        status_code 200',
      '      }',
      `      connect_timeout ${TIMEOUT_MS / 1000}`,
      `      retry ${FALL - 1}`,
      `      delay_before_retry ${INTERVAL_MS / 1000}`,
      '    }',
      '  }',
    ]),
    '}',
    '',
  ].join('\n');
}

async function failureToRemoval(): Promise<void> {
  const rise = 1;
  const target = INTERVAL_MS * FALL + TIMEOUT_MS + 100;
  const topo = await Topology.create({ reals: 2, client: false });
  let daemon: Daemon | undefined;
  let keepalived: ChildProcess | undefined;
  const realAddrs = ['10.10.1.2', '10.10.2.2'];
  const real = hexEndpoint('10.10.1.2', 80);
  try {
    const [victim] = await Promise.all([topo.startHttp('rs1'), topo.startHttp('rs2')]);
    const pid = victim.pid;
    if (pid === undefined) throw new Error('no pid for the realserver');

    // lvsd
    const vip = await topo.addVip('10.20.0.50');
    const service = `TCP ${hexEndpoint(vip, 80)}`;
    const global = globalConfig({ log_level: 'info', resync_interval: '30s' });
    const port = listenPort(global);
    daemon = await Daemon.start({
      configDir: await makeConfigDir({
        global,
        services: {
          bench: {
            name: 'bench',
            address: `${vip}:80`,
            check: { type: 'http', path: '/health', interval: `${INTERVAL_MS}ms`, timeout: `${TIMEOUT_MS}ms`, rise, fall: FALL },
            reals: realAddrs.map((a) => ({ address: `${a}:80` })),
          },
        },
      }),
      label: 'bench-failure',
    });
    const d = daemon;
    await pollProc((t) => t.get(service)?.has(real) === true, 60_000, 20);
    await d.waitForMessage('IPVS changes applied', 60_000);
    const toTransition: number[] = [];
    const toApplied: number[] = [];
    const execs0 = await metricSum(port, 'lvsd_ipvsadm_execs_total');
    const ops0 = await metricSum(port, 'lvsd_reconcile_operations_total');
    let since = 0;
    let wallStop = 0;
    const lvsd = await removalRuns(pid, service, real, INTERVAL_MS, () => {
      since = d.mark();
      wallStop = Date.now();
    }, async () => {
      const down = await d.waitForLog((l) => l['event'] === 'health_transition' && l['real'] === '10.10.1.2:80' && l['to'] === 'down', 10_000, since);
      const applied = await d.waitForMessage('IPVS changes applied', 10_000, d.logs.indexOf(down));
      toTransition.push(logTime(down) - wallStop);
      toApplied.push(logTime(applied) - wallStop);
      // The re-add's transition may be logged before the removal's pass ends: search from the down.
      const up = await d.waitForLog((l) => l['event'] === 'health_transition' && l['real'] === '10.10.1.2:80' && l['to'] === 'up', 10_000, d.logs.indexOf(down));
      await d.waitForLog((l) => l.msg === 'IPVS changes applied' && (l['kinds'] as Record<string, number> | undefined)?.['add-real'] === 1, 10_000, d.logs.indexOf(up));
    });
    const execs = (await metricSum(port, 'lvsd_ipvsadm_execs_total')) - execs0;
    const ops = (await metricSum(port, 'lvsd_reconcile_operations_total')) - ops0;
    const changes = 2 * RUNS; // each run: one removal, one re-add
    await d.stop(60_000);
    await deleteService('tcp:10.20.0.50:80');

    // keepalived, same realservers, same check, its own VIP
    const kvip = await topo.addVip('10.20.0.51');
    const kservice = `TCP ${hexEndpoint(kvip, 80)}`;
    const dir = await mkdtemp(join(tmpdir(), 'bench-keepalived-'));
    await writeFile(join(dir, 'keepalived.conf'), keepalivedConf(kvip, realAddrs));
    keepalived = spawnTracked('keepalived', [
      '--dont-fork', '--log-console', '--check', '--use-file', join(dir, 'keepalived.conf'),
      '--pid', join(dir, 'k.pid'), '--checkers_pid', join(dir, 'c.pid'), '--vrrp_pid', join(dir, 'v.pid'),
    ]);
    await pollProc((t) => t.get(kservice)?.has(real) === true && t.get(kservice)?.size === 2, 60_000, 20);
    await sleep(2 * INTERVAL_MS);
    const ka = await removalRuns(pid, kservice, real, INTERVAL_MS);

    const mLvsd = median(lvsd.observed);
    const mKa = median(ka.observed);
    json['failureRuns'] = { lvsd: lvsd.observed, keepalived: ka.observed, toTransition, toApplied };
    report(
      {
        figure: `failure to removal, lvsd (HTTP check frozen: interval ${INTERVAL_MS} ms, timeout ${TIMEOUT_MS} ms, fall ${FALL}), median of ${RUNS}`,
        value: `${r0(mLvsd)} ms (min ${r0(Math.min(...lvsd.observed))}, max ${r0(Math.max(...lvsd.observed))})`,
        target: `≤ ${target} ms`,
        note: `median down transition logged ${r0(median(toTransition))} ms, pass done ("IPVS changes applied") ${r0(median(toApplied))} ms after the freeze (log clock)`,
      },
      'failureToRemovalMs',
      { median: mLvsd, min: Math.min(...lvsd.observed), max: Math.max(...lvsd.observed), target },
    );
    report(
      {
        figure: `failure to removal, keepalived ${kaVersion()} checker (same realservers, HTTP_GET every ${INTERVAL_MS / 1000} s, connect_timeout ${TIMEOUT_MS / 1000}, retry ${FALL - 1}), median of ${RUNS}`,
        value: `${r0(mKa)} ms (min ${r0(Math.min(...ka.observed))}, max ${r0(Math.max(...ka.observed))})`,
        note: 'same boot, right after lvsd; keepalived changes IPVS over netlink (no fork)',
      },
      'keepalivedFailureToRemovalMs',
      { median: mKa, min: Math.min(...ka.observed), max: Math.max(...ka.observed) },
    );
    report(
      { figure: 'failure to removal, lvsd / keepalived (medians)', value: `${(mLvsd / mKa).toFixed(2)}x`, target: '≤ 0.25x' },
      'failureToRemovalRatio',
      mLvsd / mKa,
    );
    report(
      {
        figure: `ipvsadm execs per change (lvsd, the ${changes} changes above: each removal and re-add)`,
        value: `${(execs / changes).toFixed(2)}`,
        target: '1',
        note: `${execs} execs (lvsd_ipvsadm_execs_total) for ${ops} operations; before the table model a change cost 3-5`,
      },
      'execsPerChange',
      { execs, changes, ops },
    );
  } finally {
    if (daemon?.running) await daemon.kill();
    if (keepalived && keepalived.exitCode === null) {
      keepalived.kill('SIGTERM');
      await new Promise((res) => keepalived!.once('exit', res));
    }
    await deleteService('tcp:10.20.0.50:80').catch(() => undefined);
    await deleteService('tcp:10.20.0.51:80').catch(() => undefined);
    await topo.teardown();
  }
}

function kaVersion(): string {
  // keepalived prints its version on stderr.
  const r = spawnSync('keepalived', ['--version'], { encoding: 'utf8' });
  return /Keepalived (v\S+)/.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1] ?? '';
}

// ---- 2. 1,000 services x 10 reals ----

const FILES = 10;

function vipOf(i: number): string {
  return `10.20.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

/**
 * The same 10 addresses behind every service (a common pool; inside the harness' realserver range,
 * never contacted). Checks are shared per distinct probe, so 10 probes run, not 10,000: the figures
 * are the reconciler's, not the scheduler's (bench/checks.ts measures check load).
 */
function realOf(_service: number, k: number): string {
  return `10.10.${100 + k}.2`;
}

function servicesFile(f: number, weightOf: (i: number, k: number) => number): Record<string, unknown>[] {
  const docs: Record<string, unknown>[] = [];
  for (let i = f * (SERVICES / FILES); i < (f + 1) * (SERVICES / FILES); i++) {
    docs.push({
      name: `s${i}`,
      address: `${vipOf(i)}:80`,
      check: { type: 'none' },
      reals: Array.from({ length: REALS_PER_SERVICE }, (_, k) => ({ address: `${realOf(i, k)}:80`, weight: weightOf(i, k) })),
    });
  }
  return docs;
}

function countReals(t: ProcTable): number {
  let n = 0;
  for (const reals of t.values()) n += reals.size;
  return n;
}

const PASS_END = new Set([
  'IPVS changes applied',
  'IPVS table still differs after apply; will retry',
  'IPVS sync failed; will retry',
]);

/**
 * The end of the pass that logged "applying IPVS changes" at or after `since`: its "applied" line,
 * or its failure (then also waits for the retry that brings the table in sync again).
 */
async function passEnd(d: Daemon, since: number, timeoutMs: number): Promise<{ end: LogLine; failure: string | null }> {
  const end = await d.waitForLog((l) => PASS_END.has(String(l.msg)), timeoutMs, since);
  if (end.msg === 'IPVS changes applied') return { end, failure: null };
  const failure = String(end['err'] ?? end['remaining'] ?? end.msg);
  await d.waitForLog((l) => l.msg === 'IPVS table in sync again' || l.msg === 'IPVS changes applied', timeoutMs, d.logs.indexOf(end));
  return { end, failure };
}

async function bigTable(): Promise<void> {
  const global = globalConfig({
    log_level: 'info',
    resync_interval: '10s',
    // One probe result fans out to its 1,000 (service, real) pairs; at a 1 s interval that alone
    // keeps the emulated daemon busy (~1 vCPU) and the resync figures would measure it, not the
    // reconciler. A long interval keeps checks out of the picture (the first round takes up to it).
    defaults: { scheduler: 'wlc', forwarding: 'masq', check: { type: 'none', interval: '60s', timeout: '1s' } },
  });
  const port = listenPort(global);
  const services: Record<string, Record<string, unknown>[]> = {};
  for (let f = 0; f < FILES; f++) services[`big-${f}`] = servicesFile(f, () => 1);
  const configDir = await makeConfigDir({ global, services });
  const total = SERVICES * REALS_PER_SERVICE;
  let daemon: Daemon | undefined;
  try {
    const spawned = Date.now();
    daemon = await Daemon.start({ configDir, label: 'bench-big' });
    const d = daemon;
    const pid = d.pid;
    if (pid === undefined) throw new Error('no daemon pid');
    const applying = await d.waitForMessage('applying IPVS changes', 900_000);
    // Reading /proc/net/ip_vs (11,000 lines) costs the emulated machine too: every 500 ms.
    await pollProc((t) => t.size >= SERVICES && countReals(t) >= total, 900_000, 500);
    const full = Date.now();
    const build = await passEnd(d, d.logs.indexOf(applying), 300_000);
    const buildCpu = cpuOf(pid);
    const firstRound = findLog(d, 0, (l) => String(l.msg).startsWith('first check round in'));
    const starting = findLog(d, 0, (l) => l.msg === 'lvsd starting');
    const lines = (applying['lines'] as unknown[] | undefined)?.length ?? 0;
    report(
      {
        figure: `build ${SERVICES} services x ${REALS_PER_SERVICE} reals from empty: "applying" logged → all ${total} reals in the kernel`,
        value: `${r0(full - logTime(applying))} ms`,
        note:
          `one ipvsadm -R of ${lines} lines; first check round in → "applying" (read, desired, diff, log) ${r0(logTime(applying) - logTime(firstRound))} ms; ` +
          `verify ${build.failure === null ? `ok, pass ended ${r0(logTime(build.end) - logTime(applying))} ms after "applying"` : `failed (${build.failure}), repaired by the retry`}; ` +
          `spawn → "lvsd starting" ${r0(logTime(starting) - spawned)} ms, → first round in ${r0(logTime(firstRound) - spawned)} ms`,
      },
      'build',
      {
        applyingToKernelMs: full - logTime(applying),
        firstRoundToApplyingMs: logTime(applying) - logTime(firstRound),
        applyingToPassEndMs: logTime(build.end) - logTime(applying),
        verifyFailure: build.failure,
        spawnToStartingMs: logTime(starting) - spawned,
        spawnToFirstRoundMs: logTime(firstRound) - spawned,
        lines,
      },
    );
    report(
      {
        figure: 'CPU from spawn until the table is built (module load, config of 10,000 reals, 10,000 first results logged, first pass)',
        value: `daemon ${r0(buildCpu.self)} ms, ipvsadm ${r0(buildCpu.children)} ms`,
      },
      'buildCpuMs',
      buildCpu,
    );

    // Steady state: resyncs (every 10 s) read the 10,000 reals and find nothing to do. /metrics is
    // read only at both ends of the window: a scrape reads the whole kernel table too (cached 5 s).
    const passes0 = await metric(port, 'lvsd_reconcile_passes_total');
    const idleSince = d.mark();
    const cpu0 = cpuOf(pid);
    const idle0 = performance.now();
    await sleep(STEADY_WINDOW_MS);
    const cpu1 = cpuOf(pid);
    const idleMs = performance.now() - idle0;
    const passes1 = await metric(port, 'lvsd_reconcile_passes_total');
    const scrape = cpuDelta(cpu1, cpuOf(pid));
    const resync = cpuDelta(cpu0, cpu1);
    const n = Math.max(1, passes1 - passes0);
    const resyncFailures = d.logs.slice(idleSince).filter((l) => l.msg === 'IPVS sync failed; will retry').map((l) => String(l['err']));
    report(
      {
        figure: `steady state: ${passes1 - passes0} resync passes in ${r0(idleMs / 1000)} s (ipvsadm -Sn + -Ln --thresholds, parse, desired, diff; nothing to apply)`,
        value: `daemon ${r0(resync.self / n)} ms + ipvsadm ${r0(resync.children / n)} ms CPU per pass`,
        note:
          `the whole window: daemon ${r0(resync.self)} ms, ipvsadm ${r0(resync.children)} ms (idle daemon included); ` +
          `${resyncFailures.length} pass(es) failed${resyncFailures.length ? ` (${[...new Set(resyncFailures)].join('; ')})` : ''}`,
      },
      'resyncCpuMsPerPass',
      { self: resync.self / n, children: resync.children / n, passes: passes1 - passes0, seconds: idleMs / 1000, failures: resyncFailures },
    );
    report(
      {
        figure: 'one /metrics scrape (10,000 real series; the table is the reconciler\'s model, only counters and traffic are read: -Ln --persistent-conn, -Ln --stats)',
        value: `daemon ${r0(scrape.self)} ms + ipvsadm ${r0(scrape.children)} ms CPU`,
        note: 'the kernel read is cached 5 s: scrape every 15 s or more',
      },
      'scrapeCpuMs',
      scrape,
    );

    // A change of CHANGED reals: weight 1 -> 2 of the first CHANGED reals (services 0.., real 0..9).
    const changed = (i: number, k: number): boolean => i * REALS_PER_SERVICE + k < CHANGED;
    const changedServices = Math.ceil(CHANGED / REALS_PER_SERVICE);
    const filesTouched = Math.ceil(changedServices / (SERVICES / FILES));
    const edits: Record<string, Record<string, unknown>[]> = {};
    for (let f = 0; f < filesTouched; f++) edits[`big-${f}`] = servicesFile(f, (i, k) => (changed(i, k) ? 2 : 1));
    const since = d.mark();
    const cpuBefore = cpuOf(pid);
    const written0 = Date.now();
    await writeConfigDir(configDir, { services: edits });
    d.reload();
    const probeService = `TCP ${hexEndpoint(vipOf(changedServices - 1), 80)}`;
    const probeReal = hexEndpoint(realOf(changedServices - 1, (CHANGED - 1) % REALS_PER_SERVICE), 80);
    const firstService = `TCP ${hexEndpoint(vipOf(0), 80)}`;
    const firstReal = hexEndpoint(realOf(0, 0), 80);
    const changeApplying = await d.waitForLog(
      (l) => l.msg === 'applying IPVS changes' && ((l['lines'] as unknown[] | undefined)?.length ?? 0) >= CHANGED,
      300_000,
      since,
    );
    await pollProc((t) => t.get(probeService)?.get(probeReal) === 2 && t.get(firstService)?.get(firstReal) === 2, 300_000, 500);
    const seen = Date.now();
    const change = await passEnd(d, d.logs.indexOf(changeApplying), 300_000);
    const cpuAfter = cpuOf(pid);
    const reload = findLog(d, since, (l) => l.msg === 'new configuration in force');
    const changeLines = (changeApplying['lines'] as unknown[] | undefined)?.length ?? 0;
    const changeCpu = cpuDelta(cpuBefore, cpuAfter);
    const weights = [...(await readProc()).values()].flatMap((m) => [...m.values()]).filter((w) => w === 2).length;
    report(
      {
        figure: `apply a change of ${CHANGED} reals (weights; ${filesTouched} of ${FILES} files rewritten + SIGHUP): "applying" logged → seen in the kernel`,
        value: `${r0(seen - logTime(changeApplying))} ms`,
        note:
          `${changeLines} lines (-e), ${weights} weights 2 in the kernel; files written → new config in force ${r0(logTime(reload) - written0)} ms → "applying" ${r0(logTime(changeApplying) - logTime(reload))} ms; ` +
          `verify ${change.failure === null ? `ok, pass ended ${r0(logTime(change.end) - logTime(changeApplying))} ms after "applying"` : `failed (${change.failure}), repaired by the retry`}`,
      },
      'change',
      {
        applyingToKernelMs: seen - logTime(changeApplying),
        writtenToReloadMs: logTime(reload) - written0,
        reloadToApplyingMs: logTime(changeApplying) - logTime(reload),
        applyingToPassEndMs: logTime(change.end) - logTime(changeApplying),
        verifyFailure: change.failure,
        lines: changeLines,
        weights,
      },
    );
    report(
      {
        figure: `CPU of that change (reload: parse and validate ${SERVICES} services; the pass: read, diff, apply, verify)`,
        value: `daemon ${r0(changeCpu.self)} ms, ipvsadm ${r0(changeCpu.children)} ms`,
      },
      'changeCpuMs',
      changeCpu,
    );

    // Clean stop: one -D per service in one ipvsadm -R.
    const stopAt = d.mark();
    const stop0 = performance.now();
    const code = await d.stop(300_000);
    const stopMs = performance.now() - stop0;
    const stopLine = findLog(d, stopAt, (l) => l.msg === 'lvsd stopped');
    report(
      {
        figure: `clean stop (${SERVICES} x -D in one ipvsadm -R)`,
        value: `${r0(stopMs)} ms`,
        note: `SIGTERM → exit ${code}, removed ${(stopLine?.['removed'] as unknown[] | undefined)?.length ?? '?'} services`,
      },
      'cleanStopMs',
      stopMs,
    );
  } finally {
    if (daemon?.running) await daemon.kill();
    // Only the benchmark's own services, never -C.
    const table = await readTable();
    const leftovers = table.services.filter((s) => /^tcp:10\.20\.[1-4]\./.test(s.key));
    if (leftovers.length > 0) await ipvsadmRestore(leftovers.map((s) => `-D ${s.selector.join(' ')}`));
  }
}

/** A fixed CPU-bound JavaScript workload (JSON, sort, regex); run-bench.sh times it on the host too. */
function calibrationMs(): number {
  const t0 = performance.now();
  const rows = Array.from({ length: 20_000 }, (_, i) => ({ key: `tcp:10.20.${i % 250}.${i % 200}:80`, weight: (i * 7919) % 100, reals: [i, i + 1] }));
  for (let r = 0; r < 5; r++) {
    const copy = JSON.parse(JSON.stringify(rows)) as typeof rows;
    copy.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.weight - b.weight));
    copy.filter((x) => /^tcp:10\.20\.1\d\./.test(x.key)).length;
  }
  return performance.now() - t0;
}

function calibration(): void {
  const guest = median(Array.from({ length: 3 }, calibrationMs));
  const host = Number(process.env['LVSD_BENCH_HOST_CALIBRATION_MS'] ?? NaN);
  report(
    {
      figure: 'emulation factor: a fixed JavaScript workload (JSON, sort, regex) in the guest / on the host',
      value: Number.isFinite(host) ? `${(guest / host).toFixed(1)}x` : 'n/a',
      note: `${r0(guest)} ms in the guest${Number.isFinite(host) ? `, ${r0(host)} ms on the host` : ''}; divide the wall and CPU figures below by about this much for hardware`,
    },
    'calibration',
    { guestMs: guest, hostMs: host },
  );
}

/** What one `ipvsadm -Sn` exec from node costs on this machine: the unit of every reconcile pass. */
async function forkCost(): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    await run('ipvsadm', ['-Sn']);
    times.push(performance.now() - t0);
  }
  report(
    { figure: 'one `ipvsadm -Sn` exec from node (small table), median of 7', value: `${r0(median(times))} ms`, note: 'in steady state a change costs one (its ipvsadm -R); reads happen at start, per resync and after apply errors' },
    'ipvsadmExecMs',
    times,
  );
}

async function main(): Promise<void> {
  if (process.argv[2] === '--calibrate') {
    // On the host, before the VM boots (run-bench.sh): the same workload, for the emulation factor.
    process.stdout.write(`${median(Array.from({ length: 3 }, calibrationMs)).toFixed(1)}\n`);
    return;
  }
  if (!inKernelVm) {
    console.error('the kernel benchmark runs only inside the test VM: bash test/kernel/run-bench.sh');
    process.exitCode = 2;
    return;
  }
  const started = new Date();
  const load = loadavg()[0]?.toFixed(2);
  calibration();
  await forkCost();
  await failureToRemoval();
  if (ONLY !== 'failure') await bigTable();
  const kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
  const ipvsadmVersion = execFileSync('ipvsadm', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  const md = [
    '# kernel: lvsd against the real IPVS (QEMU TCG guest)',
    '',
    `Inside the kernel-test VM (kernel ${kernel}, ${ipvsadmVersion}, node ${process.version}, ${cpus().length} vCPUs under TCG emulation,`,
    `guest load average ${load} at the start), ${started.toISOString()}. Emulation makes every exec and every`,
    'syscall several times slower than on hardware: read the figures as upper bounds. Reproduce with',
    '`npm run build && bash test/kernel/run-bench.sh` (see test/kernel/README.md).',
    '',
    `The big table: ${SERVICES} masq services x ${REALS_PER_SERVICE} reals, \`check: {type: none}\`, the same ${REALS_PER_SERVICE} real`,
    'addresses in every service, checked every 60 s (probes are shared: the checks stay out of the figures), 10 conf.d',
    'files; the change rewrites one file and sends SIGHUP. CPU is utime+stime from /proc/PID/stat, the',
    "daemon's own and its reaped children's (ipvsadm).",
    '',
    '| figure | value | target | notes |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.figure} | ${r.value} | ${r.target ?? ''} | ${r.note ?? ''} |`),
    '',
    ...(ONLY === 'failure' ? ['This run measured part 1 only (`LVSD_BENCH_ONLY=failure`): the big-table figures are not in it.', ''] : []),
    'Diff of 10,000 reals outside the VM: see reconcile.md (bench/reconcile-diff.ts).',
    '',
  ].join('\n');
  writeFileSync(join(OUT_DIR, 'kernel.md'), md);
  writeFileSync(join(OUT_DIR, 'kernel.json'), `${JSON.stringify({ at: started.toISOString(), kernel, node: process.version, ...json }, null, 2)}\n`);
  console.log(`\nwritten ${join(OUT_DIR, 'kernel.md')}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
