// Loads a config dir (lvsd.yaml + conf.d/*.yaml) into one validated, immutable Snapshot, or every
// problem of every file with its FILE:LINE:COL. Nothing is applied from a config with any problem.

import { createHash } from 'node:crypto';
import { join, resolve as resolvePath } from 'node:path';
import type { ServiceConfig, Snapshot, SourcePos } from './model.js';
import type { ConfigIssue } from './issues.js';
import { IssueList, formatPos } from './issues.js';
import type { NodeBudget, YamlDoc } from './positions.js';
import { parseYamlFile } from './positions.js';
import { LIMITS } from './limits.js';
import type { ReadBudget } from './sources.js';
import { listServiceFiles, readSource, readSources } from './sources.js';
import { provisionalDoc, validateDoc } from './zod-issues.js';
import type { RawDefaults, RawGlobal } from './schema.js';
import { defaultsSchema, globalSchema, serviceSchema } from './schema.js';
import type { CheckLevel, CommandRef } from './check-merge.js';
import { resolveCheck } from './check-merge.js';
import { resolveGlobal } from './resolve.js';
import { resolveService } from './resolve-service.js';
import { executableProblem } from './executable.js';
import { checkAnnounceGroup, checkAnnounceVips } from './announce-resolve.js';

export type { ConfigIssue } from './issues.js';
export { formatIssue } from './issues.js';
export { isServiceFileName } from './sources.js';

export type LoadResult =
  | { ok: true; snapshot: Snapshot }
  | { ok: false; issues: ConfigIssue[]; /** Set instead of parsing when the changes exceed `maxParseBytes`. */ tooMuch?: true };

export interface LoadOptions {
  /**
   * The running snapshot (of the same config dir): every service file whose text is unchanged, with
   * lvsd.yaml unchanged too, is reused as it was (the same ServiceConfig objects) instead of being
   * parsed again. A reload that edits one file of 1,000 parses one file, and the daemon can tell
   * unchanged services by identity.
   */
  readonly previous?: Snapshot;
  /** Parse for at most this long at a time (ms), then give the event loop a turn (setImmediate). */
  readonly sliceMs?: number;
  /** Parse at most this many bytes of changed files here; past it, answer `tooMuch` at once. */
  readonly maxParseBytes?: number;
  /**
   * Programs whose absence is not an issue here (`lvsd convert` on another machine than the
   * director: it warned about them, and check-config on the director judges them).
   */
  readonly allowMissingPrograms?: ReadonlySet<string>;
}

/** What one service file gave; reused by the next load while its text and lvsd.yaml are the same. */
interface ParsedFile {
  readonly digest: string;
  /** YAML nodes it took from the config's node budget. */
  readonly nodes: number;
  readonly entries: readonly ServiceEntry[];
  readonly commands: readonly CommandRef[];
}

interface ServiceEntry {
  readonly service: ServiceConfig;
  readonly namePos: SourcePos;
  readonly keyPos: SourcePos | null;
  /** The name came from the file name (the duplicate message then says so). */
  readonly implicitName: boolean;
}

/**
 * The parse of every file of a snapshot, for the next load. Kept beside the snapshot (not in it), so
 * it shares the snapshot's lifetime and its ServiceConfig objects and costs a digest per file.
 */
export interface LoadCache {
  /** configDir and lvsd.yaml's digest: the files' parse depends on both. */
  readonly base: string;
  readonly globalFile: string;
  readonly files: ReadonlyMap<string, ParsedFile>;
}

const caches = new WeakMap<Snapshot, LoadCache>();

/** The parse cache of a snapshot made by loadConfig (or adopted from the loader thread). */
export function cacheOf(snapshot: Snapshot): LoadCache | undefined {
  return caches.get(snapshot);
}

/** Attach a cache that crossed a thread boundary together with its snapshot (same object graph). */
export function adoptCache(snapshot: Snapshot, cache: LoadCache): void {
  caches.set(snapshot, cache);
}

interface SourceFile {
  /** As joined from the config dir given (what messages show). */
  readonly file: string;
  /** Relative to the config dir (what the hash covers, so moving the dir changes nothing). */
  readonly rel: string;
  readonly text: string;
}

/**
 * The files whose text differs between two snapshots of one config dir (added, changed, removed;
 * lvsd.yaml when it changed), in path order; null when either was not made by loadConfig.
 */
export function changedFiles(before: Snapshot, after: Snapshot): string[] | null {
  const a = caches.get(before);
  const b = caches.get(after);
  if (!a || !b) return null;
  const changed = new Set<string>();
  for (const [file, parsed] of b.files) if (a.files.get(file)?.digest !== parsed.digest) changed.add(file);
  for (const file of a.files.keys()) if (!b.files.has(file)) changed.add(file);
  if (a.base !== b.base) changed.add(b.globalFile);
  return [...changed].map((f) => resolvePath(f)).sort();
}

const digestOf = (text: string): string => createHash('sha256').update(text).digest('base64');

