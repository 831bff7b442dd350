// The convert equivalence test (convert-equivalence.test.ts) on the whole corpus: every file of
// test/corpus/ plus Debian's samples, each in network namespaces of its own inside the one boot.
// In namespace cN, lvsd first applies the conversion with every check `none` (its table is read,
// then lvsd's clean stop empties it), then the original tool runs the file with nothing probed
// (keepalived --check with its checker blocks removed, so every real_server is up; ldirectord with
// checktype=on). Each namespace has lo and a dummy
// link holding its default routes (IPVS takes an IPv4 NAT real only when it is routable, as
// unicast); a dummy link drops whatever is sent to it, and nothing is probed: no packet leaves. Their `ipvsadm -Sn` tables (services, scheduler, flags,
// persistence and netmask, forwarding, weights) must be equal, or differ only on services convert
// warned about, or be listed with a reason in test/corpus/known-differences. Refusals are reported
// with what the original tool does with the same file. Summary: /vmout/corpus-differential.md.

import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { convert } from '../../src/convert/index.js';
import type { ConvertResult } from '../../src/convert/index.js';
import { committedCorpus, debianCorpus, withChecksOn, withoutCheckers } from '../helpers/corpus.js';
import type { CorpusFile } from '../helpers/corpus.js';
import { output, skipOutsideVm, sleep, vmLogDir } from './lib/exec.js';
import { parseProcTable, parseTable } from './lib/ipvsadm.js';
import { ipBatch } from './lib/netns.js';
import { startKeepalived, startLdirectord, stopChild } from './lib/peers.js';
import { applyWithLvsd, writeLvsdConfig } from './lib/corpus-lvsd.js';
import { diffTables, knownDifferences, normalisedLines, signature, warnedAbout } from './lib/corpus-compare.js';
import type { ServiceDiff } from './lib/corpus-compare.js';

const TIMEOUT = { timeout: 1_500_000 };
const WORK = '/var/tmp/lvsd-corpus';
/** Peers started at once: keepalived is two small processes, ldirectord a Perl one; the VM has 2 CPUs. */
const WAVE = 64;
/** A peer whose table differs from lvsd's is read once it has a table that has not changed for this long... */
const STABLE_MS = 20_000;
/** ...and not before this (ldirectord under emulation needs up to ~35 s for its first round). */
const MIN_WAIT_MS = { keepalived: 30_000, ldirectord: 90_000 } as const;
const HARD_WAIT_MS = 300_000;

type Verdict = 'equal' | 'differs where warned' | 'differs (known)' | 'differs' | 'refused';

interface Entry {
  readonly n: number;
  readonly file: CorpusFile;
  readonly converted: ConvertResult;
  lvsdLines?: string[];
  lvsdIssue?: string;
  peerLines?: string[];
  peerEnd?: string;
  diffs?: ServiceDiff[];
  verdict?: Verdict;
  detail?: string;
}

async function nsTable(ns: string): Promise<string[]> {
  return normalisedLines(await output('ip', ['netns', 'exec', ns, 'ipvsadm', '-Sn']));
}

/** Runs the original tool on one file in cpN until its table matches lvsd's or settles; returns how it ended. */
interface Peer {
  readonly e: Entry;
  readonly child: ChildProcess;
  readonly started: number;
  target: string | null;
  last: string;
  changedAt: number;
  end: string | null;
}

async function startPeer(e: Entry): Promise<Peer> {
  const ns = `c${e.n}`;
  const conf = join(WORK, `c${e.n}.${e.file.format === 'keepalived' ? 'conf' : 'cf'}`);
  await writeFile(conf, e.file.format === 'keepalived' ? withoutCheckers(e.file.text) : withChecksOn(e.file.text));
  const child = e.file.format === 'keepalived' ? startKeepalived(`corpus-c${e.n}`, conf, WORK, ns) : startLdirectord(`corpus-c${e.n}`, conf, ns);
  const target = e.lvsdLines === undefined ? null : signature(parseTable(e.lvsdLines.join('\n')));
  const now = Date.now();
  return { e, child, started: now, target, last: '', changedAt: now, end: null };
}

/** One look at a running peer's table through /proc/PID/net/ip_vs (its namespace's table, no fork). */
async function look(p: Peer, now: number): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) {
    p.end = `exited (code ${p.child.exitCode ?? p.child.signalCode})`;
    return;
  }
  let sig: string;
  try {
    sig = signature(parseProcTable(await readFile(`/proc/${p.child.pid}/net/ip_vs`, 'utf8')));
  } catch {
    return;
  }
  const waited = now - p.started >= MIN_WAIT_MS[p.e.file.format];
  // Both empty counts only once the tool has had its time: before that it may just not have started.
  if (p.target !== null && sig === p.target && (sig !== '' || waited)) p.end = 'matched';
  else if (sig !== p.last) [p.last, p.changedAt] = [sig, now];
  // An empty table never settles: a tool still starting and one that refused the file look alike
  // until it exits (or has a table).
  else if (sig !== '' && now - p.changedAt >= STABLE_MS && waited) p.end = `settled (${Math.round((now - p.started) / 1000)} s)`;
  if (p.end === null && now - p.started >= HARD_WAIT_MS) p.end = sig === '' ? 'no table at the bound' : 'still changing at the bound';
}

async function runWave(entries: readonly Entry[]): Promise<void> {
  const peers = await Promise.all(entries.map(startPeer));
  // Condition polling: each peer ends when its table equals lvsd's, settles, or the tool exits.
  while (peers.some((p) => p.end === null)) {
    const now = Date.now();
    for (const p of peers.filter((x) => x.end === null)) await look(p, now);
    if (peers.some((p) => p.end === null)) await sleep(2_000);
  }
  for (const p of peers) {
    p.e.peerEnd = p.end ?? '';
    p.e.peerLines = await nsTable(`c${p.e.n}`).catch(() => []);
  }
  await Promise.all(peers.map((p) => stopChild(p.child)));
}

