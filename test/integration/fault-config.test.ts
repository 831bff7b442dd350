// Fault suite, config bombs: a running daemon (a child process, --dry-run) is fed hostile or odd
// conf.d content. Each case asserts the daemon is alive, the last good config is in force (via
// /status), the rejection is positioned, and no file descriptor is left behind. check-config on each
// bomb exits 1 with a positioned message under a small heap.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, open, readdir, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConfigDir, DaemonProcess } from '../helpers/daemon-process.js';
import { configDir, eventually, runLvsd, startDaemon } from '../helpers/daemon-process.js';

interface Status {
  config: { files: string[]; hash: string; services: number; last_reload: { ok: boolean; changed: boolean; reason: string; issues: { file: string; line: number; col: number; message: string }[] } };
  services: { name: string; total_reals: number; reals: { real: string; weight: { config: number } }[] }[];
}

const service = (name: string, vip: string, weight = 1): string =>
  `name: ${name}\naddress: ${vip}\nforwarding: masq\ncheck: { type: none }\nreals:\n  - { address: 10.0.0.1:80, weight: ${weight} }\n`;

/** A 10-level alias bomb: 10^10 nodes once expanded, 200 bytes written. */
function aliasBomb(): string {
  let text = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
  for (let i = 1; i < 10; i++) text += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
  return `${text}address: 192.0.2.99:80\nreals: *a9\n`;
}

/** ~50 MB of valid YAML: one service with 1.2 M reals (what once took 4.35 GB and aborted). */
async function writeHugeFile(path: string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.write('address: 192.0.2.98:80\nforwarding: masq\nreals:\n');
    let chunk = '';
    for (let i = 0; i < 1_200_000; i++) {
      chunk += `  - { address: 10.${i >> 16}.${(i >> 8) & 255}.${i & 255}:8080 }\n`;
      if (chunk.length > 1 << 20) {
        await fh.write(chunk);
        chunk = '';
      }
    }
    await fh.write(chunk);
  } finally {
    await fh.close();
  }
}

const fdCount = async (pid: number): Promise<number> => (await readdir(`/proc/${pid}/fd`)).length;

interface Running {
  cfg: ConfigDir;
  daemon: DaemonProcess;
  confD: string;
  status(): Promise<Status>;
  /** Waits until a reload that started after this call has finished, and returns the status then. */
  reloadAfter(action: () => Promise<void>, what: string, done?: (s: Status) => boolean): Promise<Status>;
  baselineFds: number;
  stop(): Promise<void>;
}

async function startRunning(files: Record<string, string>): Promise<Running> {
  const cfg = await configDir(files);
  const daemon = startDaemon(cfg.dir, ['--dry-run']);
  await daemon.waitForLog((l) => l.msg === 'watching the configuration for changes', 'the config watcher');
  const pid = daemon.child.pid!;
  const status = async (): Promise<Status> => {
    const res = await fetch(`http://${cfg.listen}/status`);
    assert.equal(res.status, 200);
    return (await res.json()) as Status;
  };
  const finished = new Set(['configuration reloaded', 'configuration unchanged']);
  const reloads = (): number => daemon.logs.filter((l) => finished.has(String(l.msg)) || String(l.msg).startsWith('configuration rejected')).length;
  return {
    cfg,
    daemon,
    confD: join(cfg.dir, 'conf.d'),
    status,
    baselineFds: await fdCount(pid),
    async reloadAfter(action, what, done = () => true) {
      const seen = reloads();
      await action();
      return eventually(async () => {
        if (reloads() <= seen) return undefined;
        const s = await status();
        return done(s) ? s : undefined;
      }, what);
    },
    async stop() {
      const code = await daemon.stop();
      await cfg.remove();
      assert.equal(code, 0, daemon.stderr());
    },
  };
}

/** The daemon is alive, still runs `names`, and holds no more descriptors than at start. */
async function assertSurvived(r: Running, names: string[]): Promise<void> {
  assert.equal(r.daemon.child.exitCode, null, 'the daemon is alive');
  const s = await r.status();
  assert.deepEqual(s.services.map((x) => x.name).sort(), [...names].sort());
  // Descriptors opened for the reload are closed once it is over (bounded wait, no timing asserted).
  await eventually(async () => ((await fdCount(r.daemon.child.pid!)) <= r.baselineFds ? true : undefined), `file descriptors back to ${r.baselineFds}`);
}

