// Fault-suite helpers: the fake ipvsadm in a scratch dir, a gated ipvsadm that stops at a chosen
// command until the test lets it go, and /proc readers for leaked fds and child processes.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fixturesDir } from './paths.js';
import { eventually } from './daemon-process.js';

export const FOREIGN = '-A -u 192.0.2.200:53 -s rr\n-a -u 192.0.2.200:53 -r 198.51.100.7:53 -g -w 3\n';

export interface FakeIpvs {
  readonly env: NodeJS.ProcessEnv;
  /** `ipvsadm -Sn` of the fake table, byte for byte. */
  save(): string;
  runs(): Promise<{ argv: string[]; stdin: string | null }[]>;
}

/** The fake ipvsadm with its table and run log in `dir`; `seed` is -Sn text. */
export async function fakeIpvs(dir: string, seed: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<FakeIpvs> {
  const state = join(dir, 'ipvs-state');
  const log = join(dir, 'ipvs-log');
  await writeFile(state, seed);
  const env = {
    PATH: `${join(fixturesDir, 'bin')}:${process.env.PATH ?? ''}`,
    LVSD_FAKE_IPVS_STATE: state,
    LVSD_FAKE_IPVS_LOG: log,
    ...extraEnv,
  };
  return {
    env,
    save() {
      const r = spawnSync(join(fixturesDir, 'bin', 'ipvsadm'), ['-Sn'], { env: { ...process.env, ...env, LVSD_FAKE_IPVS_FAIL: '' }, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    },
    async runs() {
      const text = await readFile(log, 'utf8').catch(() => '');
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { argv: string[]; stdin: string | null });
    },
  };
}

export interface Gate {
  /** Path of the gated ipvsadm script (put it in lvsd.yaml's `ipvsadm:`). */
  readonly path: string;
  /** Resolves with the pid of the ipvsadm that reached the gate (the n-th time, default first). */
  entered(n?: number): Promise<number>;
  /** Let every waiting and future run through. */
  open(): Promise<void>;
  /** Start gating (for a gate made with `armed: false`). */
  arm(): Promise<void>;
}

/**
 * An ipvsadm that, when its first argument is `when` (e.g. "--version", "-R"), records its pid and
 * waits until the gate is opened, then runs the fake. Other commands go straight to the fake.
 */
export async function gatedIpvsadm(dir: string, when: string, options: { readonly armed?: boolean } = {}): Promise<Gate> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'ipvsadm-gated');
  const entered = join(dir, 'gate-entered');
  const opened = join(dir, 'gate-open');
  const armed = join(dir, 'gate-armed');
  if (options.armed !== false) await writeFile(armed, '');
  await writeFile(
    path,
    `#!/bin/sh
if [ "$1" = "${when}" ] && [ -e "${armed}" ] && [ ! -e "${opened}" ]; then
  echo $$ >> "${entered}"
  while [ ! -e "${opened}" ]; do sleep 0.02; done
fi
exec "${join(fixturesDir, 'bin', 'ipvsadm')}" "$@"
`,
  );
  await chmod(path, 0o755);
  return {
    path,
    async entered(n = 1) {
      return eventually(async () => {
        const pids = (await readFile(entered, 'utf8').catch(() => '')).split('\n').filter(Boolean);
        return pids.length >= n ? Number(pids[n - 1]) : undefined;
      }, `ipvsadm ${when} at the gate`);
    },
    async open() {
      await writeFile(opened, '');
    },
    async arm() {
      await writeFile(armed, '');
    },
  };
}

/** Whether `pid` is a live process (a zombie counts as gone). */
export async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (stat === null) return false;
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

/** Resolves once `pid` is gone (bounded by eventually's limit). */
export async function gone(pid: number, what: string): Promise<void> {
  await eventually(async () => ((await alive(pid)) ? undefined : true), `${what} (pid ${pid}) to be gone`);
}

/** Open file descriptors of `pid`. */
export async function fdCount(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`)).length;
}

/** Live child processes of `pid` (any process group), by their command names. */
export async function children(pid: number): Promise<{ pid: number; comm: string }[]> {
  const out: { pid: number; comm: string }[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => null);
    if (stat === null) continue;
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    if (Number(fields[1]) === pid && fields[0] !== 'Z') out.push({ pid: Number(name), comm: stat.slice(stat.indexOf('(') + 1, close) });
  }
  return out;
}