function classify(e: Entry, known: ReturnType<typeof knownDifferences>): void {
  const c = e.converted;
  const peer = e.peerLines ?? [];
  if (!c.ok) {
    const originalRuns = peer.length > 0;
    e.verdict = 'refused';
    e.detail = `${c.errors[0]?.message ?? ''}; the original ${originalRuns ? `runs it (${peer.filter((l) => l.startsWith('-A')).length} services)` : `refuses it too (${e.peerEnd}, empty table)`}`;
    if (originalRuns) e.diffs = diffTables(peer, []);
    if (originalRuns) e.verdict = known.some((k) => k.file === e.file.id && k.key === '*') ? 'differs (known)' : 'differs';
    return;
  }
  if (e.lvsdIssue !== undefined) {
    e.verdict = 'differs';
    e.detail = `lvsd refuses the conversion: ${e.lvsdIssue}`;
    return;
  }
  const diffs = diffTables(peer, e.lvsdLines ?? []);
  e.diffs = diffs;
  if (diffs.length === 0) {
    e.verdict = 'equal';
    return;
  }
  const unexplained = diffs.filter((d) => warnedAbout(d.key, c.services, c.diagnostics).length === 0);
  const unknown = unexplained.filter((d) => !known.some((k) => k.file === e.file.id && (k.key === d.key || k.key === '*')));
  e.verdict = unexplained.length === 0 ? 'differs where warned' : unknown.length === 0 ? 'differs (known)' : 'differs';
  e.detail = diffs.map((d) => `${d.key}: original [${d.peerOnly.join(' | ')}] lvsd [${d.lvsdOnly.join(' | ')}]`).join('; ');
}

function summary(entries: readonly Entry[]): string {
  const count = (v: Verdict): number => entries.filter((e) => e.verdict === v).length;
  const rows = entries.map((e) => {
    const services = (lines: string[] | undefined): string => String((lines ?? []).filter((l) => l.startsWith('-A')).length);
    return `| ${e.file.id} | ${e.file.format} | ${e.verdict} | ${services(e.peerLines)} | ${services(e.lvsdLines)} | ${e.peerEnd ?? ''} | ${e.detail ?? ''} |`;
  });
  return [
    `corpus: ${entries.length} files (${entries.filter((e) => !e.file.id.startsWith('debian:')).length} committed, ${entries.filter((e) => e.file.id.startsWith('debian:')).length} Debian samples)`,
    `equal: ${count('equal')}, differ only where warned: ${count('differs where warned')}, differ (known): ${count('differs (known)')}, differ: ${count('differs')}, refused: ${count('refused')}`,
    '',
    '| file | format | verdict | original services | lvsd services | original ended | detail |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

describe('lvsd convert on the corpus: the original tools vs lvsd, table by table (kernel IPVS, one namespace each)', { skip: skipOutsideVm }, () => {
  const entries: Entry[] = [];

  before(async () => {
    await mkdir(WORK, { recursive: true });
    const files = committedCorpus();
    for (const file of [...files, ...debianCorpus(files)]) {
      entries.push({ n: entries.length, file, converted: await convert(file.format, file.path, file.text) });
    }
    const names = entries.map((e) => `c${e.n}`);
    await ipBatch(names.map((ns) => `netns add ${ns}`));
    for (const ns of names) {
      await ipBatch(['link set lo up', 'link add blackhole0 type dummy', 'link set blackhole0 up', 'route add default dev blackhole0'], ns);
    }
  });

  after(async () => {
    // The namespaces take their IPVS tables with them; nothing in the root namespace was touched.
    await ipBatch(entries.map((e) => `netns delete c${e.n}`)).catch(() => undefined);
  });

  it('every file: equal, different only where convert warned, or a known and explained difference', TIMEOUT, async (t) => {
    for (const e of entries) {
      if (!e.converted.ok) continue;
      const [ns, dir] = [`c${e.n}`, join(WORK, `c${e.n}`)];
      const run = await applyWithLvsd(await writeLvsdConfig(e.converted, e.file.path, dir, ns), join(vmLogDir ?? WORK, `corpus-lvsd-c${e.n}.log`), () => nsTable(ns));
      if (!run.ok) e.lvsdIssue = run.issues[0] ?? 'invalid';
      else if (run.errors.length > 0) e.lvsdIssue = `ipvsadm refused part of lvsd's pass: ${run.errors.join(' | ')}`;
      if (run.ok) {
        e.lvsdLines = run.table;
        assert.deepEqual(await nsTable(ns), [], `${e.file.id}: lvsd's clean stop left the namespace's table empty for the original tool`);
      }
    }
    for (let i = 0; i < entries.length; i += WAVE) await runWave(entries.slice(i, i + WAVE));

    const known = knownDifferences();
    for (const e of entries) classify(e, known);
    const text = summary(entries);
    for (const line of text.split('\n')) t.diagnostic(line);
    if (vmLogDir !== null) await writeFile('/vmout/corpus-differential.md', text);

    // Not a comparison of empty tables: the files that convert put services into the kernel.
    assert.ok(entries.filter((e) => (e.lvsdLines ?? []).some((l) => l.startsWith('-A'))).length >= 30, 'lvsd built tables for the corpus');
    const unexplained = entries.filter((e) => e.verdict === 'differs');
    assert.deepEqual(unexplained.map((e) => `${e.file.id}: ${e.detail}`), [], 'differences convert did not warn about and known-differences does not explain');
  });
});
