// Config load and reload at 1,000 services x 10 reals (one file per service): check-config (whole
// process, and loadConfig alone after start-up), and a reload of a running daemon (`run --dry-run`,
// checks running against closed loopback ports): SIGHUP to "new configuration in force", and the
// longest event-loop stretch while it happens, seen as the slowest /healthz round trip (polled back
// to back, so a client waits exactly as long as the loop is stuck). Both loader modes run in the
// same bench: an edit of one service file with the default loader (only that file is parsed, on the
// event loop in slices), the same edit with LVSD_CONFIG_LOADER=thread (every reload whole in a loader
// thread), and an edit of lvsd.yaml (every service parsed again: the default sends it to a thread).
//
// Usage: node build/bench/run.js config [--runs N] [--services N] [--reals N]

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { freePort, runLvsd, startDaemon } from '../test/helpers/daemon-process.js';
import type { DaemonProcess } from '../test/helpers/daemon-process.js';
import { resultsDir } from './lib/paths.js';
import { round } from './lib/stats.js';

interface Options {
  runs: number;
  services: number;
  reals: number;
}

function parseArgs(args: string[]): Options {
  const o: Options = { runs: 5, services: 1000, reals: 10 };
  for (let i = 0; i < args.length; i += 2) {
    const v = Number(args[i + 1]);
    if (args[i] === '--runs') o.runs = v;
    else if (args[i] === '--services') o.services = v;
    else if (args[i] === '--reals') o.reals = v;
    else throw new Error(`unknown option ${args[i]}`);
  }
  return o;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function serviceText(i: number, reals: number, weight: number): string {
  // Reals on loopback addresses nothing listens on: the checks run (refused at once), nothing leaves the host.
  let t = `# service ${i}\nname: svc-${i}\naddress: 192.0.${10 + (i >> 8)}.${i & 255}:80\nforwarding: masq\n`;
  t += 'check:\n  type: tcp\n  interval: 10s\n  timeout: 2s\nreals:\n';
  for (let r = 0; r < reals; r++) t += `  - address: 127.${1 + (i >> 8)}.${i & 255}.${r + 1}:${20000 + r}\n    weight: ${weight}\n`;
  return t;
}

async function makeConfig(o: Options): Promise<{ dir: string; listen: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'lvsd-bench-config-'));
  const listen = `127.0.0.1:${await freePort()}`;
  await mkdir(join(dir, 'conf.d'));
  await writeFile(join(dir, 'lvsd.yaml'), globalText(listen, dir));
  for (let i = 0; i < o.services; i++) await writeFile(join(dir, 'conf.d', `svc-${String(i).padStart(5, '0')}.yaml`), serviceText(i, o.reals, 1));
  return { dir, listen };
}

/** Back-to-back /healthz round trips until stopped; the slowest one is the longest stall seen. */
function pollHealthz(listen: string): { stop(): Promise<{ maxMs: number; count: number }> } {
  let running = true;
  let maxMs = 0;
  let count = 0;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      try {
        const res = await fetch(`http://${listen}/healthz`);
        await res.arrayBuffer();
      } catch {
        // a refused round trip still measured the wait
      }
      maxMs = Math.max(maxMs, performance.now() - t);
      count++;
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { maxMs, count };
    },
  };
}

interface ReloadRun {
  reloadMs: number;
  loadMs: number;
  /** Main thread: deserialise and freeze the snapshot from the loader thread. */
  handoverMs: number;
  /** Main thread: the daemon takes the snapshot into use (health, probes, reconciler, metrics). */
  applyMs: number;
  maxStretchMs: number;
  baselineStretchMs: number;
  /** Where the reload parsed: 'event loop' or 'thread'. */
  parsedIn: string;
}

interface Scenario {
  readonly name: string;
  readonly env: Record<string, string>;
  /** Makes run `run`'s edit in `dir`. */
  readonly edit: (dir: string, run: number) => Promise<void>;
}

