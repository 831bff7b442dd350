// The shipped examples stay valid: every conf.d/ file (together and each on its own) and the demo,
// whose reals must all live on 127.0.0.1 so that the demo probes nothing but loopback.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIssue, isServiceFileName, loadConfig } from '../../src/config/load.js';
import type { Snapshot } from '../../src/config/model.js';
import { repoRoot } from '../helpers/paths.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function valid(dir: string): Promise<Snapshot> {
  const r = await loadConfig(dir);
  if (!r.ok) assert.fail(`${dir} is not valid:\n${r.issues.map(formatIssue).join('\n')}`);
  return r.snapshot;
}

describe('conf.d examples', () => {
  it('ships the documented examples', async () => {
    const names = (await readdir(join(repoRoot, 'conf.d'))).filter(isServiceFileName).sort();
    assert.deepEqual(names, ['10-web-http.yaml', '20-dns-udp.yaml', '30-smtp-misc.yaml', '40-fwmark.yaml', '50-ipv6.yaml', '60-mail-checks.yaml']);
  });

  it('are valid together (the repository root as a config dir)', async () => {
    const s = await valid(repoRoot);
    assert.deepEqual(s.services.map((x) => x.name), ['web', 'dns-udp', 'dns-tcp', 'smtp', 'shop', 'web6', 'mail']);
    assert.deepEqual(
      s.services.map((x) => x.reals[0]?.check.type),
      ['http', 'dns', 'dns', 'misc', 'https', 'https', 'tcp'],
    );
    assert.deepEqual(s.services.map((x) => x.key), [
      'tcp:192.0.2.10:80',
      'udp:192.0.2.53:53',
      'tcp:192.0.2.53:53',
      'tcp:192.0.2.25:25',
      'fwmark:12:v4',
      'tcp:[2001:db8::10]:443',
      'tcp:192.0.2.26:25',
    ]);
    const mail = s.services[6]!.reals[0]!;
    assert.deepEqual(mail.checks?.map((c) => c.type), ['tcp', 'http'], 'the mail example has two checks per real');
  });

  for (const name of ['10-web-http.yaml', '20-dns-udp.yaml', '30-smtp-misc.yaml', '40-fwmark.yaml', '50-ipv6.yaml', '60-mail-checks.yaml']) {
    it(`${name} is valid on its own`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'lvsd-example-'));
      dirs.push(dir);
      await mkdir(join(dir, 'conf.d'));
      await copyFile(join(repoRoot, 'conf.d', name), join(dir, 'conf.d', name));
      assert.ok((await valid(dir)).services.length >= 1);
    });
  }
});

describe('examples/demo', () => {
  const demo = join(repoRoot, 'examples', 'demo');

  it('is valid, listens on 127.0.0.1:9716 and keeps its state under examples/demo/state', async () => {
    const s = await valid(demo);
    assert.deepEqual(s.global.listen, { host: '127.0.0.1', port: 9716 });
    assert.equal(s.global.stateDir, join(demo, 'state'));
    assert.equal(s.global.logLevel, 'info');
    assert.ok(s.services.length >= 1);
  });

  it('has every real, sorry server and VIP on 127.0.0.1, so a dry run probes nothing but loopback', async () => {
    const s = await valid(demo);
    const hosts = s.services.flatMap((svc) => [
      ...(svc.kind === 'address' ? [svc.vip.host] : []),
      ...svc.reals.map((r) => r.address.host),
      ...svc.sorry.map((r) => r.address.host),
    ]);
    assert.ok(hosts.length >= 4);
    assert.deepEqual([...new Set(hosts)], ['127.0.0.1']);
    assert.ok(s.services.every((svc) => svc.kind === 'address'));
    // Checks go to the real's address; none may name another host (misc programs could).
    assert.ok(s.services.every((svc) => svc.reals.every((r) => r.check.type !== 'misc')));
  });
});