export async function loadConfig(configDir: string, options: LoadOptions = {}): Promise<LoadResult> {
  const issues = new IssueList();
  const globalPath = join(configDir, 'lvsd.yaml');
  const confDir = join(configDir, 'conf.d');
  const sources: SourceFile[] = [];

  const readBudget: ReadBudget = { bytes: 0 };
  const nodeBudget: NodeBudget = { remaining: LIMITS.totalNodes };

  const globalText = readSource(globalPath, issues, readBudget, true);
  if (globalText !== null) sources.push({ file: globalPath, rel: 'lvsd.yaml', text: globalText });
  const listed = (await listServiceFiles(confDir, issues)).map((name) => join(confDir, name));
  const texts = await readSources(listed, issues, readBudget);
  for (const [i, file] of listed.entries()) {
    const text = texts[i];
    if (text !== null && text !== undefined) sources.push({ file, rel: `conf.d/${file.slice(confDir.length + 1)}`, text });
  }

  const base = `${configDir}\0${globalText === null ? '-' : digestOf(globalText)}`;
  const previous = options.previous ? caches.get(options.previous) : undefined;
  const reusable = previous?.base === base ? previous.files : undefined;
  const digests = new Map<string, string>();
  let changedBytes = 0;
  for (const src of sources) {
    if (src.file === globalPath) continue;
    const digest = digestOf(src.text);
    digests.set(src.file, digest);
    if (reusable?.get(src.file)?.digest !== digest) changedBytes += src.text.length;
  }
  if (options.maxParseBytes !== undefined && changedBytes > options.maxParseBytes) return { ok: false, issues: [], tooMuch: true };

  // --- lvsd.yaml ---------------------------------------------------------------------------------
  let rawGlobal: RawGlobal = {};
  let globalDoc: YamlDoc | null = null;
  if (globalText !== null) {
    const docs = parseYamlFile(globalPath, globalText, issues, nodeBudget);
    globalDoc = docs[0] ?? null;
    for (const extra of docs.slice(1)) issues.add(extra.start(), 'lvsd.yaml holds a single YAML document; remove this one (services go in conf.d/)');
    if (globalDoc) rawGlobal = validateDoc(globalDoc, globalSchema, 'global', issues) ?? salvageDefaults(globalDoc);
  }
  const global = resolveGlobal(rawGlobal, globalDoc, configDir, issues);
  const defaults: RawDefaults | undefined = rawGlobal.defaults;
  const defaultsCheck: CheckLevel | null = globalDoc
    ? { label: 'lvsd.yaml defaults', check: defaults?.check, doc: globalDoc, path: ['defaults', 'check'] }
    : null;
  if (defaultsCheck) {
    // Keys that do not fit the defaults' own check type are wrong even with no service at all.
    resolveCheck([defaultsCheck], { realPort: 1, realPos: globalDoc!.start(), serviceProtocol: 'tcp', configDir, partial: true }, issues);
  }

  // --- conf.d ------------------------------------------------------------------------------------
  const services: ServiceConfig[] = [];
  const commands: CommandRef[] = [];
  const names = new Map<string, SourcePos>();
  const keys = new Map<string, { pos: SourcePos; name: string }>();
  const files = new Map<string, ParsedFile>();
  let slice = performance.now();
  for (const src of sources) {
    if (src.file === globalPath) continue;
    const digest = digests.get(src.file)!;
    const cached = reusable?.get(src.file);
    let parsed: ParsedFile;
    if (cached !== undefined && cached.digest === digest && cached.nodes <= nodeBudget.remaining) {
      nodeBudget.remaining -= cached.nodes;
      parsed = cached;
    } else {
      const before = issues.length;
      parsed = parseServiceFile(src, digest, { defaults, defaultsCheck, configDir, issues, nodeBudget, syncDaemon: global.syncDaemon !== null });
      if (issues.length !== before) parsed = { ...parsed, digest: '' }; // never reused: its issues must show again
      if (options.sliceMs !== undefined && performance.now() - slice > options.sliceMs) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        slice = performance.now();
      }
    }
    files.set(src.file, parsed);
    for (const { service, namePos, keyPos, implicitName } of parsed.entries) {
      const nameFirst = names.get(service.name);
      if (nameFirst) {
        const how = implicitName ? ' (taken from the file name; add a "name:" key)' : '';
        issues.add(namePos, `service name "${service.name}"${how} is already used (also defined at ${formatPos(nameFirst)})`);
      } else {
        names.set(service.name, namePos);
      }
      if (keyPos) {
        const keyFirst = keys.get(service.key);
        if (keyFirst) {
          issues.add(keyPos, `${describeKey(service)} is already a service, "${keyFirst.name}" (also defined at ${formatPos(keyFirst.pos)})`);
        } else {
          keys.set(service.key, { pos: keyPos, name: service.name });
        }
      }
      services.push(service);
    }
    commands.push(...parsed.commands);
  }

  checkAnnounceVips(global.announce, rawGlobal.announce, globalDoc, services, issues);
  await checkAnnounceGroup(global.announce, globalDoc, issues);

  // --- misc programs, each checked once (reused files too: a program can vanish between loads) ----
  const verdicts = new Map<string, Promise<string | null>>();
  for (const c of commands) {
    if (!verdicts.has(c.program)) verdicts.set(c.program, executableProblem(c.program));
  }
  for (const c of commands) {
    const problem = await verdicts.get(c.program)!;
    if (problem && !options.allowMissingPrograms?.has(c.program)) issues.add(c.pos, `${c.what ?? 'command'}: ${problem}`);
  }

  if (issues.length > 0) {
    return { ok: false, issues: issues.sorted([globalPath, confDir]) };
  }
  const hash = createHash('sha256');
  for (const s of sources) hash.update(`${s.rel}\0${s.text}\0`);
  const snapshot: Snapshot = deepFreeze({
    global,
    services,
    files: sources.map((s) => resolvePath(s.file)).sort(),
    hash: hash.digest('hex'),
  });
  caches.set(snapshot, { base, globalFile: globalPath, files });
  return { ok: true, snapshot };
}

