// Reconcile latency under load (issue 21): the time from a real's failure to the `ipvsadm -R` that
// takes it out, while lvsd runs 10,000 TCP checks a second natively. lvsd runs for real (not
// --dry-run) with `ipvsadm:` pointing at a small bash fake that notes, with $EPOCHREALTIME (no
// fork), when each `-R` started and when it had read all its input (= applied), and the lines.
// The failure moment is seen by the real itself: a sample of reals (their own listener, a TCP
// send/expect check) answer "ok" until the bench fails one; from then on each check of it is
// reset (RST) and the first reset is the failure time. Once lvsd's log says it applied the
// deletion, the real answers again (rise 1) and may fail again after it is back. Each failure is
// matched to the first -R after it that deletes that real. Also given: the same latency from the
// daemon's own health_transition log line (ms resolution), lvsd's CPU and checks/s in the window.
// Figures to bench/results/reconcile-latency[-LABEL].{md,json}; nothing is asserted.
//
// Options (after `node build/bench/run.js reconcile-latency`): --reals 10000  --sample 100
//   --failures-per-s 5  --warmup 15 (s, after the first apply)  --window 60 (s)
//   --lvsd /path/to/other/bin/lvsd.js --label before (another build; results go to reconcile-latency-LABEL.*)

import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { LVSD_NODE_ENV, LVSD_NODE_FLAGS } from '../src/node-flags.js';
import { repoRoot, resultsDir } from './lib/paths.js';
import { freePort, metric, startServers } from './lib/peer-backends.js';
import { percentile, round } from './lib/stats.js';
import { loopbackHost } from './lib/synthetic.js';

interface Options {
  reals: number;
  sample: number;
  failuresPerS: number;
  warmupS: number;
  windowS: number;
  lvsdBin: string;
  label: string;
}

