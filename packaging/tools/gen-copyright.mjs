// Writes the Debian machine-readable copyright file (also the rpm's %license file) for lvsd,
// every npm package esbuild put into the bundle (as listed by the bundle's metafile), and the
// Node.js runtime the packages carry, with Node.js's LICENSE (the licences of the libraries built
// into it) in full.
// Usage: node packaging/tools/gen-copyright.mjs METAFILE OUT NODE_LICENSE RUNTIME_ENV

import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const [metaPath, outPath, nodeLicensePath, runtimeEnvPath] = process.argv.slice(2);
if (!metaPath || !outPath || !nodeLicensePath || !runtimeEnvPath) {
  process.stderr.write('usage: gen-copyright.mjs METAFILE OUT NODE_LICENSE RUNTIME_ENV\n');
  process.exit(2);
}

// npm's SPDX identifiers to Debian's short names (copyright-format 1.0, "License specification").
const DEBIAN_NAME = { MIT: 'Expat', ISC: 'ISC', 'Apache-2.0': 'Apache-2.0', 'BSD-2-Clause': 'BSD-2-clause', 'BSD-3-Clause': 'BSD-3-clause', '0BSD': '0BSD' };

const LICENSE_TEXT = {
  'GPL-2+': ` This program is free software; you can redistribute it and/or modify it under
 the terms of the GNU General Public License as published by the Free Software
 Foundation; either version 2 of the License, or (at your option) any later
 version.
 .
 This program is distributed in the hope that it will be useful, but WITHOUT ANY
 WARRANTY; without even the implied warranty of MERCHANTABILITY or FITNESS FOR A
 PARTICULAR PURPOSE. See the GNU General Public License for more details.
 .
 On Debian systems, the complete text of the GNU General Public License version 2
 can be found in "/usr/share/common-licenses/GPL-2".`,
  'Apache-2.0': ` Licensed under the Apache License, Version 2.0 (the "License"); you may not use
 this file except in compliance with the License. You may obtain a copy of the
 License at http://www.apache.org/licenses/LICENSE-2.0
 .
 Unless required by applicable law or agreed to in writing, software distributed
 under the License is distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR
 CONDITIONS OF ANY KIND, either express or implied. See the License for the
 specific language governing permissions and limitations under the License.
 .
 On Debian systems, the complete text of the Apache License 2.0 can be found in
 "/usr/share/common-licenses/Apache-2.0".`,
  Expat: ` Permission is hereby granted, free of charge, to any person obtaining a copy of
 this software and associated documentation files (the "Software"), to deal in
 the Software without restriction, including without limitation the rights to
 use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of
 the Software, and to permit persons to whom the Software is furnished to do so,
 subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in all
 copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS
 FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
 COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN
 AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION
 WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.`,
  ISC: ` Permission to use, copy, modify, and/or distribute this software for any purpose
 with or without fee is hereby granted, provided that the above copyright notice
 and this permission notice appear in all copies.
 .
 THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES WITH
 REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF MERCHANTABILITY AND
 FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR ANY SPECIAL, DIRECT,
 INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES WHATSOEVER RESULTING FROM LOSS
 OF USE, DATA OR PROFITS, WHETHER IN AN ACTION OF CONTRACT, NEGLIGENCE OR OTHER
 TORTIOUS ACTION, ARISING OUT OF OR IN CONNECTION WITH THE USE OR PERFORMANCE OF
 THIS SOFTWARE.`,
};

/** The "Copyright ..." lines of a package's LICENSE file, else its author, else a generic holder. */
function holders(dir, pkg) {
  const files = readdirSync(dir).filter((f) => /^(licen[cs]e|copying)/i.test(f));
  const lines = [];
  for (const f of files) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const t = line.trim();
      if (/^Copyright\b/.test(t) && !/\[yyyy\]|copyright owner|License/i.test(t)) lines.push(t.replace(/^Copyright\s*(\(c\)|©)?\s*/i, ''));
    }
  }
  if (lines.length) return [...new Set(lines)];
  const author = typeof pkg.author === 'string' ? pkg.author : pkg.author?.name;
  return [author ? `${author}` : `the ${pkg.name} authors`];
}

const meta = JSON.parse(readFileSync(metaPath, 'utf8'));
const packages = new Map();
for (const input of Object.keys(meta.inputs)) {
  const m = input.match(/^(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//);
  if (m && !packages.has(m[2])) packages.set(m[2], resolve(root, m[1]));
}

const lvsd = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const used = new Set(['GPL-2+']);
const stanzas = [];
for (const [name, dir] of [...packages].sort(([a], [b]) => (a < b ? -1 : 1))) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const license = DEBIAN_NAME[pkg.license];
  if (!license || !LICENSE_TEXT[license]) throw new Error(`${name}: license "${pkg.license}" has no text in gen-copyright.mjs; add it`);
  used.add(license);
  stanzas.push(
    `Files: node_modules/${name}/*\nCopyright: ${holders(dir, pkg).join('\n ')}\nLicense: ${license}\nComment: ${name} ${pkg.version}, bundled into /usr/lib/lvsd/lvsd.js`,
  );
}

// The runtime (packaging/stage-runtime.sh): Node.js itself is MIT (Expat); its LICENSE file holds
// that licence and, after it, the licences of V8, libuv, OpenSSL, ICU, zlib and the other
// libraries built into the binary, each in full.
const runtime = Object.fromEntries(
  readFileSync(runtimeEnvPath, 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
const nodeLicense = readFileSync(nodeLicensePath, 'utf8');
if (!/Copyright Node\.js contributors/.test(nodeLicense)) throw new Error(`${nodeLicensePath} is not Node.js's LICENSE`);
used.add('Expat');
/** Text as a copyright-format paragraph body: every line indented, empty lines as " .". */
const asParagraph = (text) => text.replace(/\s+$/, '').split('\n').map((l) => (l.trim() === '' ? ' .' : ` ${l.replace(/\s+$/, '')}`)).join('\n');
const runtimeStanza =
  `Files: usr/lib/lvsd/node\nCopyright: Node.js contributors\n Joyent, Inc. and other Node contributors\nLicense: Expat and Node.js-third-party\n` +
  `Comment: Node.js ${runtime.NODE_VERSION} (linux-${runtime.NODE_ARCH}), the runtime that runs lvsd.js, copied\n from the machine that built this package, without its debug symbols. Node.js\n is MIT licensed (Expat); the libraries built into it are under their own\n licences, given in full in the Node.js-third-party paragraph below (Node.js's\n LICENSE file, as distributed with that binary).`;

const out = [
  `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: lvsd\nComment: /usr/lib/lvsd/lvsd-main.js is lvsd and the npm packages listed below, bundled with esbuild;\n /usr/lib/lvsd/node is the Node.js runtime that runs it (through the entry lvsd.js).`,
  `Files: *\nCopyright: the lvsd developers\nLicense: GPL-2+`,
  ...stanzas,
  runtimeStanza,
  ...[...used].map((l) => `License: ${l}\n${LICENSE_TEXT[l]}`),
  `License: Node.js-third-party\n${asParagraph(nodeLicense)}`,
].join('\n\n');
if (lvsd.license !== 'GPL-2.0-or-later') throw new Error(`package.json license is ${lvsd.license}; update gen-copyright.mjs`);
writeFileSync(outPath, `${out}\n`);
