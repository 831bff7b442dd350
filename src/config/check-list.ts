// `checks:` — several checks on one real, all of which must pass (keepalived allows several checkers
// per real_server). Decides which levels' check mappings each entry is merged over, then resolves
// every entry with check-merge.ts like a single `check`.
//
// The rule: the most specific level that gives `checks` owns the list. Each entry is merged key by
// key over the `check` mappings of the less specific levels (lvsd.yaml defaults, the service), so
// defaults such as interval, timeout, rise and fall apply to every entry. A `check` at a more
// specific level than the list (a real's `check` under a service's `checks`) would be ambiguous
// and is reported, as are `check` and `checks` together at one level.

import type { CheckSpec } from './model.js';
import type { IssueList } from './issues.js';
import { formatPos } from './issues.js';
import type { PathSeg } from './positions.js';
import type { RawCheck } from './schema.js';
import type { CheckLevel, CheckTargetInfo, CommandRef } from './check-merge.js';
import { resolveCheck } from './check-merge.js';

export interface ListLevel extends CheckLevel {
  readonly checks?: readonly RawCheck[] | undefined;
  /** Where the `checks` list sits in `doc`. */
  readonly listPath?: readonly PathSeg[];
}

export function resolveCheckList(
  levels: readonly ListLevel[],
  target: CheckTargetInfo,
  issues: IssueList,
): { specs: CheckSpec[]; commands: CommandRef[] } {
  let owner = -1;
  for (const [i, level] of levels.entries()) {
    if (level.checks === undefined) continue;
    owner = i;
    if (level.check !== undefined) {
      issues.add(level.doc.at(level.path, 'key'), '"check" and "checks" cannot both be given here: put this check into the "checks" list');
    }
  }
  const commands: CommandRef[] = [];
  if (owner < 0) {
    const r = resolveCheck(levels, target, issues);
    if (r.command) commands.push(r.command);
    return { specs: [r.spec], commands };
  }
  const list = levels[owner]!;
  const listPos = list.doc.at(list.listPath ?? [], 'key');
  for (const level of levels.slice(owner + 1)) {
    if (level.check === undefined) continue;
    issues.add(
      level.doc.at(level.path, 'key'),
      `"check" cannot change the "checks" list of ${list.label.replace(/ check$/, '')} (at ${formatPos(listPos)}); give a "checks" list here instead`,
    );
  }
  const base: CheckLevel[] = levels.slice(0, owner).map(({ label, check, doc, path }) => ({ label, check, doc, path }));
  const specs: CheckSpec[] = [];
  for (const [j, entry] of list.checks!.entries()) {
    const level: CheckLevel = { label: `${list.label}s entry ${j + 1}`, check: entry, doc: list.doc, path: [...(list.listPath ?? []), j] };
    const r = resolveCheck([...base, level], target, issues);
    if (r.command) commands.push(r.command);
    specs.push(r.spec);
  }
  return { specs, commands };
}