function parseArgs(args: string[]): Options {
  const o: Options = { reals: 10_000, sample: 100, failuresPerS: 5, warmupS: 15, windowS: 60, lvsdBin: join(repoRoot, 'bin', 'lvsd.js'), label: '' };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = (): string => {
      const next = args[++i];
      if (next === undefined) throw new Error(`${a} needs a value`);
      return next;
    };
    if (a === '--reals') o.reals = Number(v());
    else if (a === '--sample') o.sample = Number(v());
    else if (a === '--failures-per-s') o.failuresPerS = Number(v());
    else if (a === '--warmup') o.warmupS = Number(v());
    else if (a === '--window') o.windowS = Number(v());
    else if (a === '--lvsd') o.lvsdBin = v();
    else if (a === '--label') o.label = v();
    else throw new Error(`unknown option ${a}`);
  }
  if (!(o.sample >= 1 && o.sample < o.reals)) throw new Error('--sample must be at least 1 and below --reals');
  return o;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Wall-clock milliseconds with sub-ms resolution (the clock bash's $EPOCHREALTIME reads). */
const nowMs = (): number => performance.timeOrigin + performance.now();
const PER_SERVICE = 100;
const sampleHost = (j: number): string => `127.1.${Math.floor(j / 254)}.${1 + (j % 254)}`;

/** Notes each -R (start, input read, lines) in LOG; listings are empty (resync is set far away). */
function fakeIpvsadm(log: string): string {
  return [
    '#!/bin/bash',
    '# Benchmark fake ipvsadm (bench/reconcile-latency.ts): times each -R with $EPOCHREALTIME.',
    't0=$EPOCHREALTIME',
    'case "$1" in',
    '  --version|-v) echo "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)" ;;',
    `  -R) in=$(cat); t1=$EPOCHREALTIME; printf 'R %s %s\\n%s\\n.\\n' "$t0" "$t1" "$in" >> '${log}' ;;`,
    'esac',
    'exit 0',
    '',
  ].join('\n');
}

interface Real {
  service: string;
  host: string;
  /** What `-r` says in lvsd's ipvsadm lines. */
  endpoint: string;
  state: 'up' | 'failing' | 'returning';
  since: number;
  /** Wall ms of the first reset of the current failure, null before the next check came. */
  failedAt: number | null;
}

interface Failure {
  endpoint: string;
  failedAt: number;
  /** From lvsd's log: when it applied the deletion (bench clock), and its health_transition time. */
  logged: { applyAt: number; transitionAt: number | null } | null;
}

interface ApplyRecord {
  start: number;
  done: number;
  lines: string[];
}

function readApplies(path: string): ApplyRecord[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const out: ApplyRecord[] = [];
  let cur: ApplyRecord | null = null;
  for (const line of text.split('\n')) {
    if (cur === null) {
      const m = /^R (\S+) (\S+)$/.exec(line);
      if (m) cur = { start: Number(m[1]) * 1000, done: Number(m[2]) * 1000, lines: [] };
    } else if (line === '.') {
      out.push(cur);
      cur = null;
    } else cur.lines.push(line);
  }
  return out;
}

function writeConfig(dir: string, o: Options, bulkPort: number, samplePort: number, listenPort: number, fake: string): Real[] {
  mkdirSync(join(dir, 'conf.d'), { recursive: true });
  writeFileSync(join(dir, 'lvsd.yaml'), [
    `listen: 127.0.0.1:${listenPort}`, `state_dir: ${join(dir, 'state')}`, `control_socket: ${join(dir, 'control.sock')}`,
    `ipvsadm: ${fake}`, 'log_level: info',
    // The fake's listings are always empty: a resync would read that and re-add everything.
    'resync_interval: 24h', '',
  ].join('\n'));
  const services = Math.ceil(o.reals / PER_SERVICE);
  const samples: Real[] = [];
  const docs: string[] = [];
  let bulk = 0;
  for (let s = 0; s < services; s++) {
    const name = `lat${s}`;
    const lines = [`name: ${name}`, `address: 192.0.2.${1 + (s % 250)}:${80 + Math.floor(s / 250)}`, 'protocol: tcp', 'forwarding: masq',
      'check: { type: tcp, interval: 1s, timeout: 900ms, rise: 1, fall: 1 }', 'reals:'];
    for (let i = s * PER_SERVICE; i < Math.min(o.reals, (s + 1) * PER_SERVICE); i++) {
      // The sample is spread over the services: real j of the sample is in service j mod services.
      const j = (i - s * PER_SERVICE) * services + s;
      if (j < o.sample) {
        const host = sampleHost(j);
        samples.push({ service: name, host, endpoint: `${host}:${samplePort}`, state: 'up', since: 0, failedAt: null });
        lines.push(`  - { address: "${host}:${samplePort}", check: { send: "ping\\n", expect: "^ok" } }`);
      } else lines.push(`  - address: ${loopbackHost(bulk++)}:${bulkPort}`);
    }
    docs.push(lines.join('\n'));
  }
  writeFileSync(join(dir, 'conf.d', 'latency.yaml'), `${docs.join('\n---\n')}\n`);
  return samples;
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Seconds lvsd's threads together spent runnable but waiting for a CPU (schedstat): how starved it was. */
function waitSeconds(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]) / 1e9;
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return total;
}

function summary(xs: number[]): { n: number; median: number; p90: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, median: round(percentile(s, 50)), p90: round(percentile(s, 90)), max: round(s.at(-1) ?? NaN) };
}

