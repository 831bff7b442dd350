// Admin commands at scale (issue 18): a `run --dry-run` daemon with 2,000 reals and 10,000 files
// in its maintenance directory; `lvsd drain web`, `lvsd enable web` (2,000 reals each) and
// `lvsd admin --json` (every page of 10,001 entries) through the real CLI and control socket.
// Per command: its exit status, its wall time, and the longest event-loop stretch of the daemon
// while it runs, seen as the slowest /healthz round trip (polled back to back, so a client waits
// exactly as long as the loop is stuck). Goal: no stretch over 50 ms. The figures are printed
// and saved to bench/results/admin-scale.{json,md}; tests never assert them.
//
// Usage: node build/bench/run.js admin [--runs N] [--reals N] [--files N]

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, runLvsd, startDaemon } from '../test/helpers/daemon-process.js';
import { resultsDir } from './lib/paths.js';
import { round } from './lib/stats.js';

interface Options {
  runs: number;
  reals: number;
  files: number;
}

function parseArgs(args: string[]): Options {
  const o: Options = { runs: 5, reals: 2000, files: 10_000 };
  for (let i = 0; i < args.length; i += 2) {
    const v = Number(args[i + 1]);
    if (args[i] === '--runs') o.runs = v;
    else if (args[i] === '--reals') o.reals = v;
    else if (args[i] === '--files') o.files = v;
    else throw new Error(`unknown option ${args[i]}`);
  }
  return o;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Back-to-back /healthz round trips until stopped; the slowest one is the longest stall seen. */
function pollHealthz(listen: string): { stop(): Promise<number> } {
  let running = true;
  let maxMs = 0;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      try {
        await (await fetch(`http://${listen}/healthz`)).arrayBuffer();
      } catch {
        // a refused round trip still measured the wait
      }
      maxMs = Math.max(maxMs, performance.now() - t);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return maxMs;
    },
  };
}

interface Sample {
  status: number | null;
  wallMs: number;
  stretchMs: number;
}

export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const dir = await mkdtemp(join(tmpdir(), 'lvsd-bench-admin-'));
  const listen = `127.0.0.1:${await freePort()}`;
  try {
    await mkdir(join(dir, 'conf.d'));
    await mkdir(join(dir, 'maint'));
    await writeFile(join(dir, 'lvsd.yaml'), `listen: ${listen}\nstate_dir: ${join(dir, 'state')}\ncontrol_socket: ${join(dir, 'control.sock')}\nmaintenance_dir: maint\nlog_level: info\n`);
    let svc = 'name: web\naddress: 192.0.2.10:80\nforwarding: gate\ncheck: { type: none }\nreals:\n';
    for (let i = 0; i < o.reals; i++) svc += `  - { address: 10.0.${Math.floor(i / 250)}.${(i % 250) + 1}:80 }\n`;
    await writeFile(join(dir, 'conf.d', 'web.yaml'), svc);
    for (let i = 0; i < o.files; i++) await writeFile(join(dir, 'maint', `10.9.${Math.floor(i / 250)}.${(i % 250) + 1}`), '');
    const daemon = startDaemon(dir, ['--dry-run']);
    const commands: Record<string, string[]> = { 'lvsd drain web': ['drain', 'web'], 'lvsd enable web': ['enable', 'web'], 'lvsd admin --json': ['admin', '--json'] };
    const samples: Record<string, Sample[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
    const baseline: number[] = [];
    try {
      await daemon.waitForLog((l) => l.event === 'first_round', 'first round');
      await daemon.waitForLog((l) => l.msg === 'control socket ready', 'control socket');
      for (let run = 0; run <= o.runs; run++) {
        const quiet = pollHealthz(listen);
        await new Promise((r) => setTimeout(r, 1000));
        if (run > 0) baseline.push(await quiet.stop());
        else await quiet.stop();
        for (const [name, argv] of Object.entries(commands)) {
          const poll = pollHealthz(listen);
          const t = performance.now();
          const r = await runLvsd([argv[0]!, '-c', dir, ...argv.slice(1)]);
          const wallMs = performance.now() - t;
          // The daemon logs and applies after replying: keep polling a little past the reply.
          await new Promise((res) => setTimeout(res, 300));
          const stretchMs = await poll.stop();
          // The first run warms up (JIT) and is left out of the medians.
          if (run > 0) samples[name]!.push({ status: r.status, wallMs, stretchMs });
          else console.log(`  warm-up ${name}: exit ${r.status}, ${round(wallMs)} ms, max /healthz wait ${round(stretchMs)} ms`);
        }
      }
    } finally {
      await daemon.stop();
    }
    const summary = Object.fromEntries(
      Object.entries(samples).map(([k, v]) => [
        k,
        {
          exit_codes: [...new Set(v.map((s) => s.status))],
          command_ms: round(median(v.map((s) => s.wallMs))),
          max_stretch_ms: round(median(v.map((s) => s.stretchMs))),
          max_stretch_worst_ms: round(Math.max(...v.map((s) => s.stretchMs))),
        },
      ]),
    );
    const result = { at: new Date().toISOString(), node: process.version, reals: o.reals, files: o.files, runs: o.runs, loadavg: loadavg().map((x) => round(x, 2)), cpus: cpus().length, baseline_stretch_ms: round(median(baseline)), commands: summary, raw: { samples, baseline } };
    const rows = Object.entries(summary).map(([k, s]) => `| \`${k}\` | ${s.exit_codes.join(', ')} | ${s.command_ms} ms | ${s.max_stretch_ms} ms | ${s.max_stretch_worst_ms} ms |`);
    const md = `# Admin commands at ${o.files.toLocaleString('en')} maintenance files x ${o.reals.toLocaleString('en')} reals

Run: \`node build/bench/run.js admin\` (${result.at}, Node ${result.node}, medians of ${o.runs} runs after one warm-up).
A \`run --dry-run\` daemon, one service of ${o.reals.toLocaleString('en')} reals (check \`none\`), ${o.files.toLocaleString('en')} files in
maintenance_dir naming hosts no service has. Max stretch: the slowest /healthz round trip, polled back to back from
the command's start to 0.3 s after it exited (baseline: the same over 1 s without a command).

| command | exit | whole CLI process | longest stretch (median) | longest stretch (worst run) |
|---|---|---|---|---|
${rows.join('\n')}

Baseline stretch without a command: ${result.baseline_stretch_ms} ms. Goal (issue 18): exit 0, no stretch > 50 ms
(before: every command stalled the loop 4-7 s, and drain/enable/admin exited 1 "reply too long").
Load average during the run: ${result.loadavg.join(', ')} on ${result.cpus} cores.
`;
    console.log(md);
    await mkdir(resultsDir, { recursive: true });
    await writeFile(join(resultsDir, 'admin-scale.json'), `${JSON.stringify(result, null, 2)}\n`);
    await writeFile(join(resultsDir, 'admin-scale.md'), md);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
