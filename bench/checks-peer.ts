// Check cost against the peer (issue 13): N loopback backends, HAProxy's own health checks
// (Debian's haproxy: a backend of N servers `check inter 1s`, no traffic) and `lvsd run --dry-run`
// checking the same N backends every second in ONE run; both processes' CPU from /proc over the
// same window, their RSS, and lvsd's own counters (checks done, late starts, lag).
// Figures to bench/results/checks-peer.{md,json}; nothing is asserted.
//
// Options (after `node build/bench/run.js checks-peer`): --reals 1000,5000  --types tcp,http
//   --warmup 10 (s)  --window 20 (s)  --cpu-prof (lvsd writes V8 CPU profiles, one per thread, to bench/results/profiles/lvsd-peer-<type>-<reals>[-label]/)
//   --node-flags "--max-semi-space-size=2" (V8/Node flags for lvsd instead of the shipped LVSD_NODE_FLAGS;
//   "" for Node's defaults)
//   --node-env "MALLOC_ARENA_MAX=1" (environment for lvsd instead of the shipped LVSD_NODE_ENV; "" for none,
//   e.g. for a build from before it had one)
//   --lvsd /path/to/other/bin/lvsd.js --label before (another build; results go to checks-peer-LABEL.*)
//   --backend haproxy|node (what plays the N realservers; see startServers)
//   --max-concurrent N (lvsd's max_concurrent_checks; default: lvsd's own)
//   --no-peer (lvsd alone: the 10,000 checks/s figure without HAProxy's checks competing for the 2 cores)

import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { repoRoot, resultsDir } from './lib/paths.js';
import { family, freePort, metric, startServers } from './lib/peer-backends.js';
import type { Servers } from './lib/peer-backends.js';
import { round } from './lib/stats.js';
import { LVSD_NODE_ENV, LVSD_NODE_FLAGS } from '../src/node-flags.js';
import { loopbackHost } from './lib/synthetic.js';
import type { BenchCheckType } from './lib/synthetic.js';

interface Options {
  reals: number[];
  types: BenchCheckType[];
  warmupS: number;
  windowS: number;
  cpuProf: boolean;
  nodeFlags: string[];
  /** Environment lvsd starts with on top of the bench's (the entries' LVSD_NODE_ENV by default). */
  nodeEnv: Record<string, string>;
  /** bin/lvsd.js of another build (e.g. the commit before a change), for before/after figures. */
  lvsdBin: string;
  label: string;
  backend: 'haproxy' | 'node';
  /** max_concurrent_checks for lvsd; null = lvsd's default. */
  maxConcurrent: number | null;
  /** false (--no-peer): lvsd alone, for the rate figure on a 2-core machine where HAProxy's checks compete for CPU. */
  peer: boolean;
}

