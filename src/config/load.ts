// Loads a config dir (lvsd.yaml + conf.d/*.yaml) into one validated, immutable Snapshot, or every
// problem of every file with its FILE:LINE:COL. Nothing is applied from a config with any problem.

import { createHash } from 'node:crypto';
import { join, resolve as resolvePath } from 'node:path';
import type { ServiceConfig, Snapshot, SourcePos } from './model.js';
import { LvsdError } from '../errors.js';
import type { ConfigIssue } from './issues.js';
import { IssueList, formatIssue, formatPos } from './issues.js';
import type { NodeBudget, YamlDoc } from './positions.js';
import { parseYamlFile } from './positions.js';
import { LIMITS } from './limits.js';
import type { ReadBudget } from './sources.js';
import { listServiceFiles, readSource } from './sources.js';
import { validateDoc } from './zod-issues.js';
import type { RawDefaults, RawGlobal } from './schema.js';
import { defaultsSchema, globalSchema, serviceSchema } from './schema.js';
import type { CheckLevel, CommandRef } from './check-merge.js';
import { resolveCheck } from './check-merge.js';
import { resolveGlobal, resolveService } from './resolve.js';
import { executableProblem } from './executable.js';
import { checkAnnounceVips } from './announce-resolve.js';

export type { ConfigIssue } from './issues.js';
export { formatIssue } from './issues.js';
export { isServiceFileName } from './sources.js';

export type LoadResult = { ok: true; snapshot: Snapshot } | { ok: false; issues: ConfigIssue[] };

interface SourceFile {
  /** As joined from the config dir given (what messages show). */
  readonly file: string;
  /** Relative to the config dir (what the hash covers, so moving the dir changes nothing). */
  readonly rel: string;
  readonly text: string;
}

export async function loadConfig(configDir: string): Promise<LoadResult> {
  const issues = new IssueList();
  const globalPath = join(configDir, 'lvsd.yaml');
  const confDir = join(configDir, 'conf.d');
  const sources: SourceFile[] = [];

  const readBudget: ReadBudget = { bytes: 0 };
  const nodeBudget: NodeBudget = { remaining: LIMITS.totalNodes };

  const globalText = await readSource(globalPath, issues, readBudget, true);
  if (globalText !== null) sources.push({ file: globalPath, rel: 'lvsd.yaml', text: globalText });
  const listed = (await listServiceFiles(confDir, issues)).map((name) => join(confDir, name));
  for (const file of listed) {
    const name = file.slice(confDir.length + 1);
    const text = await readSource(file, issues, readBudget, false);
    if (text !== null) sources.push({ file, rel: `conf.d/${name}`, text });
  }

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
    resolveCheck([defaultsCheck], { realPort: 1, realPos: globalDoc!.start(), dnsTransport: 'tcp', configDir, partial: true }, issues);
  }

  // --- conf.d ------------------------------------------------------------------------------------
  const services: ServiceConfig[] = [];
  const commands: CommandRef[] = [];
  const names = new Map<string, SourcePos>();
  const keys = new Map<string, { pos: SourcePos; name: string }>();
  for (const src of sources) {
    if (src.file === globalPath) continue;
    const base = src.rel.slice('conf.d/'.length, -'.yaml'.length);
    for (const doc of parseYamlFile(src.file, src.text, issues, nodeBudget)) {
      const raw = validateDoc(doc, serviceSchema, 'service', issues);
      if (!raw) continue;
      const defaultName = doc.index === 1 ? base : `${base}-${doc.index}`;
      const r = resolveService(raw, { doc, defaultName, defaults, defaultsCheck, configDir, issues });
      const { service } = r;
      const nameFirst = names.get(service.name);
      if (nameFirst) {
        const how = raw.name === undefined ? ' (taken from the file name; add a "name:" key)' : '';
        issues.add(r.namePos, `service name "${service.name}"${how} is already used (also defined at ${formatPos(nameFirst)})`);
      } else {
        names.set(service.name, r.namePos);
      }
      if (r.keyPos) {
        const keyFirst = keys.get(service.key);
        if (keyFirst) {
          issues.add(r.keyPos, `${describeKey(service)} is already a service, "${keyFirst.name}" (also defined at ${formatPos(keyFirst.pos)})`);
        } else {
          keys.set(service.key, { pos: r.keyPos, name: service.name });
        }
      }
      services.push(service);
      commands.push(...r.commands);
    }
  }

  checkAnnounceVips(global.announce, rawGlobal.announce, globalDoc, services, issues);

  // --- misc programs, each checked once ----------------------------------------------------------
  const verdicts = new Map<string, Promise<string | null>>();
  for (const c of commands) {
    if (!verdicts.has(c.program)) verdicts.set(c.program, executableProblem(c.program));
  }
  for (const c of commands) {
    const problem = await verdicts.get(c.program)!;
    if (problem) issues.add(c.pos, `${c.what ?? 'command'}: ${problem}`);
  }

  if (issues.length > 0) {
    return { ok: false, issues: issues.sorted([globalPath, confDir]) };
  }
  const hash = createHash('sha256');
  for (const s of sources) hash.update(`${s.rel}\0${s.text}\0`);
  const snapshot: Snapshot = {
    global,
    services,
    files: sources.map((s) => resolvePath(s.file)).sort(),
    hash: hash.digest('hex'),
  };
  return { ok: true, snapshot: deepFreeze(snapshot) };
}

/** For callers that cannot go on without a config (CLI subcommands): throws LVSD_CONFIG_INVALID. */
export async function loadConfigOrThrow(configDir: string): Promise<Snapshot> {
  const r = await loadConfig(configDir);
  if (r.ok) return r.snapshot;
  const lines = r.issues.map(formatIssue).join('\n');
  throw new LvsdError('LVSD_CONFIG_INVALID', `invalid configuration in ${configDir}:\n${lines}`);
}

function describeKey(s: ServiceConfig): string {
  return s.kind === 'fwmark' ? `fwmark ${s.fwmark} (IPv${s.family})` : `${s.protocol.toUpperCase()} ${s.key.slice(s.protocol.length + 1)}`;
}

/** When lvsd.yaml has a mistake, keep its `defaults` if they are fine, to avoid follow-up noise in services. */
function salvageDefaults(doc: YamlDoc): RawGlobal {
  const js = doc.toJS() as { defaults?: unknown } | null;
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