const scenarios = (o: Options, listen: string, dir: string): Scenario[] => [
  // One service file changes (a weight), as an edit would; SIGHUP reloads at once.
  { name: 'one file (default loader)', env: {}, edit: (d, run) => writeFile(join(d, 'conf.d', 'svc-00000.yaml'), serviceText(0, o.reals, run + 2)) },
  { name: 'one file (LVSD_CONFIG_LOADER=thread)', env: { LVSD_CONFIG_LOADER: 'thread' }, edit: (d, run) => writeFile(join(d, 'conf.d', 'svc-00000.yaml'), serviceText(0, o.reals, run + 20)) },
  // lvsd.yaml shapes every service (defaults): all 1,000 files are parsed again.
  { name: 'lvsd.yaml (every file re-parsed, default loader)', env: {}, edit: (d, run) => writeFile(join(d, 'lvsd.yaml'), `${globalText(listen, dir)}# edit ${run}\n`) },
];

function globalText(listen: string, dir: string): string {
  return `listen: ${listen}\nstate_dir: ${join(dir, 'state')}\nlog_level: debug\nmax_concurrent_checks: 1000\n`;
}

async function reloadRuns(dir: string, listen: string, o: Options, scenario: Scenario): Promise<ReloadRun[]> {
  const daemon: DaemonProcess = startDaemon(dir, ['--dry-run'], scenario.env);
  const runs: ReloadRun[] = [];
  try {
    await daemon.waitForLog((l) => l.msg === 'watching the configuration for changes', 'the watcher');
    await daemon.waitForLog((l) => String(l.msg).startsWith('first check round in'), 'the first check round');
    for (let run = 0; run <= o.runs; run++) {
      // Quiet period first: the longest stretch of the running daemon without any reload.
      const quiet = pollHealthz(listen);
      await new Promise((r) => setTimeout(r, 1500));
      const baseline = await quiet.stop();
      await scenario.edit(dir, run);
      const seen = daemon.logs.length;
      const poll = pollHealthz(listen);
      const t0 = performance.now();
      daemon.child.kill('SIGHUP');
      const reloaded = await daemon.waitForLog((l) => daemon.logs.indexOf(l) >= seen && l.msg === 'configuration reloaded', 'the reload');
      const inForce = await daemon.waitForLog((l) => daemon.logs.indexOf(l) >= seen && l.msg === 'new configuration in force', 'the new config in force');
      const applyMs = Date.parse(String(inForce.time)) - Date.parse(String(reloaded.time));
      const reloadMs = performance.now() - t0;
      await new Promise((r) => setTimeout(r, 500));
      const during = await poll.stop();
      // The first reload warms up (JIT); it is reported apart from the median.
      if (run > 0) runs.push({ reloadMs, loadMs: Number(reloaded.load_ms), handoverMs: Number(reloaded.handover_ms ?? 0), applyMs, maxStretchMs: during.maxMs, baselineStretchMs: baseline.maxMs, parsedIn: String(reloaded.parsed_in) });
      else console.log(`  ${scenario.name}: first reload ${round(reloadMs)} ms, max /healthz wait ${round(during.maxMs)} ms`);
    }
  } finally {
    await daemon.stop();
  }
  return runs;
}

async function timeCheckConfig(dir: string): Promise<number> {
  const t = performance.now();
  const r = await runLvsd(['check-config', '-c', dir]);
  if (r.status !== 0) throw new Error(`check-config failed: ${r.stderr}`);
  return performance.now() - t;
}

