// lvsd on one converted corpus file with every real healthy, in a network namespace of its own:
// the conversion as `lvsd convert` writes it, each check replaced by `type: none` (never probed,
// always up), then lvsd's own pipeline in this process (loadConfig, one check round, the
// Reconciler's first pass through the ipvsadm runner). The runner's ipvsadm is a wrapper that runs
// the real one inside the namespace (lvsd.yaml `ipvsadm:`), so each file gets its own IPVS table
// and no daemon start (15-45 s of emulated CPU each) is paid per file.

import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { ConvertResult } from '../../../src/convert/index.js';
import { render } from '../../../src/cli/convert.js';
import { formatIssue, loadConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/log.js';
import { HealthTracker } from '../../../src/health/tracker.js';
import { Reconciler } from '../../../src/reconcile/reconciler.js';
import { Ownership } from '../../../src/reconcile/ownership.js';
import { createRunner } from '../../../src/ipvs/runner.js';
import { healthViewOf } from '../../../src/reconcile/health-board.js';
import { probeAll } from '../../../src/cli/report.js';

type Converted = Extract<ConvertResult, { ok: true }>;
type Doc = Record<string, unknown>;

/** A service document with every check (the service's and any real's or sorry server's) made `none`. */
function allHealthy(doc: Doc): Doc {
  const out: Doc = { ...doc, check: { type: 'none' } };
  for (const list of ['reals', 'sorry']) {
    const items = out[list];
    if (Array.isArray(items)) out[list] = items.map((r: unknown) => (r !== null && typeof r === 'object' ? omitCheck(r as Doc) : r));
  }
  return out;
}

function omitCheck(real: Doc): Doc {
  const { check: _check, ...rest } = real;
  return rest;
}

/**
 * Writes DIR/lvsd.yaml and DIR/conf.d/ from a conversion: as converted, plus `ipvsadm:` (a
 * wrapper running `ip netns exec NS ipvsadm`) and `state_dir:`, every check made `none`.
 * Returns the config directory.
 */
export async function writeLvsdConfig(result: Converted, source: string, dir: string, ns: string): Promise<string> {
  const confDir = join(dir, 'healthy');
  await mkdir(join(confDir, 'conf.d'), { recursive: true });
  await mkdir(join(confDir, 'state'), { recursive: true });
  const wrapper = join(dir, 'ipvsadm');
  await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} ipvsadm "$@"\n`);
  await chmod(wrapper, 0o755);
  for (const [rel, body] of render(result, source)) {
    if (rel === 'lvsd.yaml') {
      const global = (parse(body) as Doc | null) ?? {};
      await writeFile(join(confDir, rel), stringify({ ...global, ipvsadm: wrapper, state_dir: join(confDir, 'state') }));
    } else {
      await writeFile(join(confDir, rel), stringify(allHealthy(parse(body) as Doc)));
    }
  }
  return confDir;
}

export type LvsdRun =
  | { readonly ok: true; readonly errors: readonly string[]; readonly table: string[] }
  | { readonly ok: false; readonly issues: readonly string[] };

/**
 * lvsd's first pass on `confDir` (checks all `none`): what `lvsd run` applies once every real is
 * up. `table` is the namespace's normalised `ipvsadm -Sn` after that pass; then lvsd stops with
 * clean_stop, removing what it added.
 */
export async function applyWithLvsd(confDir: string, logPath: string, readTable: () => Promise<string[]>): Promise<LvsdRun> {
  const loaded = await loadConfig(confDir);
  if (!loaded.ok) return { ok: false, issues: loaded.issues.map(formatIssue) };
  const snapshot = loaded.snapshot;
  const log = createWriteStream(logPath, { flags: 'a' });
  const logger = createLogger('info', log);
  try {
    const tracker = new HealthTracker();
    tracker.update(snapshot, Date.now());
    for (const r of await probeAll(snapshot)) tracker.record(r.probeKey, r.result, Date.now());
    const reconciler = new Reconciler({ runner: createRunner(snapshot, false, logger), logger, ownership: Ownership.inMemory() });
    reconciler.setSnapshot(snapshot);
    reconciler.setHealth(healthViewOf(tracker));
    const report = await reconciler.start();
    const table = await readTable();
    // A generous budget: under emulation one ipvsadm exec can take seconds on a loaded machine.
    await reconciler.stop({ clean: true, budgetMs: 120_000 });
    return { ok: true, errors: [...report.errors, ...report.remaining], table };
  } finally {
    await new Promise<void>((resolve) => log.end(() => resolve()));
  }
}