function parseArgs(args: string[]): Options {
  const o: Options = { reals: [1000, 5000], types: ['tcp', 'http'], warmupS: 10, windowS: 20, cpuProf: false, nodeFlags: [...LVSD_NODE_FLAGS], nodeEnv: { ...LVSD_NODE_ENV }, lvsdBin: join(repoRoot, 'bin', 'lvsd.js'), label: '', backend: 'haproxy', maxConcurrent: null, peer: true };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = (): string => {
      const next = args[++i];
      if (next === undefined) throw new Error(`${a} needs a value`);
      return next;
    };
    if (a === '--reals') o.reals = v().split(',').map(Number);
    else if (a === '--types') o.types = v().split(',') as BenchCheckType[];
    else if (a === '--warmup') o.warmupS = Number(v());
    else if (a === '--window') o.windowS = Number(v());
    else if (a === '--cpu-prof') o.cpuProf = true;
    else if (a === '--node-flags') o.nodeFlags = v().split(' ').filter(Boolean);
    else if (a === '--node-env') o.nodeEnv = Object.fromEntries(v().split(' ').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    else if (a === '--lvsd') o.lvsdBin = v();
    else if (a === '--label') o.label = v();
    else if (a === '--backend') o.backend = v() as Options['backend'];
    else if (a === '--max-concurrent') o.maxConcurrent = Number(v());
    else if (a === '--no-peer') o.peer = false;
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const CLK_TCK = 100;

/** utime + stime in seconds of a process (all its threads). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** utime + stime in seconds of a process's main thread only (its JavaScript event loop). */
function mainThreadCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** Seconds the main thread spent runnable but waiting for a CPU (schedstat): how starved lvsd was. */
function mainThreadWaitSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(' ');
  return Number(f[1]) / 1e9;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function haproxyConfig(type: BenchCheckType, reals: number, port: number, statsSock: string): string {
  const lines = [
    'global',
    '  maxconn 2000',
    '  nbthread 1',
    `  stats socket ${statsSock} mode 600 level admin`,
    'defaults',
    `  mode ${type === 'http' ? 'http' : 'tcp'}`,
    '  timeout connect 900ms',
    '  timeout check 900ms',
    '  timeout client 5s',
    '  timeout server 5s',
    'backend reals',
  ];
  if (type === 'http') lines.push('  option httpchk GET /health', '  http-check expect status 200');
  for (let i = 0; i < reals; i++) lines.push(`  server r${i} ${loopbackHost(i)}:${port} check inter 1s rise 2 fall 3`);
  return `${lines.join('\n')}\n`;
}

function lvsdConfig(dir: string, type: BenchCheckType, reals: number, port: number, listenPort: number, maxConcurrent: number | null): void {
  mkdirSync(join(dir, 'conf.d'), { recursive: true });
  const cap = maxConcurrent === null ? '' : `max_concurrent_checks: ${maxConcurrent}\n`;
  writeFileSync(join(dir, 'lvsd.yaml'), `listen: 127.0.0.1:${listenPort}\nstate_dir: ${join(dir, 'state')}\nlog_level: warn\ncontrol_socket: ${join(dir, 'control.sock')}\n${cap}`);
  // 100 reals per service, as a director would group them; VIPs from TEST-NET-1 are never probed (dry run).
  const docs: string[] = [];
  for (let s = 0; s * 100 < reals; s++) {
    const lines = [`name: peer${s}`, `address: 192.0.2.${1 + (s % 250)}:${80 + Math.floor(s / 250)}`, 'protocol: tcp', 'forwarding: masq',
      `check: { type: ${type}, ${type === 'http' ? 'path: /health, ' : ''}interval: 1s, timeout: 900ms, rise: 2, fall: 3 }`, 'reals:'];
    for (let i = s * 100; i < Math.min(reals, (s + 1) * 100); i++) lines.push(`  - address: ${loopbackHost(i)}:${port}`);
    docs.push(lines.join('\n'));
  }
  writeFileSync(join(dir, 'conf.d', 'peer.yaml'), `${docs.join('\n---\n')}\n`);
}



/** Cumulative bucket counts of a histogram without labels, by `le`. */
async function histogram(port: number, name: string): Promise<Map<string, number>> {
  const text = await family(port, name);
  const out = new Map<string, number>();
  for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm'))) out.set(m[1]!, Number(m[2]));
  return out;
}

/** The bucket bound (ms) under which fraction `q` of the window's observations fall ("> last" if above every bound). */
function percentileMs(before: Map<string, number>, after: Map<string, number>, q: number): string {
  const les = [...after.keys()];
  const total = (after.get('+Inf') ?? 0) - (before.get('+Inf') ?? 0);
  if (total <= 0) return 'n/a';
  for (const le of les) {
    const n = (after.get(le) ?? 0) - (before.get(le) ?? 0);
    if (n >= q * total) return le === '+Inf' ? `> ${Number(les.at(-2)) * 1000}` : `<= ${round(Number(le) * 1000, 3)}`;
  }
  return 'n/a';
}

async function upCount(port: number): Promise<number> {
  const text = await family(port, 'lvsd_real_up');
  return text.split('\n').filter((l) => l.startsWith('lvsd_real_up{') && l.endsWith(' 1')).length;
}

interface Row {
  type: BenchCheckType;
  reals: number;
  lvsdCpuPct: number;
  haproxyCpuPct: number;
  ratio: number;
  lvsdRssMb: number;
  haproxyRssMb: number;
  lvsdChecksPerS: number;
  /** CPU µs per check: lvsd's over the checks it completed; HAProxy's assuming it ran all N per second. */
  lvsdUsPerCheck: number;
  haproxyUsPerCheck: number;
  lvsdDelayedPerS: number;
  /** CPU % of lvsd's main thread (its event loop) alone: lvsd's checks use this one core. */
  lvsdMainThreadCpuPct: number;
  /** % of the window lvsd's main thread was runnable but waiting for a CPU (other processes had them). */
  lvsdMainThreadWaitPct: number;
  /** Start delay after the due time, from lvsd_check_start_delay_seconds over the window (bucket bounds, ms). */
  lvsdStartDelayP50: string;
  lvsdStartDelayP99: string;
  lvsdStartDelayP999: string;
  lvsdLateTimeouts: number;
  lvsdLagMs: number;
  lvsdUp: number;
  serversCpuPct: number;
}

async function runCase(type: BenchCheckType, reals: number, o: Options, servers: Servers): Promise<Row> {
  const port = type === 'tcp' ? servers.tcpPort : servers.httpPort;
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-peer-'));
  const listenPort = await freePort();
  lvsdConfig(dir, type, reals, port, listenPort, o.maxConcurrent);
  writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(type, reals, port, join(dir, 'haproxy.sock')));
  const haproxy = o.peer ? spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'ignore', 'ignore'] }) : null;
  const peerCpu = (): number => (haproxy === null ? NaN : cpuSeconds(haproxy.pid!));
  // One directory per run and Node's own file names (CPU.<date>.<pid>.<thread id>...): a fixed
  // --cpu-prof-name made the check threads and the main thread write the same file, the main
  // thread's last, so the check threads' profiles were lost.
  const profDir = join(resultsDir, 'profiles', `lvsd-peer-${type}-${reals}${o.label === '' ? '' : `-${o.label}`}`);
  if (o.cpuProf) mkdirSync(profDir, { recursive: true });
  const execArgv = o.nodeFlags.concat(o.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []);
  const lvsd = spawn(process.execPath, [...execArgv, o.lvsdBin, 'run', '--dry-run', '-c', dir], { env: { ...process.env, ...o.nodeEnv }, stdio: ['ignore', 'inherit', 'inherit'] });
  try {
    await sleep(o.warmupS * 1000);
    // Scrapes outside the CPU window: a /metrics of N reals costs lvsd real CPU, and HAProxy is
    // not scraped either.
    const checks0 = await metric(listenPort, 'lvsd_scheduler_checks_total');
    const delayed0 = await metric(listenPort, 'lvsd_checks_delayed_total');
    const startDelay0 = await histogram(listenPort, 'lvsd_check_start_delay_seconds');
    const s0 = { l: cpuSeconds(lvsd.pid!), lm: mainThreadCpuSeconds(lvsd.pid!), lw: mainThreadWaitSeconds(lvsd.pid!), h: peerCpu(), srv: cpuSeconds(servers.child.pid!), t: performance.now() };
    let lRss = 0;
    let hRss = 0;
    const end = performance.now() + o.windowS * 1000;
    while (performance.now() < end) {
      lRss = Math.max(lRss, rssMb(lvsd.pid!));
      if (haproxy !== null) hRss = Math.max(hRss, rssMb(haproxy.pid!));
      await sleep(1000);
    }
    const s1 = { l: cpuSeconds(lvsd.pid!), lm: mainThreadCpuSeconds(lvsd.pid!), lw: mainThreadWaitSeconds(lvsd.pid!), h: peerCpu(), srv: cpuSeconds(servers.child.pid!), t: performance.now() };
    const startDelay1 = await histogram(listenPort, 'lvsd_check_start_delay_seconds');
    const seconds = (s1.t - s0.t) / 1000;
    const checks1 = await metric(listenPort, 'lvsd_scheduler_checks_total');
    const delayed1 = await metric(listenPort, 'lvsd_checks_delayed_total');
    const lvsdCpuPct = ((s1.l - s0.l) / seconds) * 100;
    const haproxyCpuPct = ((s1.h - s0.h) / seconds) * 100;
    return {
      type,
      reals,
      lvsdCpuPct: round(lvsdCpuPct),
      haproxyCpuPct: round(haproxyCpuPct),
      ratio: round(lvsdCpuPct / haproxyCpuPct, 2),
      lvsdRssMb: round(lRss),
      haproxyRssMb: round(hRss),
      lvsdChecksPerS: Math.round((checks1 - checks0) / seconds),
      lvsdUsPerCheck: Math.round(((s1.l - s0.l) * 1e6) / Math.max(1, checks1 - checks0)),
      haproxyUsPerCheck: Math.round(((s1.h - s0.h) * 1e6) / (reals * seconds)),
      lvsdDelayedPerS: round((delayed1 - delayed0) / seconds),
      lvsdMainThreadCpuPct: round(((s1.lm - s0.lm) / seconds) * 100),
      lvsdMainThreadWaitPct: round(((s1.lw - s0.lw) / seconds) * 100),
      lvsdStartDelayP50: percentileMs(startDelay0, startDelay1, 0.5),
      lvsdStartDelayP99: percentileMs(startDelay0, startDelay1, 0.99),
      lvsdStartDelayP999: percentileMs(startDelay0, startDelay1, 0.999),
      lvsdLateTimeouts: await metric(listenPort, 'lvsd_checks_late_timeouts_total'),
      lvsdLagMs: round((await metric(listenPort, 'lvsd_scheduler_lag_seconds')) * 1000),
      lvsdUp: await upCount(listenPort),
      serversCpuPct: round(((s1.srv - s0.srv) / seconds) * 100),
    };
  } finally {
    const gone = (c: ChildProcess): Promise<void> => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));
    lvsd.kill('SIGTERM');
    haproxy?.kill('SIGTERM');
    await Promise.all([gone(lvsd), haproxy === null ? Promise.resolve() : gone(haproxy)]);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const haproxyVersion = execFileSync('haproxy', ['-v']).toString().split('\n')[0]!;
  const servers = await startServers(o.backend);
  const rows: Row[] = [];
  const startedAt = new Date().toISOString();
  const load = loadavg().map((x) => x.toFixed(2)).join(' ');
  try {
    for (const reals of o.reals) {
      for (const type of o.types) {
        const r = await runCase(type, reals, o, servers);
        rows.push(r);
        console.log(
          `${type} ${reals}: lvsd ${r.lvsdCpuPct} % vs HAProxy ${r.haproxyCpuPct} % of a core (ratio ${r.ratio}x), RSS ${r.lvsdRssMb} vs ${r.haproxyRssMb} MB, ` +
            `lvsd ${r.lvsdChecksPerS} checks/s (${r.lvsdUsPerCheck} vs ${r.haproxyUsPerCheck} µs CPU per check), ${r.lvsdDelayedPerS} late starts/s, ` +
            `start delay p50 ${r.lvsdStartDelayP50} p99 ${r.lvsdStartDelayP99} p99.9 ${r.lvsdStartDelayP999} ms, lag ${r.lvsdLagMs} ms, main thread ${r.lvsdMainThreadCpuPct} % (waiting for a CPU ${r.lvsdMainThreadWaitPct} %), ${r.lvsdUp}/${reals} up`,
        );
      }
    }
  } finally {
    await servers.stop();
  }
  const goal = (r: Row): string => {
    const miss: string[] = [];
    if (r.ratio > 1.5) miss.push(`CPU ${r.ratio}x > 1.5x`);
    if (r.reals <= 1000 && r.lvsdRssMb > 80) miss.push(`RSS ${r.lvsdRssMb} > 80 MB`);
    if (r.reals >= 10_000 && r.lvsdRssMb > 200) miss.push(`RSS ${r.lvsdRssMb} > 200 MB`);
    if (r.lvsdChecksPerS < r.reals * 0.98) miss.push(`rate ${r.lvsdChecksPerS}/s < ${r.reals}/s`);
    return miss.length === 0 ? 'met' : `missed: ${miss.join(', ')}`;
  };
  const md = [
    '# Check cost against HAProxy (same backends, same run)',
    '',
    'N loopback backends (one listener per check type on 0.0.0.0 answering every 127.0.x.y: a second',
    'HAProxy that accepts and holds / answers 200, or with --backend node a Node process; its CPU is',
    'the "backends" column, counted in neither figure), checked every 1 s by HAProxy\'s own health checks (one backend, N servers',
    '`check inter 1s`, nbthread 1, no traffic) and by `lvsd run --dry-run` (N reals in services of',
    '100) at the same time. CPU = utime+stime from /proc over the window, % of one core; RSS = the',
    'largest VmRSS sampled each second in the window. Goals (issue 13): lvsd <= 1.5x HAProxy\'s CPU,',
    'RSS <= 80 MB at 1,000 reals, <= 200 MB at 10,000, every check on time. On a loaded machine a',
    'starved lvsd completes fewer checks (and so spends less CPU): the per-check CPU is the fairer',
    'comparison (HAProxy\'s assumes it ran all N checks a second). "main thread" is lvsd\'s first thread',
    'alone: before issue 21 every check ran on it; since then the checks run on check threads (check_threads)',
    'and the main thread is the control plane (config, reconcile, status, metrics), the rest of lvsd\'s CPU the check threads and GC;',
    '"waiting for a CPU" is the share of the window it was runnable but other processes had both cores',
    '(/proc schedstat): well above 0, lvsd was starved and its rate and start delays say so.',
    'Start delay = how long after its due time each check started (lvsd_check_start_delay_seconds over',
    'the window, as histogram bucket bounds; checks due in one 10 ms slot start at its end, so <= 10 is on time).',
    '',
    `- command: \`npm run build && node build/bench/run.js checks-peer ${args.join(' ')}\``.replace(/ `$/, '`'),
    `- date: ${startedAt}`,
    `- lvsd: ${o.lvsdBin}${o.label === '' ? '' : ` (${o.label})`}`,
    `- node flags for lvsd: ${o.nodeFlags.length ? o.nodeFlags.join(' ') : '(Node defaults)'}; environment: ${Object.keys(o.nodeEnv).length ? Object.entries(o.nodeEnv).map(([k, v]) => `${k}=${v}`).join(' ') : '(none added)'}`,
    `- node: ${process.version}; ${haproxyVersion}`,
    `- cores: ${cpus().length} (${cpus()[0]?.model.trim() ?? '?'})`,
    `- warm-up / window: ${o.warmupS} s / ${o.windowS} s; load average at start: ${load}; backends: ${o.backend}; peer: ${o.peer ? 'HAProxy' : 'none (--no-peer)'}; lvsd max_concurrent_checks: ${o.maxConcurrent ?? 'default'}`,
    '',
    '| check | reals | lvsd CPU % | HAProxy CPU % | ratio | lvsd µs/check | HAProxy µs/check | per-check ratio | lvsd RSS MB | HAProxy RSS MB | lvsd checks/s | lvsd main thread CPU % | main thread waiting for a CPU % | start delay p50 / p99 / p99.9 ms | late starts/s | late timeouts | lag ms | up | backends CPU % | goal |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|',
    ...rows.map((r) => `| ${r.type} | ${r.reals} | ${r.lvsdCpuPct} | ${r.haproxyCpuPct} | ${r.ratio}x | ${r.lvsdUsPerCheck} | ${r.haproxyUsPerCheck} | ${round(r.lvsdUsPerCheck / r.haproxyUsPerCheck, 2)}x | ${r.lvsdRssMb} | ${r.haproxyRssMb} | ${r.lvsdChecksPerS} | ${r.lvsdMainThreadCpuPct} | ${r.lvsdMainThreadWaitPct} | ${r.lvsdStartDelayP50} / ${r.lvsdStartDelayP99} / ${r.lvsdStartDelayP999} | ${r.lvsdDelayedPerS} | ${r.lvsdLateTimeouts} | ${r.lvsdLagMs} | ${r.lvsdUp} | ${r.serversCpuPct} | ${goal(r)} |`),
    '',
  ].join('\n');
  console.log(md);
  mkdirSync(resultsDir, { recursive: true });
  const name = o.label === '' ? 'checks-peer' : `checks-peer-${o.label}`;
  writeFileSync(join(resultsDir, `${name}.md`), md);
  writeFileSync(join(resultsDir, `${name}.json`), `${JSON.stringify({ startedAt, options: o, haproxyVersion, rows }, null, 2)}\n`);
}
