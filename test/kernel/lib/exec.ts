// Running commands from kernel tests: one promise per command, stderr in the error message, a
// timeout on every call (TCG emulation is slow, but nothing may hang a test run forever).

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

/** True inside the kernel-test VM (set by test/kernel/vm/stage2.sh); tests skip elsewhere. */
export const inKernelVm = process.env['LVSD_KERNEL_VM'] === '1';

/** For `describe(name, { skip: skipOutsideVm }, ...)`: never touch the host's network or IPVS. */
export const skipOutsideVm: string | false = inKernelVm
  ? false
  : 'kernel tests run only inside the test VM (npm run test:kernel)';

/** Where helpers write process logs worth reading after a run (the host's test-output/kernel). */
export const vmLogDir: string | null = inKernelVm && existsSync('/vmout/logs') ? '/vmout/logs' : null;

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

export interface RunOptions {
  /** Resolve with the non-zero code instead of rejecting. */
  readonly allowFail?: boolean;
  readonly timeoutMs?: number;
  readonly input?: string;
}

export class CommandError extends Error {
  constructor(
    message: string,
    readonly result: RunResult,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

/** Runs `file args...` (no shell); rejects with stderr when it fails, unless `allowFail`. */
export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeout = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { timeout, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean }) | null;
        const code = e === null ? 0 : typeof e.code === 'number' ? e.code : -1;
        const result: RunResult = { stdout, stderr, code };
        if (e === null || (opts.allowFail === true && typeof e.code === 'number')) {
          resolve(result);
          return;
        }
        const why = e.killed === true ? `killed after ${timeout} ms` : `exit ${String(e.code)}`;
        const text = `${file} ${args.join(' ')}: ${why}: ${stderr.trim() || e.message}`;
        reject(new CommandError(text, result));
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Runs a command and returns its trimmed stdout. */
export async function output(file: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return (await run(file, args, opts)).stdout.trim();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `probe` until it returns a value that is not undefined, or rejects after `timeoutMs` with
 * `what` and the last error or value seen (a failure bound, never a timing assertion).
 */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = undefined;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(intervalMs);
  }
}
