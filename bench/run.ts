// Runs the benchmarks: `node build/bench/run.js` runs all, `node build/bench/run.js NAME [options]` one.
// To add a benchmark, add one line to `benches`: its module exports `run(args: string[]): Promise<void>`.

interface Bench {
  readonly name: string;
  readonly about: string;
  readonly load: () => Promise<{ run(args: string[]): Promise<void> }>;
}

const benches: readonly Bench[] = [
  { name: 'admin', about: 'lvsd drain/enable/admin at 10,000 maintenance files x 2,000 reals: exit status, event-loop stretch', load: () => import('./admin-scale.js') },
  { name: 'checks', about: 'N reals on loopback checked every second (TCP, HTTP; 1,000 and 10,000)', load: () => import('./checks.js') },
  { name: 'checks-peer', about: 'lvsd --dry-run vs HAProxy health checks on the same N loopback backends, one run (CPU ratio, RSS)', load: () => import('./checks-peer.js') },
  { name: 'cli', about: 'CPU and max RSS of lvsd --version, status and drain beside a bare node -e 0 (medians, ratios)', load: () => import('./cli-startup.js') },
  { name: 'config', about: 'check-config and reload of 1,000 services x 10 reals; event-loop stretch during a reload', load: () => import('./config-reload.js') },
  { name: 'metrics', about: 'GET /metrics and /status at 10,000 reals (dry run): median/p95 time, size, RSS', load: () => import('./metrics-scrape.js') },
  { name: 'reconcile-latency', about: 'a real\'s failure to the ipvsadm -R that takes it out, at 10,000 TCP checks/s (median/p90/max ms)', load: () => import('./reconcile-latency.js') },
  { name: 'reconcile', about: 'desiredTable + diffTables, 1,000 services x 10 reals', load: () => import('./reconcile-diff.js') },
  { name: 'soak', about: '500 reals at 1 s, SIGHUP every 10 s for 10 min: RSS, fds and children sampled every 30 s', load: () => import('./soak.js') },
  { name: 'timers', about: 'scheduler timer strategy: one timer over a DueQueue vs a setTimeout per probe', load: () => import('./lib/timer-strategies.js') },
];

async function main(argv: string[]): Promise<void> {
  const [name, ...args] = argv;
  if (name === '--help' || name === '-h') {
    for (const b of benches) console.log(`${b.name.padEnd(10)} ${b.about}`);
    return;
  }
  const selected = name === undefined ? benches : benches.filter((b) => b.name === name);
  if (selected.length === 0) {
    console.error(`unknown benchmark "${name}"; known: ${benches.map((b) => b.name).join(', ')}`);
    process.exitCode = 2;
    return;
  }
  for (const b of selected) {
    console.log(`== ${b.name}: ${b.about}`);
    await (await b.load()).run(name === undefined ? [] : args);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
