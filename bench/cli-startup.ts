// What a short CLI command costs from exec to exit: CPU time (user + system) and max RSS of
// `node -e 0`, `lvsd --version`, `lvsd status` and `lvsd drain`, the last two against a running
// `lvsd run --dry-run` (reals on 127.0.0.1, control socket in a temp dir). Medians over N runs,
// the commands interleaved, each beside bare node in the same run. `--before OTHER/bin/lvsd.js`
// adds the same rows for another build (the old main) against the same daemon.
// Goal (issue 20): --version, status and drain within 2x a bare `node -e 0`. Nothing is asserted.
//
// Usage: node build/bench/run.js cli [--runs 20] [--before /tmp/old/bin/lvsd.js] [--label NAME]

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LVSD_NODE_ENV, LVSD_NODE_FLAGS } from '../src/node-flags.js';
import { freePort } from '../test/helpers/daemon-process.js';
import { repoRoot, resultsDir } from './lib/paths.js';
import { round } from './lib/stats.js';

const TIME = '/usr/bin/time';

interface Options {
  runs: number;
  before: string | null;
  label: string;
}

function parseArgs(args: string[]): Options {
  const o: Options = { runs: 20, before: null, label: '' };
  for (let i = 0; i < args.length; i += 2) {
    const v = args[i + 1] ?? '';
    if (args[i] === '--runs') o.runs = Number(v);
    else if (args[i] === '--before') o.before = v;
    else if (args[i] === '--label') o.label = v;
    else throw new Error(`unknown option ${args[i]}`);
  }
  return o;
}

interface Sample {
  cpuMs: number;
  wallMs: number;
  maxRssMb: number;
}

/** One run under GNU time: its own CPU and peak RSS, the exit status checked. */
function measure(argv: string[]): Sample {
  const r = spawnSync(TIME, ['-f', '@@ %e %U %S %M', ...argv], { encoding: 'utf8' });
  const m = /@@ ([\d.]+) ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(r.stderr);
  if (r.status !== 0 || m === null) throw new Error(`${argv.join(' ')} failed (status ${r.status}): ${r.stderr}${r.stdout}`);
  return { wallMs: Number(m[1]) * 1000, cpuMs: (Number(m[2]) + Number(m[3])) * 1000, maxRssMb: Number(m[4]) / 1024 };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function waitFor(what: string, ok: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  if (!existsSync(TIME)) throw new Error(`${TIME} (GNU time) is needed: apt-get install time`);
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-bench-cli-'));
  const listen = `127.0.0.1:${await freePort()}`;
  const realPort = await freePort();
  mkdirSync(join(dir, 'conf.d'));
  writeFileSync(join(dir, 'lvsd.yaml'), `listen: ${listen}\nstate_dir: ${join(dir, 'state')}\ncontrol_socket: ${join(dir, 'control.sock')}\nlog_level: warn\n`);
  // Reals on loopback ports nothing listens on: checks are refused at once, nothing leaves the host.
  writeFileSync(
    join(dir, 'conf.d', 'web.yaml'),
    `name: web\naddress: 192.0.2.10:80\nforwarding: masq\ncheck: { type: tcp, interval: 5s, timeout: 1s }\nreals:\n  - address: 127.0.0.1:${realPort}\n  - address: 127.0.0.1:${realPort + 1}\n`,
  );
  const lvsdBin = join(repoRoot, 'bin', 'lvsd.js');
  const daemon = spawn(process.execPath, [...LVSD_NODE_FLAGS, lvsdBin, 'run', '--dry-run', '-c', dir], { env: { ...process.env, ...LVSD_NODE_ENV }, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    await waitFor('the daemon\'s /status', async () => {
      try {
        return (await fetch(`http://${listen}/status`)).ok && existsSync(join(dir, 'control.sock'));
      } catch {
        return false;
      }
    });
    const builds: [string, string][] = [['', lvsdBin]];
    if (o.before !== null) builds.push(['before: ', o.before]);
    const commands: [string, string[]][] = [['node -e 0', [process.execPath, '-e', '0']]];
    for (const [prefix, bin] of builds) {
      const lvsd = [process.execPath, ...LVSD_NODE_FLAGS, bin];
      commands.push(
        [`${prefix}lvsd --version`, [...lvsd, '--version']],
        [`${prefix}lvsd status`, [...lvsd, 'status', '-c', dir]],
        [`${prefix}lvsd drain web 127.0.0.1:${realPort}`, [...lvsd, 'drain', '-c', dir, 'web', `127.0.0.1:${realPort}`]],
      );
    }
    const samples = new Map<string, Sample[]>(commands.map(([name]) => [name, []]));
    for (const [, argv] of commands) measure(argv); // warm the page cache
    for (let i = 0; i < o.runs; i++) {
      for (const [name, argv] of commands) samples.get(name)!.push(measure(argv));
    }
    const rows = commands.map(([name]) => {
      const s = samples.get(name)!;
      return { command: name, cpu_ms: round(median(s.map((x) => x.cpuMs))), max_rss_mb: round(median(s.map((x) => x.maxRssMb))), wall_ms: round(median(s.map((x) => x.wallMs))) };
    });
    const bare = rows[0]!;
    const withRatios = rows.map((r) => ({ ...r, cpu_ratio: round(r.cpu_ms / bare.cpu_ms, 2), rss_ratio: round(r.max_rss_mb / bare.max_rss_mb, 2) }));
    const result = {
      at: new Date().toISOString(),
      node: process.version,
      lvsd: lvsdBin,
      before: o.before,
      label: o.label,
      runs: o.runs,
      loadavg: loadavg().map((x) => round(x, 2)),
      cpus: cpus().length,
      rows: withRatios,
      raw: Object.fromEntries([...samples].map(([k, v]) => [k, v.map((x) => ({ cpu_ms: round(x.cpuMs), max_rss_mb: round(x.maxRssMb, 2) }))])),
    };
    const md = `# CLI start-up: CPU and memory of one short command${o.label ? ` (${o.label})` : ''}

Run: \`node build/bench/run.js cli --runs ${o.runs}${o.before ? ` --before ${o.before}` : ''}\` (${result.at}, Node ${result.node}).
Each command under ${TIME}, ${o.runs} runs each, interleaved; medians. lvsd runs as installed
(\`node ${LVSD_NODE_FLAGS.join(' ')} bin/lvsd.js\`); status and drain ask a \`lvsd run --dry-run\`
started by the bench (one service, two reals on 127.0.0.1, control socket in a temp dir).
${o.before ? `Rows marked "before:" are the build at ${o.before}, against the same daemon.\n` : ''}Load average: ${result.loadavg.join(', ')} on ${result.cpus} cores.

| command | CPU (user+sys) | x node -e 0 | max RSS | x node -e 0 | wall |
|---|---:|---:|---:|---:|---:|
${withRatios.map((r) => `| \`${r.command}\` | ${r.cpu_ms} ms | ${r.cpu_ratio} | ${r.max_rss_mb} MiB | ${r.rss_ratio} | ${r.wall_ms} ms |`).join('\n')}

Goal (issue 20): \`lvsd --version\`, \`lvsd status\` and \`lvsd drain\` within 2x a bare \`node -e 0\`.
GNU time reports CPU in 10 ms steps, so single runs of these short commands are coarse; the medians
over ${o.runs} runs are what to compare.
`;
    console.log(md);
    mkdirSync(resultsDir, { recursive: true });
    const name = o.label ? `cli-startup-${o.label}` : 'cli-startup';
    writeFileSync(join(resultsDir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(resultsDir, `${name}.md`), md);
  } finally {
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}
