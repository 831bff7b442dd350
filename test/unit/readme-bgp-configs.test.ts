// README.md's copy-paste BGP configs ("More than one director") are the texts the kernel test
// (test/kernel/announce-bgp.test.ts) runs: the templates of test/kernel/lib/bgp-configs.ts,
// rendered with the README's example values (the test adds only short timers and a log line).
// A README edit that drifts from what is exercised fails here.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { directorBirdConf, directorExabgpConf, lvsdAnnounceYaml, routerBirdConf } from '../kernel/lib/bgp-configs.js';
import { repoRoot } from '../helpers/paths.js';
import { formatIssue, loadConfig } from '../../src/config/load.js';

/** The README's example network: router 10.0.0.254 (AS 65000), directors 10.0.0.1 and 10.0.0.2 (AS 65001). */
const EXAMPLE = { router: '10.0.0.254', routerAs: 65000, directors: ['10.0.0.1', '10.0.0.2'], directorAs: 65001, vips: '192.0.2.0/24' };
const DIRECTOR = EXAMPLE.directors[0] as string;

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function readmeBlocks(): Promise<string[]> {
  const text = await readFile(join(repoRoot, 'README.md'), 'utf8');
  const start = text.indexOf('### Several directors behind a router (BGP, ECMP)');
  assert.ok(start >= 0, 'README has the BGP section');
  const end = text.indexOf('\n### ', start + 4);
  const section = text.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
}

const rendered = {
  'lvsd.yaml (bird)': lvsdAnnounceYaml({ backend: 'bird', holdDown: '10s' }),
  'bird.conf on director 10.0.0.1': directorBirdConf({
    routerId: DIRECTOR,
    localAddress: DIRECTOR,
    localAs: EXAMPLE.directorAs,
    neighbor: EXAMPLE.router,
    neighborAs: EXAMPLE.routerAs,
    interface: 'lvsd0',
  }),
  'lvsd.yaml (exabgp)': lvsdAnnounceYaml({ backend: 'exabgp', holdDown: '10s', socketGroup: 'exabgp' }),
  'exabgp.conf on director 10.0.0.1': directorExabgpConf({
    routerId: DIRECTOR,
    localAddress: DIRECTOR,
    localAs: EXAMPLE.directorAs,
    neighbor: EXAMPLE.router,
    neighborAs: EXAMPLE.routerAs,
    run: '/usr/bin/lvsd exabgp-bridge',
  }),
  "the router's bird.conf": routerBirdConf({
    routerId: EXAMPLE.router,
    localAs: EXAMPLE.routerAs,
    peers: EXAMPLE.directors.map((address, i) => ({ name: `director_${'ab'[i]}`, address, as: EXAMPLE.directorAs })),
    vips: EXAMPLE.vips,
  }),
};

describe('README: the BGP set-up is the one the kernel test runs', () => {
  for (const [what, text] of Object.entries(rendered)) {
    it(`shows ${what} as rendered by test/kernel/lib/bgp-configs.ts`, async () => {
      const blocks = await readmeBlocks();
      assert.ok(blocks.includes(text), `README's BGP section has no block equal to:\n${text}\nblocks:\n${blocks.join('---\n')}`);
    });
  }

  it('the lvsd.yaml blocks load as valid global files (with a service on the example VIP)', async () => {
    for (const text of [rendered['lvsd.yaml (bird)'], rendered['lvsd.yaml (exabgp)']]) {
      const dir = await mkdtemp(join(tmpdir(), 'lvsd-readme-bgp-'));
      dirs.push(dir);
      await mkdir(join(dir, 'conf.d'));
      await writeFile(join(dir, 'lvsd.yaml'), text);
      await writeFile(join(dir, 'conf.d', 'web.yaml'), 'name: web-http\naddress: 192.0.2.10:80\nreals: [{ address: 10.0.1.11:80 }]\n');
      const r = await loadConfig(dir);
      if (!r.ok) assert.fail(r.issues.map(formatIssue).join('\n'));
      assert.ok(r.snapshot.global.announce, 'announce is configured');
    }
  });

  it('the test adds only short timers to the BIRD configs', () => {
    const o = { routerId: '10.0.0.1', localAddress: '10.0.0.1', localAs: 1, neighbor: '10.0.0.254', neighborAs: 2, interface: 'lvsd0' };
    const fast = directorBirdConf({ ...o, fast: true }).split('\n');
    const plain = directorBirdConf(o).split('\n');
    assert.deepEqual(fast.filter((l) => !plain.includes(l)), ['  connect retry time 1;', '  connect delay time 1;', '  error wait time 1, 5;']);
    assert.deepEqual(plain.filter((l) => !fast.includes(l)), []);
  });
});
