// `lvsd exabgp-bridge`: what ExaBGP's `process` runs. It connects to lvsd's announce socket
// (retrying while lvsd is not up), copies lvsd's API lines to stdout (ExaBGP reads them) and
// ExaBGP's answers on stdin (done / error / shutdown) back to lvsd. It exits when its stdin closes
// (ExaBGP stops or drops the process). It outlives lvsd restarts: ExaBGP keeps its routes and lvsd
// sends the whole state again when the bridge reconnects.

import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { loadConfig } from '../config/load.js';
import { BUILTIN } from '../config/schema.js';
import { ANNOUNCE_DEFAULTS } from '../config/announce-resolve.js';
import { errorMessage } from '../errors.js';
import { COMMON_HELP, EXIT_OK, parseCommand } from './args.js';
import type { Command } from './command.js';
import { bridgeLines } from './bridge-lines.js';

const RETRY_MS = 1000;

/** announce.socket of the config dir; the default next to control_socket when it has no announce. */
async function socketOf(configDir: string): Promise<string> {
  const r = await loadConfig(configDir);
  if (r.ok) return r.snapshot.global.announce?.socket ?? join(dirname(r.snapshot.global.controlSocket), ANNOUNCE_DEFAULTS.socketName);
  process.stderr.write(`lvsd exabgp-bridge: the configuration in ${configDir} is invalid (lvsd check-config says why); using the default socket\n`);
  return join(dirname(BUILTIN.controlSocket), ANNOUNCE_DEFAULTS.socketName);
}

export const exabgpBridgeCommand: Command = {
  help: `Usage: lvsd exabgp-bridge [options]

Run by ExaBGP as an API process (exabgp.conf: process lvsd { run /usr/bin/lvsd exabgp-bridge;
encoder text; }). Connects to lvsd's announce socket, retrying every second while lvsd is not up,
writes lvsd's "announce route ..." / "withdraw route ..." lines to stdout and sends ExaBGP's
answers (done, error, shutdown) read on stdin back to lvsd. Exits 0 when stdin closes.

Options:
      --socket PATH      lvsd's announce socket (default: announce.socket of lvsd.yaml, else
                         exabgp.sock next to control_socket, /run/lvsd/exabgp.sock)
${COMMON_HELP}
`,
  async execute(argv) {
    const { common, values } = parseCommand(argv, { socket: { type: 'string' } });
    const path = (values.socket as string | undefined) ?? (await socketOf(common.configDir));
    return bridge(path);
  },
};

function bridge(path: string): Promise<number> {
  return new Promise((resolve) => {
    let socket: Socket | null = null;
    let connected = false;
    let lastProblem = '';
    let done = false;
    let timer: NodeJS.Timeout | null = null;
    let pending = '';
    const told = bridgeLines(path, (line) => process.stderr.write(line));

    const finish = (): void => {
      if (done) return;
      done = true;
      told.stop();
      if (timer) clearTimeout(timer);
      socket?.destroy();
      resolve(EXIT_OK);
    };

    const dial = (): void => {
      if (done) return;
      const s = connect(path);
      socket = s;
      s.setEncoding('utf8');
      s.on('connect', () => {
        connected = true;
        lastProblem = '';
        told.event('connected');
      });
      s.on('data', (chunk: string) => {
        process.stdout.write(chunk);
      });
      s.on('error', (err) => {
        const problem = (err as NodeJS.ErrnoException).code ?? errorMessage(err);
        if (problem !== lastProblem) process.stderr.write(`lvsd exabgp-bridge: cannot reach lvsd on ${path} (${problem}); retrying every ${RETRY_MS / 1000}s\n`);
        lastProblem = problem;
      });
      s.on('close', () => {
        if (connected) told.event('closed');
        connected = false;
        socket = null;
        if (!done) timer = setTimeout(dial, RETRY_MS);
      });
    };

    // ExaBGP's answers, whole lines only; while lvsd is away they answer nothing lvsd sent: dropped.
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => {
      pending += chunk;
      const nl = pending.lastIndexOf('\n');
      if (nl < 0) return;
      const lines = pending.slice(0, nl + 1);
      pending = pending.slice(nl + 1);
      if (connected && socket) socket.write(lines);
    });
    process.stdin.on('end', finish);
    process.stdin.on('close', finish);
    process.stdout.on('error', finish);
    process.once('SIGTERM', finish);
    process.once('SIGINT', finish);
    dial();
  });
}