export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const startedAt = new Date().toISOString();
  const load = loadavg().map((x) => x.toFixed(2)).join(' ');
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-latency-'));
  const applyLog = join(dir, 'applies.log');
  const fake = join(dir, 'ipvsadm');
  writeFileSync(fake, fakeIpvsadm(applyLog));
  chmodSync(fake, 0o755);
  const backends = await startServers('haproxy');

  // The sample's listener: "ok" to each check, or a reset while its real is failing.
  const byHost = new Map<string, Real>();
  const sampleServer = createServer((socket: Socket) => {
    socket.on('error', () => undefined);
    socket.once('data', () => {
      const real = byHost.get(socket.localAddress ?? '');
      if (real?.state === 'failing') {
        real.failedAt ??= nowMs();
        socket.resetAndDestroy();
      } else socket.end('ok\n');
    });
  });
  await new Promise<void>((r) => sampleServer.listen({ host: '0.0.0.0', port: 0, backlog: 1024 }, r));
  const samplePort = (sampleServer.address() as AddressInfo).port;
  const listenPort = await freePort();
  const samples = writeConfig(dir, o, backends.tcpPort, samplePort, listenPort, fake);
  for (const r of samples) byHost.set(r.host, r);
  const byEndpoint = new Map(samples.map((r) => [r.endpoint, r]));

  const failures: Failure[] = [];
  const open = new Map<Real, Failure>();
  let firstApply: (() => void) | null = null;
  const firstApplied = new Promise<void>((r) => (firstApply = r));
  let transitions = 0;
  const lvsd = spawn(process.execPath, [...LVSD_NODE_FLAGS, o.lvsdBin, 'run', '-c', dir], { env: { ...process.env, ...LVSD_NODE_ENV }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => lvsd.once('exit', () => r()));
  const lastDown = new Map<string, number>();
  createInterface({ input: lvsd.stdout! }).on('line', (line) => {
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const at = nowMs();
    if (j['event'] === 'health_transition' && j['to'] === 'down' && typeof j['real'] === 'string') {
      transitions++;
      lastDown.set(j['real'], Date.parse(String(j['time'])));
    }
    if (j['msg'] !== 'applying IPVS changes' || !Array.isArray(j['lines'])) return;
    firstApply?.();
    firstApply = null;
    for (const l of j['lines'] as string[]) {
      const m = /^-([ad]) .* -r (\S+)/.exec(l);
      const real = m ? byEndpoint.get(m[2]!) : undefined;
      if (!real) continue;
      if (m![1] === 'd' && real.state === 'failing') {
        const f = open.get(real);
        if (f) f.logged = { applyAt: at, transitionAt: lastDown.get(real.endpoint) ?? null };
        open.delete(real);
        real.state = 'returning';
        real.failedAt = null;
      } else if (m![1] === 'a' && real.state === 'returning') {
        real.state = 'up';
        real.since = at;
      }
    }
  });

  let missed = 0;
  try {
    await Promise.race([firstApplied, exited.then(() => Promise.reject(new Error('lvsd exited before its first apply')))]);
    const t0 = nowMs();
    for (const r of samples) r.since = t0;
    await sleep(o.warmupS * 1000);
    const checks0 = await metric(listenPort, 'lvsd_scheduler_checks_total');
    const c0 = cpuSeconds(lvsd.pid!);
    const wait0 = waitSeconds(lvsd.pid!);
    const w0 = nowMs();
    // Every 100 ms: fail a few reals that have been back for at least 1.5 s (one check at least).
    let credit = 0;
    while (nowMs() - w0 < o.windowS * 1000) {
      credit += o.failuresPerS / 10;
      const now = nowMs();
      const eligible = samples.filter((r) => r.state === 'up' && now - r.since >= 1500);
      while (credit >= 1 && eligible.length > 0) {
        credit -= 1;
        const r = eligible.splice(Math.floor(Math.random() * eligible.length), 1)[0]!;
        r.state = 'failing';
        r.failedAt = null;
        r.since = now;
      }
      credit = Math.min(credit, 1);
      // A failure is recorded at its first reset; one not taken out within 15 s is counted as missed.
      for (const r of samples) {
        if (r.state !== 'failing' || r.failedAt === null) continue;
        if (!open.has(r)) {
          const f: Failure = { endpoint: r.endpoint, failedAt: r.failedAt, logged: null };
          open.set(r, f);
          failures.push(f);
        } else if (now - r.failedAt > 15_000) {
          open.delete(r);
          missed++;
          r.state = 'returning';
        }
      }
      await sleep(100);
    }
    const seconds = (nowMs() - w0) / 1000;
    const cpuPct = ((cpuSeconds(lvsd.pid!) - c0) / seconds) * 100;
    const waitPct = ((waitSeconds(lvsd.pid!) - wait0) / seconds) * 100;
    const checksPerS = ((await metric(listenPort, 'lvsd_scheduler_checks_total')) - checks0) / seconds;
    // Failures still open get up to 15 s to be applied.
    const until = nowMs() + 15_000;
    while (open.size > 0 && nowMs() < until) await sleep(100);
    missed += open.size;

    const applies = readApplies(applyLog);
    const toApplied: number[] = [];
    const toStart: number[] = [];
    const fromTransition: number[] = [];
    const opsPerApply: number[] = [];
    let unmatched = 0;
    for (const f of failures) {
      if (f.logged === null) continue;
      const del = new RegExp(`^-d .* -r ${f.endpoint.replace(/\./g, '\\.')}$`);
      const rec = applies.find((a) => a.done >= f.failedAt && a.lines.some((l) => del.test(l)));
      if (!rec) {
        unmatched++;
        continue;
      }
      toApplied.push(rec.done - f.failedAt);
      toStart.push(rec.start - f.failedAt);
      opsPerApply.push(rec.lines.length);
      if (f.logged.transitionAt !== null) fromTransition.push(rec.done - f.logged.transitionAt);
    }
    const result = {
      startedAt,
      options: o,
      loadAverageAtStart: load,
      loadAverageAtEnd: loadavg().map((x) => x.toFixed(2)).join(' '),
      lvsdCpuPct: round(cpuPct),
      lvsdWaitingForCpuPct: round(waitPct),
      lvsdChecksPerS: Math.round(checksPerS),
      failures: failures.length,
      missed,
      unmatched,
      downTransitionsLogged: transitions,
      failureToApplied: summary(toApplied),
      failureToExec: summary(toStart),
      transitionLogToApplied: summary(fromTransition),
      linesPerApply: summary(opsPerApply),
    };
    const md = [
      '# Reconcile latency under load: a real\'s failure to the `ipvsadm -R` that takes it out',
      '',
      `${o.reals} TCP reals checked every 1 s by \`lvsd run\` (${PER_SERVICE} a service; ipvsadm = a bash fake timing`,
      'each -R with $EPOCHREALTIME). The bulk connect to a second HAProxy on 127.0.x.y; a sample of reals',
      '(own listener, send/expect check, rise 1 fall 1) are failed at random while the rest stay up: the',
      'failure time is the sample listener\'s first reset of the check; "applied" is when the fake had read',
      'the whole -R carrying that real\'s `-d` (a real ipvsadm applies each line as it reads it).',
      '"from the transition log line" starts at lvsd\'s own health_transition time instead (ms resolution).',
      'Goal (issue 21): median < 100 ms. Figures in ms; nothing is asserted.',
      '',
      `- command: \`npm run build && node build/bench/run.js reconcile-latency ${args.join(' ')}\``.replace(/ `$/, '`'),
      `- date: ${startedAt}`,
      `- lvsd: ${o.lvsdBin}${o.label === '' ? '' : ` (${o.label})`}`,
      `- node: ${process.version}; cores: ${cpus().length} (${cpus()[0]?.model.trim() ?? '?'})`,
      `- load average at start / end: ${result.loadAverageAtStart} / ${result.loadAverageAtEnd}`,
      `- window: ${o.windowS} s after ${o.warmupS} s of warm-up; sample ${o.sample} reals, ${o.failuresPerS} failures/s asked`,
      `- lvsd in the window: ${result.lvsdCpuPct} % of a core, ${result.lvsdChecksPerS} checks/s (of ${o.reals} asked); time its threads were runnable but waiting for a CPU, summed over the threads: ${result.lvsdWaitingForCpuPct} % of the window (well above 0: other processes had the cores)`,
      `- failures: ${result.failures} (not taken out within 15 s: ${missed}; no matching -R: ${unmatched})`,
      '',
      '| ms | n | median | p90 | max |',
      '|---|---:|---:|---:|---:|',
      ...([
        ['failure -> -R applied', result.failureToApplied],
        ['failure -> ipvsadm exec\'d', result.failureToExec],
        ['transition log line -> -R applied', result.transitionLogToApplied],
      ] as const).map(([k, s]) => `| ${k} | ${s.n} | ${s.median} | ${s.p90} | ${s.max} |`),
      '',
      `Lines in the -R carrying a failure: median ${result.linesPerApply.median}, max ${result.linesPerApply.max}.`,
      '',
    ].join('\n');
    console.log(md);
    mkdirSync(resultsDir, { recursive: true });
    const name = o.label === '' ? 'reconcile-latency' : `reconcile-latency-${o.label}`;
    writeFileSync(join(resultsDir, `${name}.md`), md);
    writeFileSync(join(resultsDir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    lvsd.kill('SIGTERM');
    await Promise.race([exited, sleep(30_000)]);
    if (lvsd.exitCode === null && lvsd.signalCode === null) lvsd.kill('SIGKILL');
    await new Promise<void>((r) => sampleServer.close(() => r()));
    await backends.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
