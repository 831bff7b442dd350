// Fuzz tier (issue 18 item 3): every parser lvsd reads untrusted text with, property-tested with
// fast-check against its contract (a value or its own coded error, never anything else, never a
// hang). Each target runs in a worker with a per-case hang guard (test/helpers/fuzz.ts); the case
// count and seed of each are printed (LVSD_FUZZ_SEED=N replays a seed). Crashers found become the
// named regression tests in fuzz-regressions.test.ts.

import { after, describe, it } from 'node:test';
import { FuzzRunner } from '../helpers/fuzz.js';

const RUNS: readonly [string, number][] = [
  ['ipvsadm -Sn', 2000],
  ['ipvsadm -Ln (listing, counters, thresholds)', 2000],
  ['ipvsadm -Ln --stats/--rate', 2000],
  ['ipvsadm -L --daemon', 2000],
  ['/proc/net/ip_vs', 2000],
  ['control request line', 3000],
  ['state record admin.json', 1000],
  ['state record sync-daemon.json', 1000],
  ['state record owned.json', 1000],
  ['config load (lvsd.yaml + a conf.d file)', 500],
];

describe('fuzz: parsers keep their contract on any input', () => {
  const runner = new FuzzRunner();
  after(() => runner.close());
  for (const [name, runs] of RUNS) {
    it(name, async (t) => {
      await runner.run(t, name, runs);
    });
  }
});