describe('fault suite: config bombs against a running daemon', { concurrency: false }, () => {
  it('YAML alias bomb: rejected at its position, the running config stays, the bomb removed is forgotten', async () => {
    const r = await startRunning({ 'web.yaml': service('web', '192.0.2.10:80') });
    try {
      const s = await r.reloadAfter(() => writeFile(join(r.confD, 'bomb.yaml'), aliasBomb()), 'the bomb rejected');
      assert.equal(s.config.last_reload.ok, false);
      const issue = s.config.last_reload.issues[0]!;
      assert.equal(issue.file, join(r.confD, 'bomb.yaml'));
      assert.ok(issue.line > 0, 'positioned');
      assert.match(issue.message, /too large: .*alias \*a\d crosses the limit/);
      await assertSurvived(r, ['web']);
      const back = await r.reloadAfter(() => unlink(join(r.confD, 'bomb.yaml')), 'the bomb gone', (x) => x.config.last_reload.ok);
      assert.equal(back.config.last_reload.ok, true);
      // Regression (issue 18, newcomer list): the repaired config, identical to the running one, was
      // only a debug line ('configuration unchanged'): nothing at info said the config was good again.
      const again = await r.daemon.waitForLog((l) => l.msg === 'configuration valid again', 'the repair said at info');
      assert.equal(again.level, 'info');
      assert.equal(again['changed'], false);
    } finally {
      await r.stop();
    }
  });

  it('regression: a 50 MB file in conf.d no longer stalls and kills the daemon (was: /healthz stalled 2.4 min, 4.35 GB, OOM abort)', async () => {
    const r = await startRunning({ 'web.yaml': service('web', '192.0.2.10:80') });
    try {
      // The file grows over many writes: a reload may see it part-written (an empty `reals:`) before
      // the one that sees it whole, so wait for the outcome of the whole file.
      const s = await r.reloadAfter(
        () => writeHugeFile(join(r.confD, 'huge.yaml')),
        'the huge file rejected',
        (x) => /^too large: /.test(x.config.last_reload.issues[0]?.message ?? ''),
      );
      assert.equal(s.config.last_reload.ok, false);
      assert.match(s.config.last_reload.issues[0]!.message, /^too large: \d+\.\d MiB, the limit is 4\.0 MiB per file/);
      const res = await fetch(`http://${r.cfg.listen}/healthz`);
      await res.arrayBuffer();
      await assertSurvived(r, ['web']);
    } finally {
      await r.stop();
    }
  });

  it('a binary file: rejected at the offending byte, the running config stays', async () => {
    const r = await startRunning({ 'web.yaml': service('web', '192.0.2.10:80') });
    try {
      const s = await r.reloadAfter(() => writeFile(join(r.confD, 'blob.yaml'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0])), 'the binary file rejected');
      assert.deepEqual(s.config.last_reload.issues.map((i) => [i.line, i.col]), [[1, 8]]);
      assert.match(s.config.last_reload.issues[0]!.message, /^not a text file: a NUL byte at byte 7/);
      await assertSurvived(r, ['web']);
    } finally {
      await r.stop();
    }
  });

  it('regression: a *.yaml symlink whose target disappears keeps its service (was: the service was silently deleted on the next reload)', async () => {
    const cfg = { 'web.yaml': service('web', '192.0.2.10:80') };
    const r = await startRunning(cfg);
    try {
      const target = join(r.cfg.dir, 'shared-dns.yaml');
      await writeFile(target, service('dns', '192.0.2.53:53'));
      await r.reloadAfter(() => symlink(target, join(r.confD, 'dns.yaml')), 'the linked service in force', (s) => s.services.length === 2);
      const s = await r.reloadAfter(() => unlink(target), 'the dangling link rejected');
      assert.equal(s.config.last_reload.ok, false);
      assert.match(s.config.last_reload.issues[0]!.message, /^broken symbolic link: its target .*shared-dns\.yaml does not exist/);
      await assertSurvived(r, ['dns', 'web']);
    } finally {
      await r.stop();
    }
  });

  it('a symlink loop: rejected naming the link, the running config stays', async () => {
    const r = await startRunning({ 'web.yaml': service('web', '192.0.2.10:80') });
    try {
      const s = await r.reloadAfter(async () => {
        await symlink('loop-b.yaml', join(r.confD, 'loop-a.yaml'));
        await symlink('loop-a.yaml', join(r.confD, 'loop-b.yaml'));
      }, 'the loop rejected', (x) => x.config.last_reload.issues.length === 2);
      assert.deepEqual(s.config.last_reload.issues.map((i) => i.message), [
        'symbolic link loop (-> loop-b.yaml); fix or remove the link',
        'symbolic link loop (-> loop-a.yaml); fix or remove the link',
      ]);
      await assertSurvived(r, ['web']);
    } finally {
      await r.stop();
    }
  });

  it('1,000 files at once: a few reloads, not one per file, and all 1,001 services in force', async () => {
    const r = await startRunning({ 'web.yaml': service('web', '192.0.2.10:80') });
    try {
      const names = ['web'];
      const before = r.daemon.logs.filter((l) => l.msg === 'configuration reloaded').length;
      const s = await r.reloadAfter(async () => {
        const writes: Promise<void>[] = [];
        for (let i = 0; i < 1000; i++) {
          names.push(`s${i}`);
          writes.push(writeFile(join(r.confD, `s${String(i).padStart(4, '0')}.yaml`), service(`s${i}`, `192.0.${10 + (i >> 8)}.${i & 255}:80`)));
        }
        await Promise.all(writes);
      }, 'all 1,001 services in force', (x) => x.services.length === 1001);
      const reloads = r.daemon.logs.filter((l) => l.msg === 'configuration reloaded').length - before;
      assert.ok(reloads >= 1 && reloads < 20, `${reloads} reloads for 1,000 files`);
      assert.equal(s.config.last_reload.ok, true);
      await assertSurvived(r, names);
    } finally {
      await r.stop();
    }
  });

  it('200 atomic-rename saves in a burst: few reloads, the final content in force', async () => {
    const r = await startRunning({ 'web.yaml': service('web', '192.0.2.10:80') });
    try {
      const before = r.daemon.logs.filter((l) => l.msg === 'configuration reloaded').length;
      const path = join(r.confD, 'web.yaml');
      const s = await r.reloadAfter(async () => {
        for (let i = 1; i <= 200; i++) {
          // What editors and config management do: write a temporary file, rename it over the real one.
          const tmp = join(r.confD, `.web.yaml.tmp${i}`);
          await writeFile(tmp, service('web', '192.0.2.10:80', i));
          await rename(tmp, path);
        }
      }, 'the 200th save in force', (x) => x.services[0]?.reals[0]?.weight.config === 200);
      const reloads = r.daemon.logs.filter((l) => l.msg === 'configuration reloaded').length - before;
      assert.ok(reloads >= 1 && reloads < 50, `${reloads} reloads for 200 saves`);
      assert.equal(s.config.last_reload.ok, true);
      await assertSurvived(r, ['web']);
    } finally {
      await r.stop();
    }
  });

  it('conf.d deleted while running: the running config stays and says so; conf.d back, it is read again', async () => {
    const r = await startRunning({ 'web.yaml': service('web', '192.0.2.10:80') });
    try {
      const s = await r.reloadAfter(() => rm(r.confD, { recursive: true }), 'the missing conf.d rejected');
      assert.equal(s.config.last_reload.ok, false);
      assert.deepEqual(s.config.last_reload.issues.map((i) => [i.file, i.message]), [[r.confD, 'directory not found (services go in conf.d/*.yaml; create it, even empty)']]);
      await r.daemon.waitForLog((l) => String(l.msg).includes('keeping the running configuration'), 'the keep-last-good log line');
      await assertSurvived(r, ['web']);
      const back = await r.reloadAfter(async () => {
        await mkdir(r.confD);
        await writeFile(join(r.confD, 'web.yaml'), service('web', '192.0.2.10:80'));
        await writeFile(join(r.confD, 'dns.yaml'), service('dns', '192.0.2.53:53'));
      }, 'conf.d back with two services', (x) => x.config.last_reload.ok && x.services.length === 2);
      assert.deepEqual(back.services.map((x) => x.name).sort(), ['dns', 'web']);
      // And it is watched again: a later edit is seen.
      await r.reloadAfter(() => writeFile(join(r.confD, 'dns.yaml'), service('dns', '192.0.2.53:53', 7)), 'an edit in the new conf.d', (x) => x.services.find((v) => v.name === 'dns')?.reals[0]?.weight.config === 7);
      await assertSurvived(r, ['dns', 'web']);
    } finally {
      await r.stop();
    }
  });
});

