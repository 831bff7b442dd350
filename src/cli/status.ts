// `lvsd status [--json]`: ask the running daemon, over its `listen` address, what it thinks and why.

import { get } from 'node:http';
import { join } from 'node:path';
import { peekGlobal } from '../config/global-peek.js';
import { parseEndpoint } from '../config/endpoint.js';
import { DEFAULT_LISTEN_PORT } from '../config/model.js';
import type { ListenAddress } from '../config/model.js';
import { LvsdError, errorMessage } from '../errors.js';
import { formatListen } from '../observe/http-server.js';
import { renderStatusText } from '../observe/status-text.js';
import type { StatusDocument } from '../observe/status-document.js';
import { COMMON_HELP, EXIT_OK, parseCommand } from './args.js';
import type { Command } from './command.js';

const DEFAULT_LISTEN: ListenAddress = { host: '127.0.0.1', port: DEFAULT_LISTEN_PORT };

function parseListen(text: string, what: string): ListenAddress {
  const r = parseEndpoint(text);
  if (!r.ok) throw new LvsdError('LVSD_USAGE', `${what}: ${r.error}`);
  return { host: r.endpoint.host, port: r.endpoint.port };
}

/**
 * Where the daemon listens: `listen` of lvsd.yaml, read leniently (global-peek.ts). The rest of the
 * config is not validated: the daemon keeps its last good config when the files on disk are broken,
 * and that is exactly when an operator asks for status (`lvsd check-config` validates).
 */
async function daemonAddress(configDir: string): Promise<ListenAddress> {
  const value = await peekGlobal(configDir, 'listen');
  if (typeof value === 'string') {
    const r = parseEndpoint(value);
    if (r.ok) return { host: r.endpoint.host, port: r.endpoint.port };
  }
  // No readable lvsd.yaml, or no usable listen there: the built-in default is what the daemon uses then too.
  return DEFAULT_LISTEN;
}

/**
 * GET over node:http, not fetch: fetch loads undici, which costs `lvsd status` more CPU than all the
 * rest of it. Bounded to `ms` in all (connect, headers and body), like the AbortSignal it replaces.
 */
function getText(url: string, ms: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.once('error', reject);
    });
    const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no answer within ${ms / 1000} s`), { code: 'ETIMEDOUT' })), ms);
    req.once('error', reject);
    req.once('close', () => clearTimeout(timer));
  });
}

/** The innermost error code of a failed request (an error may wrap the socket's as its cause). */
function rootCause(err: unknown): { code: string | undefined; message: string } {
  let e: unknown = err;
  for (let i = 0; i < 5 && e instanceof Error && e.cause !== undefined; i++) e = e.cause;
  const code = (e as NodeJS.ErrnoException | undefined)?.code ?? (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError') ? 'ETIMEDOUT' : undefined);
  return { code, message: errorMessage(e) };
}

/** Why `lvsd status` got no answer, and what usually causes that. */
export function unreachable(url: string, from: string, err: unknown): string {
  const { code, message } = rootCause(err);
  const head = `cannot reach the daemon at ${url} (from ${from})`;
  switch (code) {
    case 'ECONNREFUSED':
      return `${head}: connection refused, nothing listens there.
Likely reasons:
  - lvsd is not running (systemctl status lvsd; journalctl -u lvsd)
  - lvsd listens elsewhere: \`listen\` was changed in lvsd.yaml since it started (it applies only at a restart); ask the old address with --listen ADDR:PORT, or restart lvsd`;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
      return `${head}: no answer within 5 s.
Likely reasons:
  - the daemon is overloaded or stuck (journalctl -u lvsd)
  - a firewall drops packets to that address`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return `${head}: the address is not reachable from this host (${code}); \`listen\` may name another host's address`;
    default:
      return `${head}: ${message}${code ? ` (${code})` : ''}`;
  }
}

export const statusCommand: Command = {
  help: `Usage: lvsd status [options]

Ask the running daemon (over the listen address of lvsd.yaml) for its services, reals, health,
weights in config and in the kernel, last check, sorry servers in use and config reload state.
The same data is served as JSON at http://LISTEN/status and as a page at http://LISTEN/.

Options:
      --json             print the daemon's JSON status document
      --listen ADDR:PORT ask the daemon at this address instead of lvsd.yaml's listen
${COMMON_HELP}
`,
  async execute(argv) {
    const { common, values } = parseCommand(argv, { json: { type: 'boolean' }, listen: { type: 'string' } });
    const at = typeof values.listen === 'string' ? parseListen(values.listen, '--listen') : await daemonAddress(common.configDir);
    const url = `http://${formatListen(at)}/status`;
    const from = typeof values.listen === 'string' ? '--listen' : `listen in ${join(common.configDir, 'lvsd.yaml')}`;
    let body: string;
    try {
      const res = await getText(url, 5000);
      body = res.body;
      if (res.status < 200 || res.status > 299) throw new LvsdError('LVSD_DAEMON_UNREACHABLE', `${url} answered HTTP ${res.status} (is another program listening there?): ${body.slice(0, 200)}`);
    } catch (err) {
      if (err instanceof LvsdError) throw err;
      throw new LvsdError('LVSD_DAEMON_UNREACHABLE', unreachable(url, from, err), { cause: err });
    }
    let doc: StatusDocument;
    try {
      doc = JSON.parse(body) as StatusDocument;
      if (typeof doc?.lvsd !== 'object' || !Array.isArray(doc.services)) throw new Error('not a status document');
    } catch (err) {
      throw new LvsdError('LVSD_DAEMON_UNREACHABLE', `${url} did not answer with a status document (is another program listening there?)`, { cause: err });
    }
    process.stdout.write(values.json === true ? `${JSON.stringify(doc, null, 2)}\n` : renderStatusText(doc));
    return EXIT_OK;
  },
};
