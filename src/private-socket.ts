// Listening on a root-only Unix socket (mode 0600), shared by the control socket and the exabgp
// backend's bridge socket: both let their peer change what the director does, so no other user may
// connect, not even in the instant between bind() and chmod().

import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import type { Server } from 'node:net';
import { dirname } from 'node:path';

export interface PrivateSocketOptions {
  /**
   * A socket file something still accepts connections on is refused (another lvsd with the same
   * path) instead of replaced. Without it, any socket file left at `path` is replaced.
   */
  readonly refuseLive?: boolean;
}

/** True when something accepts connections on `path`. */
function answering(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Make `server` listen on `path` with mode 0600: creates the directory (0755), removes a stale
 * socket file, refuses a path that is not a socket. Throws a plain Error; the caller wraps it in
 * the LvsdError code of its own subsystem.
 */
export async function listenPrivate(server: Server, path: string, options: PrivateSocketOptions = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const existing = await lstat(path).catch(() => null);
  if (existing) {
    if (!existing.isSocket()) throw new Error(`${path} exists and is not a socket`);
    if (options.refuseLive === true && (await answering(path))) {
      throw new Error(`another process (another lvsd?) already answers on ${path}`);
    }
    await unlink(path);
  }
  // The umask makes the socket 0600 from its creation (chmod below is the belt to these braces).
  // The umask is process-wide while listen() runs: a file created elsewhere in that instant is
  // private too, which errs on the safe side.
  const old = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(old);
  }
  await chmod(path, 0o600);
}
