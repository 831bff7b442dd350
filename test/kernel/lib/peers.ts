// The tools lvsd replaces, run as child processes by the convert equivalence tests: keepalived
// (checker process only) and ldirectord, each optionally inside a network namespace, with their
// output in /vmout/logs/LABEL.log.

import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { vmLogDir } from './exec.js';
import { spawnTracked } from './servers.js';

export function spawnLogged(label: string, file: string, args: string[]): ChildProcess {
  const child = spawnTracked(file, args);
  const log = vmLogDir === null ? null : createWriteStream(join(vmLogDir, `${label}.log`), { flags: 'a' });
  child.stdout?.on('data', (c: Buffer) => log?.write(c));
  child.stderr?.on('data', (c: Buffer) => log?.write(c));
  child.once('close', (code, signal) => log?.end(`--- exited code=${code} signal=${signal}\n`));
  return child;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await closed;
  clearTimeout(timer);
}

/** `ip netns exec NS` in front of a command when a namespace is given (exec: the pid is the tool's). */
function inNs(ns: string | undefined, file: string, args: string[]): [string, string[]] {
  return ns === undefined ? [file, args] : ['ip', ['netns', 'exec', ns, file, ...args]];
}

/** keepalived's checker process only (--check: no VRRP), in the foreground, pid files under `dir`. */
export function startKeepalived(label: string, conf: string, dir: string, ns?: string): ChildProcess {
  const args = [
    '--dont-fork', '--log-console', '--check', '--use-file', conf,
    '--pid', join(dir, `${label}.pid`), '--checkers_pid', join(dir, `${label}.checkers.pid`), '--vrrp_pid', join(dir, `${label}.vrrp.pid`),
  ];
  return spawnLogged(label, ...inNs(ns, '/usr/sbin/keepalived', args));
}

/** ldirectord in the foreground (-d); its pid file is named after the config's basename. */
export function startLdirectord(label: string, conf: string, ns?: string): ChildProcess {
  return spawnLogged(label, ...inNs(ns, '/usr/sbin/ldirectord', ['-d', conf, 'start']));
}
