// `lvsd status [--json]`: ask the running daemon, over its `listen` address, what it thinks and why.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../config/load.js';
import { parseEndpoint } from '../config/endpoint.js';
import { DEFAULT_LISTEN_PORT } from '../config/model.js';
import type { ListenAddress } from '../config/model.js';
import { LvsdError, errorMessage } from '../errors.js';
import { formatListen } from '../observe/http-server.js';
import { renderStatusText } from '../observe/status-text.js';
import type { StatusDocument } from '../observe/status-document.js';
import { COMMON_HELP, EXIT_OK, parseCommand } from './args.js';
import type { Command } from './main.js';

const DEFAULT_LISTEN: ListenAddress = { host: '127.0.0.1', port: DEFAULT_LISTEN_PORT };

function parseListen(text: string, what: string): ListenAddress {
  const r = parseEndpoint(text);
  if (!r.ok) throw new LvsdError('LVSD_USAGE', `${what}: ${r.error}`);
  return { host: r.endpoint.host, port: r.endpoint.port };
}

/**
 * Where the daemon listens. The daemon keeps its last good config when the files on disk are
 * broken, and that is exactly when an operator asks for status: then only `listen` of lvsd.yaml
 * is read, leniently.
 */
async function daemonAddress(configDir: string): Promise<ListenAddress> {
  const loaded = await loadConfig(configDir);
  if (loaded.ok) return loaded.snapshot.global.listen;
  process.stderr.write(`lvsd status: the configuration in ${configDir} is invalid (see lvsd check-config); asking the daemon anyway\n`);
  try {
    const raw = parseYaml(await readFile(join(configDir, 'lvsd.yaml'), 'utf8')) as { listen?: unknown } | null;
    if (typeof raw?.listen === 'string') {
      const r = parseEndpoint(raw.listen);
      if (r.ok) return { host: r.endpoint.host, port: r.endpoint.port };
    }
  } catch {
    // No readable lvsd.yaml: the built-in default is what the daemon uses then too.
  }
  return DEFAULT_LISTEN;
}

export const statusCommand: Command = {
  summary: 'show the running daemon\'s services, reals, health and kernel weights',
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
    let body: string;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      body = await res.text();
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${body.slice(0, 200)}`);
    } catch (err) {
      throw new LvsdError('LVSD_DAEMON_UNREACHABLE', `cannot reach the daemon at ${url}: ${errorMessage(err)}`, { cause: err });
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
