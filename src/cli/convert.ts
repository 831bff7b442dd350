// `lvsd convert`: ldirectord.cf or keepalived.conf → lvsd.yaml + conf.d/NAME.yaml, with every
// directive not carried over exactly reported as FILE:LINE: warning and left as a comment.

import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LvsdError } from '../errors.js';
import { formatIssue, loadConfig } from '../config/load.js';
import { detectCapabilities } from '../convert/capabilities.js';
import { convert, detectFormat } from '../convert/index.js';
import type { ConvertResult, Format } from '../convert/index.js';
import { formatDiagnostic, formatParseError } from '../convert/model.js';
import type { OutService } from '../convert/model.js';
import { writeDoc } from '../convert/writer.js';
import { withoutVirtualServers } from '../convert/keep-vrrp.js';
import { EXIT_FAILURE, EXIT_OK } from './args.js';
import type { Command } from './command.js';

const HELP = `Usage: lvsd convert [--from ldirectord|keepalived] FILE --out DIR [options]

Convert an ldirectord.cf or keepalived.conf into DIR/lvsd.yaml and DIR/conf.d/NAME.yaml (one file
per virtual service, each headed by the FILE:LINE it came from). The format is detected when
--from is absent. Every directive not carried over exactly is printed as FILE:LINE: warning: ...
on stderr and left as a "# lvsd convert:" comment in the YAML. The output is validated as
check-config would before convert exits 0.

Options:
      --from FORMAT      ldirectord or keepalived (default: detected)
      --out DIR          output directory, or - to print the YAML on stdout
      --keep-vrrp FILE   (keepalived) also write FILE: the keepalived.conf without its
                         virtual_server blocks, so keepalived keeps doing VRRP only
      --force            overwrite existing files in DIR
  -h, --help             show this help
`;

export const convertCommand: Command = {
  summary: 'convert an ldirectord.cf or keepalived.conf into lvsd.yaml and conf.d/',
  help: HELP,
  async execute(argv) {
    let parsed;
    try {
      parsed = parseArgs({
        args: [...argv],
        options: {
          from: { type: 'string' },
          out: { type: 'string', short: 'o' },
          'keep-vrrp': { type: 'string' },
          force: { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
        },
        allowPositionals: true,
        strict: true,
      });
    } catch (err) {
      throw new LvsdError('LVSD_USAGE', (err as Error).message);
    }
    const { values, positionals } = parsed;
    if (positionals.length !== 1) throw new LvsdError('LVSD_USAGE', 'give exactly one FILE to convert');
    if (values.out === undefined) throw new LvsdError('LVSD_USAGE', '--out DIR is required (or --out - to print)');
    if (values.from !== undefined && values.from !== 'ldirectord' && values.from !== 'keepalived') {
      throw new LvsdError('LVSD_USAGE', '--from must be ldirectord or keepalived');
    }
    const file = positionals[0]!;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      process.stderr.write(`${file}: error: cannot read: ${(err as Error).message}\n`);
      return EXIT_FAILURE;
    }
    const format: Format | null = (values.from as Format | undefined) ?? detectFormat(text);
    if (format === null) {
      process.stderr.write(`${file}:1:1: error: cannot tell whether this is an ldirectord.cf or a keepalived.conf; give --from\n`);
      return EXIT_FAILURE;
    }
    if (values['keep-vrrp'] !== undefined && format !== 'keepalived') throw new LvsdError('LVSD_USAGE', '--keep-vrrp applies to keepalived.conf only');

    const result = await convert(format, file, text, detectCapabilities());
    if (!result.ok) {
      for (const e of result.errors) process.stderr.write(`${formatParseError(e)}\n`);
      process.stderr.write(`${result.errors.length} error${result.errors.length === 1 ? '' : 's'}: nothing written\n`);
      return EXIT_FAILURE;
    }
    // In reading order: by file (the input first, then includes), then line.
    const fileRank = (f: string): number => (f === file ? 0 : 1);
    const ordered = [...result.diagnostics].sort((a, b) => fileRank(a.file) - fileRank(b.file) || a.file.localeCompare(b.file) || a.line - b.line);
    for (const d of ordered) process.stderr.write(`${formatDiagnostic(d)}\n`);

    const files = render(result, file);
    const toStdout = values.out === '-';
    const dir = toStdout ? await mkdtemp(join(tmpdir(), 'lvsd-convert-')) : values.out;
    try {
      if (!toStdout && values.force !== true) {
        for (const rel of files.keys()) {
          if (await exists(join(dir, rel))) {
            process.stderr.write(`lvsd convert: ${join(dir, rel)} exists; remove it, choose another --out, or give --force\n`);
            return EXIT_FAILURE;
          }
        }
      }
      await mkdir(join(dir, 'conf.d'), { recursive: true });
      for (const [rel, body] of files) await writeFile(join(dir, rel), body);
      // The promise of convert: what it writes passes check-config as it is.
      const check = await loadConfig(dir);
      if (!check.ok) {
        for (const i of check.issues) process.stderr.write(`${formatIssue(i)}\n`);
        process.stderr.write('lvsd convert: the output does not pass check-config (a bug in lvsd convert: please report it with the input)\n');
        return EXIT_FAILURE;
      }
      if (toStdout) {
        process.stdout.write([...files].map(([rel, body]) => `# ==> ${rel} <==\n${body}`).join('---\n'));
      }
    } finally {
      if (toStdout) await rm(dir, { recursive: true, force: true });
    }
    if (values['keep-vrrp'] !== undefined) {
      const kept = withoutVirtualServers(text, file);
      await writeFile(values['keep-vrrp'], kept.text);
      process.stderr.write(`lvsd convert: wrote ${values['keep-vrrp']} (${kept.removed} virtual_server block${kept.removed === 1 ? '' : 's'} removed)\n`);
    }
    const warnings = result.diagnostics.filter((d) => d.severity === 'warning').length;
    const notes = result.diagnostics.length - warnings;
    const reals = result.services.reduce((n, s) => n + s.reals, 0);
    const summary =
      `${file} (${result.format}): ${result.services.length} service${result.services.length === 1 ? '' : 's'}, ` +
      `${reals} real${reals === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}, ${notes} note${notes === 1 ? '' : 's'}` +
      (toStdout ? '' : `; wrote ${dir}/lvsd.yaml and ${result.services.length} file${result.services.length === 1 ? '' : 's'} in ${dir}/conf.d/ (check-config: OK)`);
    (toStdout ? process.stderr : process.stdout).write(`${summary}\n`);
    return EXIT_OK;
  },
};

/** Output files by path relative to DIR: lvsd.yaml first, then conf.d/NAME.yaml. */
export function render(result: Extract<ConvertResult, { ok: true }>, source: string): Map<string, string> {
  const files = new Map<string, string>();
  files.set('lvsd.yaml', writeDoc(result.global, [`lvsd.yaml written by lvsd convert from ${source} (${result.format})`]));
  for (const s of result.services) files.set(`conf.d/${s.name}.yaml`, renderService(s));
  return files;
}

function renderService(s: OutService): string {
  return writeDoc(s, [`converted by lvsd convert from ${s.file}:${s.line}`]);
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}
