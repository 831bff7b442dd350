// The one place the announce code runs iproute2's `ip`: argv only (no shell), a deadline, and the
// command's own error text in the LvsdError it throws.

import { execFile } from 'node:child_process';
import { LvsdError } from '../errors.js';

export type IpRunner = (args: readonly string[]) => Promise<string>;

const DEADLINE_MS = 10_000;

/** Run `ip ARGS...`; resolves with stdout, rejects with LVSD_ANNOUNCE_FAILED and ip's stderr. */
export function createIpRunner(command = 'ip'): IpRunner {
  return (args) =>
    new Promise((resolve, reject) => {
      execFile(command, args, { timeout: DEADLINE_MS, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const text = String(stderr).trim() || err.message;
        reject(new LvsdError('LVSD_ANNOUNCE_FAILED', `${command} ${args.join(' ')}: ${text}`, { cause: err }));
      });
    });
}