describe('fault suite: check-config on each bomb, under a 64 MB heap', { concurrency: false }, () => {
  let cfg: ConfigDir;
  before(async () => {
    cfg = await configDir({});
  });
  after(async () => cfg.remove());

  const bombs: [string, (confD: string) => Promise<void>, RegExp][] = [
    ['YAML alias bomb', (d) => writeFile(join(d, 'bomb.yaml'), aliasBomb()), /bomb\.yaml:\d+:\d+: too large: .*alias/],
    ['a 50 MB file', (d) => writeHugeFile(join(d, 'huge.yaml')), /huge\.yaml: too large: \d+\.\d MiB/],
    ['a binary file', (d) => writeFile(join(d, 'blob.yaml'), Buffer.from([1, 2, 0, 3])), /blob\.yaml:1:3: not a text file/],
    ['a symlink loop', async (d) => { await symlink('l2.yaml', join(d, 'l1.yaml')); await symlink('l1.yaml', join(d, 'l2.yaml')); }, /l1\.yaml: symbolic link loop/],
    ['a dangling symlink', (d) => symlink('/nonexistent/x.yaml', join(d, 'gone.yaml')), /gone\.yaml: broken symbolic link/],
  ];
  for (const [name, make, want] of bombs) {
    it(`${name}: exit 1 with a positioned message`, async () => {
      const confD = join(cfg.dir, 'conf.d');
      await rm(confD, { recursive: true, force: true });
      await mkdir(confD);
      await make(confD);
      const r = await runLvsd(['check-config', '-c', cfg.dir], { NODE_OPTIONS: '--max-old-space-size=64' });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, want);
      assert.doesNotMatch(r.stderr, /heap out of memory|FATAL ERROR/);
    });
  }
});
