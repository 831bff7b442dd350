// The CLI side of the control socket: find the socket (--socket, else control_socket of lvsd.yaml),
// send one request line, read one reply line, and turn socket errors into advice an operator can use.

import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../config/load.js';
import { BUILTIN } from '../config/schema.js';
import { LvsdError } from '../errors.js';
import { MAX_LINE_BYTES, encodeLine } from '../control/protocol.js';
import type { ControlReply, ControlRequest } from '../control/protocol.js';

export const SOCKET_HELP = `      --socket PATH      the daemon's control socket (default: control_socket of lvsd.yaml, else ${BUILTIN.controlSocket})`;

/** control_socket of lvsd.yaml; read leniently when the config is invalid (that is when operators act). */
export async function socketPath(configDir: string, override: string | undefined): Promise<string> {
  if (override !== undefined) return override;
  const loaded = await loadConfig(configDir);
  if (loaded.ok) return loaded.snapshot.global.controlSocket;
  try {
    const raw = parseYaml(await readFile(join(configDir, 'lvsd.yaml'), 'utf8')) as { control_socket?: unknown } | null;
    if (typeof raw?.control_socket === 'string') {
      return isAbsolute(raw.control_socket) ? raw.control_socket : resolvePath(configDir, raw.control_socket);
    }
  } catch {
    // No readable lvsd.yaml: the daemon uses the built-in default then too.
  }
  return BUILTIN.controlSocket;
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
      if (buf.length > MAX_LINE_BYTES * 16) socket.destroy(new Error('reply too long'));
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
