// The CLI side of the control socket: find the socket (--socket, else control_socket of lvsd.yaml),
// send one request line, read one reply line, and turn socket errors into advice an operator can use.

import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { peekGlobal } from '../config/global-peek.js';
import { DEFAULT_CONTROL_SOCKET } from '../config/model.js';
import { LvsdError } from '../errors.js';
import { encodeLine } from '../control/protocol.js';
import type { ControlReply, ControlRequest } from '../control/protocol.js';

/** Longest reply the CLI reads (a page of 1,000 entries with long file names is well under). */
const MAX_REPLY_BYTES = 16 * 1024 * 1024;

export const SOCKET_HELP = `      --socket PATH      the daemon's control socket (default: control_socket of lvsd.yaml, else ${DEFAULT_CONTROL_SOCKET})`;

/**
 * control_socket of lvsd.yaml, read leniently (global-peek.ts): the rest of the config is not
 * validated, since operators act exactly when it is broken, and a command that only talks to the
 * daemon starts without loading the config machinery.
 */
export async function socketPath(configDir: string, override: string | undefined): Promise<string> {
  if (override !== undefined) return override;
  const value = await peekGlobal(configDir, 'control_socket');
  // No readable lvsd.yaml or no string there: the daemon uses the built-in default then too.
  if (typeof value !== 'string') return DEFAULT_CONTROL_SOCKET;
  return isAbsolute(value) ? value : resolvePath(configDir, value);
}

function clientInfo(): ControlRequest['client'] {
  let user: string | undefined;
  try {
    user = userInfo().username;
  } catch {
    user = undefined;
  }
  return { uid: process.getuid?.() ?? -1, pid: process.pid, ...(user ? { user } : {}) };
}

/** Send one request and return the daemon's reply; throws LvsdError with advice when it cannot. */
/** `R`: the reply type of the request (admin replies by default; SyncRoleReply for sync-role). */
export function sendControl<R = ControlReply>(path: string, request: ControlRequest): Promise<R> {
  const line = encodeLine({ ...request, client: clientInfo() } as ControlRequest);
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let buf = '';
    socket.setEncoding('utf8');
    socket.setTimeout(15_000, () => socket.destroy(new Error('no reply within 15 s')));
    socket.once('connect', () => socket.write(line));
    socket.on('data', (chunk: string) => {
      buf += chunk;
      // A reply is one page (1,000 items a list, see protocol.ts); this bound only stops a runaway.
      if (buf.length > MAX_REPLY_BYTES) socket.destroy(new Error('reply too long'));
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EACCES' || err.code === 'EPERM') {
        reject(new LvsdError('LVSD_CONTROL_DENIED', `permission denied on ${path}: the control socket is root-only (mode 0600); run this as root (sudo lvsd ...)`, { cause: err }));
      } else if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        reject(new LvsdError('LVSD_CONTROL_UNREACHABLE', `cannot reach lvsd at ${path} (${err.code}): the daemon is not running, or it runs with another control_socket (-c DIR, --socket PATH)`, { cause: err }));
      } else {
        reject(new LvsdError('LVSD_CONTROL_UNREACHABLE', `control socket ${path}: ${err.message}`, { cause: err }));
      }
    });
    socket.once('close', () => {
      const text = buf.split('\n')[0] ?? '';
      if (!text) {
        reject(new LvsdError('LVSD_CONTROL_UNREACHABLE', `${path} closed without a reply`));
        return;
      }
      try {
        resolve(JSON.parse(text) as R);
      } catch (err) {
        reject(new LvsdError('LVSD_CONTROL_UNREACHABLE', `${path} did not answer with a control reply`, { cause: err }));
      }
    });
  });
}
