// /metrics and /status of a daemon with N reals (default 10,000: 100 services x 100): the time of a
// scrape as a client sees it (median, p95 of back-to-back GETs), the size of the answer, and lvsd's
// RSS before and after the scrapes. `run --dry-run` with its in-memory table (counters and stats
// without ipvsadm: lvsd's own cost), TCP checks every 10 s against closed loopback ports.
// Goal (issue 13): a scrape of 10,000 reals under 100 ms natively. Nothing is asserted.
//
// Usage: node build/bench/run.js metrics [--reals 10000] [--scrapes 20]
//        [--lvsd /path/to/other/bin/lvsd.js --label before] [--node-flags "..." ("" = Node's defaults)]

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LVSD_NODE_ENV, LVSD_NODE_FLAGS } from '../src/node-flags.js';
import { freePort } from '../test/helpers/daemon-process.js';
import { repoRoot, resultsDir } from './lib/paths.js';
import { round } from './lib/stats.js';

interface Options {
  reals: number;
  scrapes: number;
  lvsdBin: string;
  label: string;
  nodeFlags: string[];
}

function parseArgs(args: string[]): Options {
  const o: Options = { reals: 10_000, scrapes: 20, lvsdBin: join(repoRoot, 'bin', 'lvsd.js'), label: '', nodeFlags: [...LVSD_NODE_FLAGS] };
  for (let i = 0; i < args.length; i += 2) {
    const v = args[i + 1] ?? '';
    if (args[i] === '--reals') o.reals = Number(v);
    else if (args[i] === '--scrapes') o.scrapes = Number(v);
    else if (args[i] === '--lvsd') o.lvsdBin = v;
    else if (args[i] === '--label') o.label = v;
    else if (args[i] === '--node-flags') o.nodeFlags = v.split(' ').filter(Boolean);
    else throw new Error(`unknown option ${args[i]}`);
  }
  return o;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

function writeConfig(dir: string, reals: number, listen: string): void {
  mkdirSync(join(dir, 'conf.d'));
  writeFileSync(join(dir, 'lvsd.yaml'), `listen: ${listen}\nstate_dir: ${join(dir, 'state')}\nlog_level: warn\nmax_concurrent_checks: 1000\n`);
  const perService = 100;
  for (let i = 0; i * perService < reals; i++) {
    // Reals on loopback addresses nothing listens on: checks are refused at once, nothing leaves the host.
    let t = `name: svc-${i}\naddress: 192.0.${10 + (i >> 8)}.${i & 255}:80\nforwarding: masq\ncheck:\n  type: tcp\n  interval: 10s\n  timeout: 2s\nreals:\n`;
    for (let r = 0; r < Math.min(perService, reals - i * perService); r++) t += `  - address: 127.${1 + (i >> 8)}.${i & 255}.${r + 1}:${20000 + r}\n`;
    writeFileSync(join(dir, 'conf.d', `svc-${i}.yaml`), t);
  }
}

async function timeGets(url: string, n: number): Promise<{ ms: number[]; bytes: number }> {
  const ms: number[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const res = await fetch(url);
    const body = await res.arrayBuffer();
    ms.push(performance.now() - t);
    bytes = body.byteLength;
  }
  return { ms, bytes };
}

export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-bench-metrics-'));
  const listen = `127.0.0.1:${await freePort()}`;
  writeConfig(dir, o.reals, listen);
  const lvsd = spawn(process.execPath, [...o.nodeFlags, o.lvsdBin, 'run', '--dry-run', '-c', dir], { env: { ...process.env, ...LVSD_NODE_ENV }, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    // Every real has had its first check (a 10 s interval spreads them over 10 s) and the table is
    // built; polling /metrics meanwhile would grow the heap before the figure 'before the scrapes'.
    await sleep(15_000);
    const rssBefore = rssMb(lvsd.pid!);
    const metrics = await timeGets(`http://${listen}/metrics`, o.scrapes);
    const status = await timeGets(`http://${listen}/status`, Math.max(3, Math.round(o.scrapes / 4)));
    const rssAfter = rssMb(lvsd.pid!);
    const result = {
      at: new Date().toISOString(),
      node: process.version,
      lvsd: o.lvsdBin,
      label: o.label,
      node_flags: o.nodeFlags,
      reals: o.reals,
      scrapes: o.scrapes,
      loadavg: loadavg().map((x) => round(x, 2)),
      cpus: cpus().length,
      metrics: { median_ms: round(pct(metrics.ms, 50)), p95_ms: round(pct(metrics.ms, 95)), bytes: metrics.bytes },
      status: { median_ms: round(pct(status.ms, 50)), p95_ms: round(pct(status.ms, 95)), bytes: status.bytes },
      rss_mb: { before_scrapes: round(rssBefore), after_scrapes: round(rssAfter) },
      raw: { metrics_ms: metrics.ms.map((x) => round(x)), status_ms: status.ms.map((x) => round(x)) },
    };
    const md = `# /metrics and /status at ${o.reals.toLocaleString('en')} reals${o.label ? ` (${o.label})` : ''}

Run: \`node build/bench/run.js metrics --reals ${o.reals}\` (${result.at}, Node ${result.node}, lvsd ${o.lvsdBin},
node flags ${o.nodeFlags.join(' ') || '(Node defaults)'}); \`run --dry-run\` (in-memory table: no ipvsadm), ${o.reals / 100} services of
100 reals, TCP checks every 10 s to closed loopback ports; ${o.scrapes} back-to-back GETs.
Load average: ${result.loadavg.join(', ')} on ${result.cpus} cores.

| figure | median | p95 | size |
|---|---:|---:|---:|
| GET /metrics | ${result.metrics.median_ms} ms | ${result.metrics.p95_ms} ms | ${(metrics.bytes / 1048576).toFixed(1)} MiB |
| GET /status | ${result.status.median_ms} ms | ${result.status.p95_ms} ms | ${(status.bytes / 1048576).toFixed(1)} MiB |

lvsd RSS: ${result.rss_mb.before_scrapes} MB before the scrapes, ${result.rss_mb.after_scrapes} MB after.
Goal (issue 13): a scrape of 10,000 reals under 100 ms natively.
`;
    console.log(md);
    mkdirSync(resultsDir, { recursive: true });
    const name = o.label ? `metrics-${o.label}` : 'metrics';
    writeFileSync(join(resultsDir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(resultsDir, `${name}.md`), md);
  } finally {
    lvsd.kill('SIGTERM');
    await new Promise((r) => lvsd.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}
