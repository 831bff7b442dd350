// The corpus of real keepalived.conf / ldirectord.cf files (test/corpus/, manifest.json) plus
// Debian's shipped samples, and the edits that let the original tools run them without probing
// anything: keepalived's checker blocks removed (a real_server without a checker is up), every
// ldirectord virtual's checktype forced to "on".

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Format } from '../../src/convert/index.js';
import { repoRoot } from './paths.js';

export const corpusDir = join(repoRoot, 'test', 'corpus');

export interface CorpusFile {
  /** Short unique id: "keepalived/keepalived-sample-fwmark.conf" or "debian:keepalived.conf.fwmark". */
  readonly id: string;
  readonly path: string;
  readonly format: Format;
  readonly text: string;
  /** Where it comes from: "repo path@commit (licence)" or the Debian package path. */
  readonly origin: string;
}

interface ManifestEntry {
  readonly file: string;
  readonly format: Format;
  readonly repo: string;
  readonly path: string;
  readonly commit: string;
  readonly licence: string;
  readonly sha256: string;
}

const DEBIAN_DIRS: readonly { dir: string; format: Format; match: RegExp }[] = [
  { dir: '/usr/share/doc/keepalived/samples', format: 'keepalived', match: /^keepalived\.conf\./ },
  { dir: '/usr/share/doc/ldirectord/examples', format: 'ldirectord', match: /\.cf$/ },
];

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The committed corpus, in manifest order; a file whose bytes differ from its sha256 throws. */
export function committedCorpus(): CorpusFile[] {
  const manifest = JSON.parse(readFileSync(join(corpusDir, 'manifest.json'), 'utf8')) as { files: ManifestEntry[] };
  return manifest.files.map((e) => {
    const path = join(corpusDir, e.file);
    const text = readFileSync(path, 'utf8');
    if (sha256(text) !== e.sha256) throw new Error(`${e.file}: content differs from manifest.json's sha256`);
    return { id: e.file, path, format: e.format, text, origin: `${e.repo} ${e.path}@${e.commit.slice(0, 12)} (${e.licence})` };
  });
}

/**
 * Debian's samples (installed by scripts/setup-system.sh) that hold a virtual server, minus those
 * byte-identical to a committed file. Empty where the packages' docs are absent.
 */
export function debianCorpus(committed: readonly CorpusFile[]): CorpusFile[] {
  const seen = new Set(committed.map((f) => sha256(f.text)));
  const out: CorpusFile[] = [];
  for (const { dir, format, match } of DEBIAN_DIRS) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).filter((n) => match.test(n)).sort()) {
      const path = join(dir, name);
      const text = readFileSync(path, 'utf8');
      if (seen.has(sha256(text)) || !hasVirtualServer(format, text)) continue;
      out.push({ id: `debian:${name}`, path, format, text, origin: `Debian package file ${path}` });
    }
  }
  return out;
}

function hasVirtualServer(format: Format, text: string): boolean {
  return format === 'keepalived' ? /^\s*virtual_server\s/m.test(text) : /^\s*virtual6?\s*=/m.test(text);
}

/** keepalived's health checkers: a real_server block holding none of them is up from the start. */
const KEEPALIVED_CHECKERS = new Set([
  'HTTP_GET', 'SSL_GET', 'TCP_CHECK', 'SMTP_CHECK', 'MISC_CHECK', 'DNS_CHECK', 'UDP_CHECK', 'PING_CHECK', 'BFD_CHECK', 'FILE_CHECK',
]);

/**
 * The keepalived.conf with every checker block (`TCP_CHECK { ... }`, the brace possibly on the
 * next line) cut out, comments and quoted strings respected, everything else byte for byte.
 */
export function withoutCheckers(text: string): string {
  let out = '';
  let i = 0;
  let lineStart = true;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '!' || c === '#') {
      const end = text.indexOf('\n', i);
      const stop = end === -1 ? text.length : end;
      out += text.slice(i, stop);
      i = stop;
      continue;
    }
    if (c === '\n') lineStart = true;
    else if (!/\s/.test(c)) {
      const word = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(text.slice(i))?.[0];
      if (word !== undefined && lineStart && KEEPALIVED_CHECKERS.has(word)) {
        const open = nextBrace(text, i + word.length);
        if (open !== -1) {
          const close = matchingBrace(text, open);
          i = close === -1 ? text.length : close + 1;
          lineStart = false;
          continue;
        }
      }
      if (word !== undefined) {
        out += word;
        i += word.length;
        lineStart = false;
        continue;
      }
      lineStart = false;
    }
    out += c;
    i++;
  }
  return out;
}

/** Index of the "{" that opens a block after position `from` (only blanks/comments between), or -1. */
function nextBrace(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '{') return i;
    if (c === '!' || c === '#') {
      const end = text.indexOf('\n', i);
      if (end === -1) return -1;
      i = end;
    } else if (!/\s/.test(c)) return -1;
    i++;
  }
  return -1;
}

function matchingBrace(text: string, open: number): number {
  let depth = 0;
  let quoted = false;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') quoted = false;
      else if (c === '\n') quoted = false;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === '!' || c === '#') {
      const end = text.indexOf('\n', i);
      if (end === -1) return -1;
      i = end;
    } else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

/** The ldirectord.cf with every checktype line removed and `checktype=on` after each virtual line. */
export function withChecksOn(text: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  for (const line of lines) {
    if (/^\s*checktype\s*=/.test(line)) continue;
    out.push(line);
    if (/^virtual6?\s*=/.test(line)) out.push('\tchecktype=on');
  }
  return out.join('\n');
}
