// Generates the man pages lvsd(8) and lvsd.yaml(5) from the README (intro, command table,
// configuration reference; docs/configuration.md when the reference lives there).
// Usage: node packaging/tools/gen-man.mjs OUT_DIR   (writes OUT_DIR/lvsd.8 and OUT_DIR/lvsd.yaml.5)
// A small Markdown-to-man converter: headings, paragraphs, lists, fenced and indented code, and
// pipe tables (rendered as tagged paragraphs, so no tbl preprocessor is needed).

import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const outDir = resolve(process.argv[2] ?? join(root, 'build/pkg/man'));
mkdirSync(outDir, { recursive: true });

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? Math.floor(Date.now() / 1000));
const date = new Date(epoch * 1000).toISOString().slice(0, 10);

// --- inline text ------------------------------------------------------------------------------

const CHARS = {
  '…': '.\\|.\\|.', '—': '\\(em', '–': '\\(en', '→': '\\(->', '←': '\\(<-', '≥': '\\(>=', '≤': '\\(<=',
  '−': '\\-', '×': '\\(mu', '“': '\\(lq', '”': '\\(rq', '‘': '\\(oq', '’': '\\(cq', '·': '\\(pc', '©': '\\(co',
};

/** "-" as roff's minus (\\-) in literal text, leaving special characters such as \\(-> intact. */
function escapeDashes(text) {
  return text.replace(/\\\(..|-/g, (m) => (m === '-' ? '\\-' : m));
}

function escapeText(s) {
  return s
    .replace(/\\/g, '\\e')
    .replace(/[^\x00-\x7f]/gu, (c) => CHARS[c] ?? `\\[u${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}]`);
}

/** Where a Markdown link points, as a reader of an installed man page can follow it. */
function linkTarget(text, target) {
  if (target.startsWith('#')) return text;
  if (/(^|\/)configuration\.md(#.*)?$/.test(target)) return `${text} (\\fBlvsd.yaml\\fR(5))`;
  if (/^https?:/.test(target)) return `${text} <${target}>`;
  const doc = target.match(/^(?:docs\/)?([\w.-]+\.md)/);
  if (doc) return `${text} (/usr/share/doc/lvsd/${doc[1]})`;
  return text;
}

/** Markdown inline markup to roff: code spans bold, **bold**, *italic*, links as text. */
function inline(md) {
  const parts = md.split(/(`[^`]*`)/);
  return parts
    .map((part) => {
      if (part.startsWith('`') && part.endsWith('`') && part.length >= 2) {
        return `\\fB${escapeDashes(escapeText(part.slice(1, -1)))}\\fR`;
      }
      let t = part.replace(/\[([^\]]+)\]\(([^)]+)\)/g, (_m, text, target) => `\u0000L${text}\u0001${target}\u0002`);
      t = escapeText(t);
      t = t.replace(/\u0000L([^\u0001]*)\u0001([^\u0002]*)\u0002/g, (_m, text, target) => linkTarget(text, target));
      t = t.replace(/\*\*([^*]+)\*\*/g, '\\fB$1\\fR').replace(/(^|[\s(])\*([^*\s][^*]*?)\*(?=$|[\s).,;:])/g, '$1\\fI$2\\fR');
      return t;
    })
    .join('');
}

/** A roff text line must not start with a control character. */
function textLine(s) {
  return /^[.']/.test(s) ? `\\&${s}` : s;
}

function codeLines(lines) {
  return lines.map((l) => textLine(escapeDashes(escapeText(l))));
}

// --- blocks -----------------------------------------------------------------------------------

function splitRow(line) {
  const cells = [];
  let cur = '';
  const body = line.trim().replace(/^\|/, '').replace(/\|$/, '');
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '\\' && body[i + 1] === '|') {
      cur += '|';
      i++;
    } else if (body[i] === '|') {
      cells.push(cur.trim());
      cur = '';
    } else cur += body[i];
  }
  cells.push(cur.trim());
  return cells;
}

const PLAIN_COLUMNS = /^(meaning|what|what it does|notes|what it uses)$/i;

/** A pipe table as tagged paragraphs: the first cell is the tag, the others "Header: value". */
function table(rows) {
  const [header, , ...body] = rows.map(splitRow);
  const out = [];
  for (const row of body) {
    out.push('.TP', textLine(inline(row[0] ?? '')));
    const parts = [];
    for (let i = 1; i < row.length; i++) {
      const cell = row[i];
      if (!cell) continue;
      const h = header[i] ?? '';
      parts.push(PLAIN_COLUMNS.test(h) || !h ? inline(cell) : `\\fI${escapeText(h)}:\\fR ${inline(cell)}`);
    }
    out.push(parts.map(textLine).join('\n.br\n') || '\\&');
  }
  return out;
}

/** Markdown to roff body (no .TH). `shift` maps "##" to .SH when 1, "#" to .SH when 0. */
export function markdownToRoff(md, { shift = 1, skipParagraph = () => false } = {}) {
  const lines = md.replace(/\r/g, '').split('\n');
  const out = [];
  let para = [];
  let list = null; // current list item text lines
  const flushPara = () => {
    if (para.length) {
      const text = para.join(' ');
      if (!skipParagraph(text)) out.push('.PP', textLine(inline(text)));
      para = [];
    }
  };
  const flushList = () => {
    if (list) {
      out.push(list.marker === '-' ? '.IP \\(bu 2' : `.IP ${list.marker} 4`, textLine(inline(list.text.join(' '))));
      list = null;
    }
  };
  const flush = () => {
    flushPara();
    flushList();
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = line.match(/^\s*```/);
    if (fence) {
      flush();
      const code = [];
      for (i++; i < lines.length && !/^\s*```/.test(lines[i]); i++) code.push(lines[i]);
      out.push('.PP', '.RS 4', '.nf', ...codeLines(code), '.fi', '.RE');
      continue;
    }
    const heading = line.match(/^(#{1,4})\s+(.*)$/);
    if (heading) {
      flush();
      const level = heading[1].length - shift;
      if (level <= 0) continue; // the document title: the .TH and NAME say it
      const text = inline(level === 1 ? heading[2].toUpperCase() : heading[2]).replace(/"/g, '""');
      out.push(`${level === 1 ? '.SH' : '.SS'} "${text}"`);
      continue;
    }
    if (/^\s*\|/.test(line) && /^\s*\|?\s*:?-{3,}/.test(lines[i + 1] ?? '')) {
      flush();
      const rows = [];
      for (; i < lines.length && /^\s*\|/.test(lines[i]); i++) rows.push(lines[i]);
      i--;
      out.push(...table(rows));
      continue;
    }
    if (/^ {4}\S/.test(line) && !list && para.length === 0) {
      flush();
      const code = [];
      for (; i < lines.length && (/^ {4}/.test(lines[i]) || (lines[i] === '' && /^ {4}\S/.test(lines[i + 1] ?? ''))); i++) code.push(lines[i].slice(4));
      i--;
      out.push('.PP', '.RS 4', '.nf', ...codeLines(code), '.fi', '.RE');
      continue;
    }
    const item = line.match(/^\s{0,2}([-*]|\d+\.)\s+(.*)$/);
    if (item) {
      flushPara();
      flushList();
      list = { marker: item[1] === '*' ? '-' : item[1], text: [item[2]] };
      continue;
    }
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (list && /^\s+\S/.test(line)) {
      list.text.push(line.trim());
      continue;
    }
    flushList();
    para.push(line.trim());
  }
  flush();
  return out;
}

/** The text of a "## Title" section (without its heading), up to the next heading of that level. */
function section(md, title) {
  const lines = md.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${title}`);
  if (start < 0) throw new Error(`README.md has no "## ${title}" section`);
  // A "# comment" inside a fenced block (YAML, shell) is not a heading.
  let fenced = false;
  let end = lines.findIndex((l, i) => {
    if (/^```/.test(l)) fenced = !fenced;
    return i > start && !fenced && /^##? /.test(l);
  });
  if (end < 0) end = lines.length;
  return lines.slice(start + 1, end).join('\n');
}

function intro(md) {
  const lines = md.split('\n');
  const end = lines.findIndex((l, i) => i > 0 && /^## /.test(l));
  return lines.slice(1, end).join('\n');
}

function header(name, sect, title) {
  return [
    `.\\" Generated by packaging/tools/gen-man.mjs from README.md; do not edit.`,
    `.TH ${name.toUpperCase()} ${sect} "${date}" "lvsd ${pkg.version}" "${title}"`,
  ];
}

// --- lvsd(8) ----------------------------------------------------------------------------------

const readme = readFileSync(join(root, 'README.md'), 'utf8');
const commands = section(readme, 'Commands');
// A row may name a command in several forms (`lvsd disable SERVICE [REAL]`, `lvsd disable --real IP`).
const commandNames = [...commands.matchAll(/^\| `lvsd ([a-z][a-z-]*)[^`]*`[ ,|]/gm)].map((m) => m[1]);
const hasUsr2 = /SIGUSR2/.test(readFileSync(join(root, 'src/cli/run.ts'), 'utf8'));

const lvsd8 = [
  ...header('lvsd', 8, 'System Administration'),
  '.SH NAME',
  'lvsd \\- Linux Virtual Server director daemon: health checks and the kernel IPVS table',
  '.SH SYNOPSIS',
  ...commandNames.flatMap((c) => ['.B lvsd', `.I ${c}`, '.RI [ options ]', '.br']),
  '.B lvsd',
  '.B \\-\\-version',
  '.SH DESCRIPTION',
  ...markdownToRoff(intro(readme)),
  '.SH COMMANDS',
  ...markdownToRoff(commands),
  '.SH CONFIGURATION',
  '.PP',
  'lvsd reads \\fI/etc/lvsd/lvsd.yaml\\fR (global settings, optional) and every \\fI/etc/lvsd/conf.d/*.yaml\\fR, in which every YAML document is one virtual service. \\fB\\-c\\fR \\fIDIR\\fR names another directory. The reference of every key, the merge rules, the validation rules and the mapping from ldirectord and keepalived is \\fBlvsd.yaml\\fR(5); examples are in \\fI/usr/share/doc/lvsd/examples/\\fR.',
  '.SH SIGNALS',
  '.TP',
  '.B SIGHUP',
  'Reload the configuration at once (lvsd also reloads by itself when the files change). An invalid configuration is rejected whole and the running one stays.',
  '.TP',
  '.BR SIGTERM ", " SIGINT',
  'Stop: stop the checks, then remove the virtual services lvsd manages from the kernel, unless \\fBclean_stop\\fR is false.',
  ...(hasUsr2
    ? ['.TP', '.B SIGUSR2', 'Stop without removing anything from the kernel, whatever \\fBclean_stop\\fR says. The next lvsd adopts the table. Package upgrades stop lvsd this way.']
    : []),
  '.SH "EXIT STATUS"',
  '0 on success, 1 on failure (for \\fBcheck\\-config\\fR: the configuration is invalid), 2 on a usage error.',
  '.SH FILES',
  '.TP',
  '.I /etc/lvsd/lvsd.yaml',
  'Global settings (optional); see \\fBlvsd.yaml\\fR(5).',
  '.TP',
  '.I /etc/lvsd/conf.d/*.yaml',
  'Virtual services: every YAML document is one virtual service.',
  '.TP',
  '.I /var/lib/lvsd/',
  'State: the record of which kernel services lvsd owns.',
  '.TP',
  '.I /usr/lib/systemd/system/lvsd.service',
  'The systemd unit.',
  '.TP',
  '.I /etc/ha.d/resource.d/lvsd',
  'The heartbeat resource script (haresources: \\fInode VIP lvsd\\fR).',
  '.TP',
  '.I /usr/lib/ocf/resource.d/lvsd/lvsd',
  'The OCF resource agent for Pacemaker (\\fBocf:lvsd:lvsd\\fR).',
  '.TP',
  '.I /usr/share/doc/lvsd/',
  'Examples, the configuration reference and the notes on systemd, upgrades and clusters (packaging.md).',
  '.SH "SEE ALSO"',
  '.BR lvsd.yaml (5),',
  '.BR ipvsadm (8),',
  '.BR ldirectord (8),',
  '.BR keepalived (8)',
];

// --- lvsd.yaml(5) -----------------------------------------------------------------------------

// The reference is the README's "Configuration reference" section (### subsections), or the older
// docs/configuration.md (## subsections).
const reference = /^## Configuration reference$/m.test(readme)
  ? { md: section(readme, 'Configuration reference'), shift: 2 }
  : { md: readFileSync(join(root, 'docs/configuration.md'), 'utf8'), shift: 1 };
const lvsdYaml5 = [
  ...header('lvsd.yaml', 5, 'File Formats'),
  '.SH NAME',
  'lvsd.yaml \\- lvsd configuration: global settings and virtual services (conf.d)',
  '.SH SYNOPSIS',
  '.I /etc/lvsd/lvsd.yaml',
  '.br',
  '.I /etc/lvsd/conf.d/*.yaml',
  '.SH DESCRIPTION',
  ...markdownToRoff(reference.md, { shift: reference.shift, skipParagraph: (t) => t.startsWith('Contents:') }),
  '.SH "SEE ALSO"',
  '.BR lvsd (8),',
  '.BR ipvsadm (8)',
];

writeFileSync(join(outDir, 'lvsd.8'), `${lvsd8.join('\n')}\n`);
writeFileSync(join(outDir, 'lvsd.yaml.5'), `${lvsdYaml5.join('\n')}\n`);
