// `lvsd convert`: ldirectord.cf or keepalived.conf → lvsd.yaml + conf.d/NAME.yaml, with every
// directive not carried over exactly reported as FILE:LINE: warning and left as a comment.

import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LvsdError } from '../errors.js';
import { formatIssue, loadConfig } from '../config/load.js';
import { convert, detectFormat } from '../convert/index.js';
import type { ConvertResult, Format } from '../convert/index.js';
import { formatDiagnostic, formatParseError } from '../convert/model.js';
import type { OutService } from '../convert/model.js';
import { writeDoc } from '../convert/writer.js';
import { withoutVirtualServers } from '../convert/keep-vrrp.js';
import { newBudget, readInput } from '../convert/input-file.js';
import { defaultInstance } from '../convert/keepalived-parse.js';
import { LIMITS, formatBytes } from '../config/limits.js';
import type { ConfigIssue } from '../config/load.js';
import { EXIT_FAILURE, EXIT_OK } from './args.js';
import type { Command } from './command.js';

const HELP = `Usage: lvsd convert [--from ldirectord|keepalived] FILE --out DIR [options]

Convert an ldirectord.cf or keepalived.conf into DIR/lvsd.yaml and DIR/conf.d/NAME.yaml (one file
per virtual service, each headed by the FILE:LINE it came from). The format is detected when
--from is absent. Every directive not carried over exactly is printed as FILE:LINE: warning: ...
on stderr and left as a "# lvsd convert:" comment in the YAML. The output is written to a
temporary directory, validated as check-config would, and moved into DIR only when whole and valid.

Options:
      --from FORMAT      ldirectord or keepalived (default: detected)
      --out DIR          output directory, or - to print the YAML on stdout
      --keep-vrrp FILE   (keepalived) also write FILE: the keepalived.conf without its
                         virtual_server blocks, so keepalived keeps doing VRRP only
      --instance ID      (keepalived) the config id keepalived runs with (its -i; default:
                         this host's name up to the first dot): decides @ID lines and \${_INSTANCE}
      --force            overwrite existing files in DIR
  -h, --help             show this help
`;

export const convertCommand: Command = {
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
          instance: { type: 'string' },
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
    const budget = newBudget();
    const input = readInput(file, budget, false);
    if (!input.ok) {
      process.stderr.write(input.line > 0 ? `${file}:${input.line}:${input.col}: error: ${input.message}\n` : `${file}: error: ${input.message}\n`);
      process.stderr.write('1 error: nothing written\n');
      return EXIT_FAILURE;
    }
    const text = input.text;
    const format: Format | null = (values.from as Format | undefined) ?? detectFormat(text);
    if (format === null) {
      process.stderr.write(`${file}:1:1: error: cannot tell whether this is an ldirectord.cf or a keepalived.conf; give --from\n`);
      return EXIT_FAILURE;
    }
    if (values['keep-vrrp'] !== undefined && format !== 'keepalived') throw new LvsdError('LVSD_USAGE', '--keep-vrrp applies to keepalived.conf only');

    if (values.instance !== undefined && format !== 'keepalived') throw new LvsdError('LVSD_USAGE', '--instance applies to keepalived.conf only');
    const result = await convert(format, file, text, { budget, instance: values.instance ?? defaultInstance() });
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
    const tooLarge = sizeProblem(files);
    if (tooLarge) {
      process.stderr.write(`lvsd convert: error: ${tooLarge}; nothing written\n`);
      return EXIT_FAILURE;
    }
    const toStdout = values.out === '-';
    const target = resolve(toStdout ? '.' : values.out);
    if (!toStdout && values.force !== true) {
      for (const rel of files.keys()) {
        if (await exists(join(target, rel))) {
          process.stderr.write(`lvsd convert: ${join(values.out, rel)} exists; remove it, choose another --out, or give --force\n`);
          return EXIT_FAILURE;
        }
      }
    }
    // Written beside the target (same file system, so the move is a rename), validated, then moved.
    const home = toStdout ? tmpdir() : dirname(target);
    await mkdir(home, { recursive: true });
    const tmp = await mkdtemp(join(home, `.${toStdout ? 'stdout' : basename(target)}.lvsd-convert-`));
    try {
      await mkdir(join(tmp, 'conf.d'));
      for (const [rel, body] of files) await writeFile(join(tmp, rel), body);
      // The promise of convert: what it writes passes check-config as it is, programs not
      // installed on this machine aside (warned above; check-config on the director judges them).
      const allowed = new Set(result.missingPrograms.flatMap((p) => [p, isAbsolute(p) || !p.includes('/') ? p : resolve(tmp, p)]));
      const check = await loadConfig(tmp, { allowMissingPrograms: allowed });
      if (!check.ok) {
        for (const i of check.issues) process.stderr.write(`${formatIssue(relocate(i, tmp, toStdout ? '(stdout)' : values.out))}\n`);
        const limits = check.issues.every((i) => i.message.startsWith('too large') || i.message.startsWith('too deeply'));
        process.stderr.write(
          limits
            ? 'lvsd convert: error: the output exceeds the limits of an lvsd configuration (see README "Limits"); nothing written\n'
            : 'lvsd convert: the output does not pass check-config (a bug in lvsd convert: please report it with the input); nothing written\n',
        );
        return EXIT_FAILURE;
      }
      if (toStdout) {
        process.stdout.write([...files].map(([rel, body]) => `# ==> ${rel} <==\n${body}`).join('---\n'));
      } else if (!(await exists(target))) {
        await rename(tmp, target);
      } else {
        await mkdir(join(target, 'conf.d'), { recursive: true });
        for (const rel of files.keys()) await rename(join(tmp, rel), join(target, rel));
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    const dir = values.out;
    if (values['keep-vrrp'] !== undefined) {
      const kept = withoutVirtualServers(text, file);
      const dest = values['keep-vrrp'];
      await writeFile(`${dest}.lvsd-convert-tmp`, kept.text);
      await rename(`${dest}.lvsd-convert-tmp`, dest);
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

/** The output against conf.d's limits, before anything is written: the real cause, named. */
function sizeProblem(files: ReadonlyMap<string, string>): string | null {
  let total = 0;
  for (const [rel, body] of files) {
    const n = Buffer.byteLength(body);
    if (n > LIMITS.fileBytes) return `too large: ${rel} would be ${formatBytes(n)}, over the ${formatBytes(LIMITS.fileBytes)} an lvsd configuration file may hold (see README "Limits")`;
    total += n;
  }
  if (total > LIMITS.totalBytes) {
    return `too large: the output would be ${formatBytes(total)} in ${files.size.toLocaleString('en')} files, over the ${formatBytes(LIMITS.totalBytes)} an lvsd configuration may hold in all (see README "Limits")`;
  }
  return null;
}

/** An issue found in the temporary directory, told at the place the file was going to be written. */
function relocate(i: ConfigIssue, tmp: string, out: string): ConfigIssue {
  return i.file.startsWith(tmp) ? { ...i, file: join(out, i.file.slice(tmp.length)) } : i;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}
