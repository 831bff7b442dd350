// The shipped monitoring files: Prometheus alert rules pass `promtool check rules` and their unit
// tests (`promtool test rules`), and every metric the rules and the Grafana dashboard use is one
// lvsd really exports (read from the metrics registry, not from a hand-written list).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';
import { world } from '../helpers/observe-fixtures.js';

const dir = join(repoRoot, 'packaging', 'monitoring');

function promtool(args: readonly string[]): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { cwd: dir, encoding: 'utf8' });
  assert.ok(!r.error, `promtool cannot run (install the prometheus package): ${String(r.error)}`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Metric names in the registry, as Prometheus sees them (histograms with their series suffixes). */
async function exported(): Promise<Set<string>> {
  const text = await world().observer.metrics.text();
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(m[1]!);
    if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${m[1]}${s}`);
  }
  return names;
}

const lvsdNames = (expr: string): string[] => [...expr.matchAll(/\blvsd_[a-z0-9_]+/g)].map((m) => m[0]);

describe('packaging/monitoring', () => {
  it('alert rules pass promtool check rules', () => {
    const r = promtool(['check', 'rules', 'lvsd-alerts.yml']);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /SUCCESS: 7 rules found/);
  });

  it('alert rules pass their promtool unit tests', () => {
    const r = promtool(['test', 'rules', 'lvsd-alerts.test.yml']);
    assert.equal(r.status, 0, r.out);
  });

  it('every alert names the metrics lvsd exports', async () => {
    const names = await exported();
    const rules = await readFile(join(dir, 'lvsd-alerts.yml'), 'utf8');
    const exprs = [...rules.matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1]!);
    assert.equal(exprs.length, 7);
    for (const expr of exprs) {
      assert.ok(lvsdNames(expr).length > 0, expr);
      for (const n of lvsdNames(expr)) assert.ok(names.has(n), `alert expression uses ${n}, which lvsd does not export: ${expr}`);
    }
  });

  it('the Grafana dashboard is valid JSON and every panel queries metrics lvsd exports', async () => {
    const names = await exported();
    const dash = JSON.parse(await readFile(join(dir, 'lvsd-dashboard.json'), 'utf8')) as {
      title: string;
      panels: { title: string; targets: { expr: string }[] }[];
    };
    assert.equal(dash.title, 'lvsd');
    assert.ok(dash.panels.length >= 10);
    for (const p of dash.panels) {
      assert.ok(p.targets.length > 0, `panel ${p.title} has a query`);
      for (const t of p.targets) {
        assert.ok(lvsdNames(t.expr).length > 0, `${p.title}: ${t.expr}`);
        for (const n of lvsdNames(t.expr)) assert.ok(names.has(n), `panel "${p.title}" uses ${n}, which lvsd does not export`);
      }
    }
  });
});
