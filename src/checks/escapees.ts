// Finding what a MISC command started outside its process group (setsid, daemonizing helpers):
// every run is tagged with an environment variable its descendants inherit, and /proc tells who
// carries the tag.
//
// Why not only the process group: a child that calls setsid() (or setpgid) leaves the group, so
// the group kill misses it and one survivor per check run piles up. Why not a PID namespace
// (`unshare --pid --fork`, where the kernel kills everything when PID 1 exits): it needs
// CAP_SYS_ADMIN, and the command would see itself as PID 1 and a /proc that does not match.
// What still escapes: a descendant that clears its environment (env -i, a daemon that scrubs it)
// and whatever is not ours to signal; under systemd, the unit's cgroup (KillMode=control-group)
// covers those at stop.

import { readdir, readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';

/** The variable every MISC run's processes inherit; its value is unique per run. */
export const RUN_TAG_VAR = 'LVSD_CHECK_RUN';

let prefix = randomBytes(6).toString('hex');
let counter = 0;

/**
 * Use `value` as this thread's tag prefix: a check engine thread gets one from the control thread,
 * which can then find what the thread's commands left if the thread dies (killTaggedPrefix).
 */
export function setRunTagPrefix(value: string): void {
  prefix = value;
}

/** A fresh prefix for a thread's tags. */
export function newRunTagPrefix(): string {
  return randomBytes(6).toString('hex');
}

/** A fresh tag value for one run. */
export function newRunTag(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${prefix}-${process.pid}-${counter}`;
}

/**
 * SIGKILL every process whose environment carries `RUN_TAG_VAR=tag`. Only pids at or above
 * `minPid` are read (pids are handed out in increasing order, so the run's descendants are there
 * unless the pid counter wrapped meanwhile; then a sweep may miss some, never kill a stranger).
 * Returns the pids signalled. Never throws.
 */
export async function killTagged(tag: string, minPid: number): Promise<number[]> {
  return killMatching(`${RUN_TAG_VAR}=${tag}\0`, minPid);
}

/**
 * SIGKILL every process started by a MISC run whose tag starts with `prefix` (a dead check thread's
 * commands and what they left). Never throws.
 */
export async function killTaggedPrefix(prefix: string): Promise<number[]> {
  return killMatching(`${RUN_TAG_VAR}=${prefix}-`, 0);
}

async function killMatching(variable: string, minPid: number): Promise<number[]> {
  const needle = Buffer.from(`\0${variable}`);
  const first = Buffer.from(variable);
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return [];
  }
  const killed: number[] = [];
  for (const name of entries) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const pid = Number(name);
    if (!(pid >= minPid) || pid === process.pid) continue;
    let env: Buffer;
    try {
      env = await readFile(`/proc/${pid}/environ`);
    } catch {
      continue; // gone, or not ours to read
    }
    if (env.indexOf(needle) === -1 && !env.subarray(0, first.length).equals(first)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // Exited meanwhile.
    }
  }
  return killed;
}