interface FileContext {
  readonly defaults: RawDefaults | undefined;
  readonly defaultsCheck: CheckLevel | null;
  readonly configDir: string;
  readonly issues: IssueList;
  readonly nodeBudget: NodeBudget;
  readonly syncDaemon: boolean;
}

/** Parse and resolve every document (service) of one conf.d file; problems go to ctx.issues. */
function parseServiceFile(src: SourceFile, digest: string, ctx: FileContext): ParsedFile {
  const base = src.rel.slice('conf.d/'.length, -'.yaml'.length);
  const budgetBefore = ctx.nodeBudget.remaining;
  const entries: ServiceEntry[] = [];
  const commands: CommandRef[] = [];
  for (const doc of parseYamlFile(src.file, src.text, ctx.issues, ctx.nodeBudget)) {
    const raw = validateDoc(doc, serviceSchema, 'service', ctx.issues);
    if (!raw) {
      reportOtherProblems(doc, base, ctx);
      continue;
    }
    const defaultName = doc.index === 1 ? base : `${base}-${doc.index}`;
    const r = resolveService(raw, { doc, defaultName, defaults: ctx.defaults, defaultsCheck: ctx.defaultsCheck, configDir: ctx.configDir, issues: ctx.issues, syncDaemon: ctx.syncDaemon });
    entries.push({ service: r.service, namePos: r.namePos, keyPos: r.keyPos, implicitName: raw.name === undefined });
    commands.push(...r.commands);
  }
  return { digest, nodes: budgetBefore - ctx.nodeBudget.remaining, entries, commands };
}

/**
 * An invalid document's rule problems (a gate real with another port...) in the same run as its
 * schema problems: resolved with every invalid value cut out, into a scratch list. A problem that
 * names a cut key may be an artefact of the cut (its default stood in), so it waits for the fix.
 */
function reportOtherProblems(doc: YamlDoc, base: string, ctx: FileContext): void {
  const provisional = provisionalDoc(doc, serviceSchema);
  if (!provisional) return;
  const scratch = new IssueList();
  const defaultName = doc.index === 1 ? base : `${base}-${doc.index}`;
  try {
    resolveService(provisional.data, { doc, defaultName, defaults: ctx.defaults, defaultsCheck: ctx.defaultsCheck, configDir: ctx.configDir, issues: scratch, syncDaemon: ctx.syncDaemon });
  } catch {
    return; // a value the resolver never meets in a valid document: the schema problems say enough
  }
  const cut = [...provisional.cut];
  for (const i of scratch.sorted([])) {
    if (cut.some((k) => i.message.includes(k))) continue;
    ctx.issues.add({ file: i.file, line: i.line, col: i.col }, i.message);
  }
}

function describeKey(s: ServiceConfig): string {
  return s.kind === 'fwmark' ? `fwmark ${s.fwmark} (IPv${s.family})` : `${s.protocol.toUpperCase()} ${s.key.slice(s.protocol.length + 1)}`;
}

/**
 * When lvsd.yaml has a mistake, keep its `defaults` if they are fine, to avoid follow-up noise in
 * services. A document that cannot even become data (an unresolved alias: validateDoc has reported
 * it at its position) has none: before, the toJS() here threw out of loadConfig, and check-config
 * printed an unpositioned "Unresolved alias" (regression found by the fuzz tier; issue 18).
 */
function salvageDefaults(doc: YamlDoc): RawGlobal {
  let js: { defaults?: unknown } | null;
  try {
    js = doc.toJS() as { defaults?: unknown } | null;
  } catch {
    return {};
  }
  const r = defaultsSchema.safeParse(js && typeof js === 'object' ? js.defaults : undefined);
  return r.success ? { defaults: r.data } : {};
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