export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const { dir, listen } = await makeConfig(o);
  try {
    const checkConfigMs: number[] = [];
    for (let i = 0; i < o.runs; i++) checkConfigMs.push(await timeCheckConfig(dir));
    const loadMs: number[] = [];
    for (let i = 0; i <= o.runs; i++) {
      const t = performance.now();
      const r = await loadConfig(dir);
      if (!r.ok) throw new Error('config invalid');
      if (i > 0) loadMs.push(performance.now() - t);
    }
    const modes: Record<string, ReloadRun[]> = {};
    for (const scenario of scenarios(o, listen, dir)) modes[scenario.name] = await reloadRuns(dir, listen, o, scenario);

    const summary = (rs: ReloadRun[]) => ({
      parsed_in: [...new Set(rs.map((r) => r.parsedIn))].join(', '),
      reload_ms: round(median(rs.map((r) => r.reloadMs))),
      load_ms: round(median(rs.map((r) => r.loadMs))),
      handover_ms: round(median(rs.map((r) => r.handoverMs))),
      apply_ms: round(median(rs.map((r) => r.applyMs))),
      max_stretch_ms: round(median(rs.map((r) => r.maxStretchMs))),
      max_stretch_worst_ms: round(Math.max(...rs.map((r) => r.maxStretchMs))),
      baseline_stretch_ms: round(median(rs.map((r) => r.baselineStretchMs))),
    });
    const reload = Object.fromEntries(Object.entries(modes).map(([k, v]) => [k, summary(v)]));
    const result = {
      at: new Date().toISOString(),
      node: process.version,
      services: o.services,
      reals: o.services * o.reals,
      files: o.services,
      runs: o.runs,
      loadavg: loadavg().map((x) => round(x, 2)),
      cpus: cpus().length,
      check_config_process_ms: round(median(checkConfigMs)),
      load_config_in_process_ms: round(median(loadMs)),
      reload,
      raw: { checkConfigMs, loadMs, modes },
    };
    const cols = Object.keys(reload);
    const row = (label: string, pick: (x: ReturnType<typeof summary>) => string | number, unit = ' ms'): string =>
      `| ${label} | ${cols.map((c) => `${pick(reload[c]!)}${unit}`).join(' | ')} |`;
    const md = `# Config load and reload (${o.services.toLocaleString('en')} services x ${o.reals} reals, ${o.services} files)

Run: \`node build/bench/run.js config\` (${result.at}, Node ${result.node}, medians of ${o.runs} runs after one warm-up).
Reload: SIGHUP to "new configuration in force" of a \`run --dry-run\` daemon whose ${result.reals.toLocaleString('en')} TCP checks
run every 10 s against closed loopback ports. Max stretch: the slowest /healthz round trip, polled back to back, from the
SIGHUP to 0.5 s after the reload (baseline: the same over 1.5 s without a reload).

| figure | value |
|---|---|
| \`lvsd check-config\`, whole process | ${result.check_config_process_ms} ms |
| loadConfig after start-up (in process) | ${result.load_config_in_process_ms} ms |

| reload (what was edited, loader) | ${cols.join(' | ')} |
|---|${cols.map(() => '---').join('|')}|
${row('parsed in', (x) => x.parsed_in, '')}
${row('SIGHUP to new config in force', (x) => x.reload_ms)}
${row('load (read, parse, validate, hand over)', (x) => x.load_ms)}
${row('of which on the main loop: deserialise + freeze a snapshot from a thread', (x) => x.handover_ms)}
${row('daemon applies the snapshot (health, probe plan, reconciler, metrics; main loop)', (x) => x.apply_ms)}
${row('longest event-loop stretch during the reload (median of runs)', (x) => x.max_stretch_ms)}
${row('longest stretch, worst run', (x) => x.max_stretch_worst_ms)}
${row('longest stretch without a reload (baseline)', (x) => x.baseline_stretch_ms)}

Goals (issue 13): reload <= 500 ms, no stretch > 50 ms. Load average during the run: ${result.loadavg.join(', ')} on ${result.cpus} cores
(other work on the machine inflates every figure; compare the columns, measured in the same run).
`;
    console.log(md);
    await mkdir(resultsDir, { recursive: true });
    await writeFile(join(resultsDir, 'config.json'), `${JSON.stringify(result, null, 2)}\n`);
    await writeFile(join(resultsDir, 'config.md'), md);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
