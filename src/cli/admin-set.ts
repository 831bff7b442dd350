// What `lvsd drain`, `lvsd disable` and `lvsd enable` share: parse SERVICE [REAL] or --real IP[:PORT],
// send one `set` request over the control socket, and print what changed.

import type { AdminState } from '../control/admin-model.js';
import { parseHostSpec } from '../control/admin-model.js';
import type { ControlReply, ControlRequest } from '../control/protocol.js';
import type { ErrorCode } from '../errors.js';
import { LvsdError } from '../errors.js';
import { COMMON_HELP, EXIT_OK, parseCommand } from './args.js';
import { SOCKET_HELP, sendControl, socketPath } from './control-client.js';
import type { Command } from './command.js';

/** Unwrap a reply: a refusal becomes an LvsdError (exit 1) with the daemon's code. */
export function expectOk(reply: ControlReply): Extract<ControlReply, { ok: true }> {
  if (!reply.ok) throw new LvsdError(reply.code as ErrorCode, reply.error);
  return reply;
}

function checkReal(text: string, what: string): string {
  if (!parseHostSpec(text)) throw new LvsdError('LVSD_USAGE', `${what} "${text}" is not IP or IP:PORT (IPv6 as [IP]:PORT)`);
  return text;
}

export function adminSetCommand(verb: 'drain' | 'disable' | 'enable', state: AdminState, about: string): Command {
  return {
    help: `Usage: lvsd ${verb} [options] SERVICE [REAL]
       lvsd ${verb} [options] --real IP[:PORT]

${about}

SERVICE is a service name (as in lvsd status); REAL is IP or IP:PORT (IPv6 as [IP]:PORT), and
without a port means every real of that host in the service. --real IP[:PORT] names that host in
every service (host-wide). An unknown service or real is an error (exit 1). Talks to the running
daemon over its control socket, which only root may use.

Options:
      --real IP[:PORT]   the host in every service instead of SERVICE [REAL]
${SOCKET_HELP}
${COMMON_HELP}
`,
    async execute(argv) {
      const { common, values, positionals } = parseCommand(argv, { real: { type: 'string' }, socket: { type: 'string' } }, true);
      let request: ControlRequest;
      if (typeof values.real === 'string') {
        if (positionals.length > 0) throw new LvsdError('LVSD_USAGE', 'give either --real IP[:PORT] or SERVICE [REAL], not both');
        request = { v: 1, cmd: 'set', state, host: checkReal(values.real, '--real') };
      } else {
        const [service, real, ...rest] = positionals;
        if (service === undefined) throw new LvsdError('LVSD_USAGE', 'SERVICE (or --real IP[:PORT]) is required');
        if (rest.length > 0) throw new LvsdError('LVSD_USAGE', `unexpected argument "${rest[0]}"`);
        request = real === undefined ? { v: 1, cmd: 'set', state, service } : { v: 1, cmd: 'set', state, service, real: checkReal(real, 'REAL') };
      }
      const path = await socketPath(common.configDir, typeof values.socket === 'string' ? values.socket : undefined);
      const reply = expectOk(await sendControl(path, request));
      if (reply.changed.length === 0 && reply.still.length === 0) {
        process.stdout.write(`no change: already ${state === 'ready' ? 'enabled' : state}\n`);
      }
      for (const c of reply.changed) process.stdout.write(`${c.service} ${c.real}: ${c.from} -> ${c.to}\n`);
      // The daemon lists the first 1,000; the rest is counted (lvsd admin lists them all).
      const moreChanged = (reply.changed_total ?? reply.changed.length) - reply.changed.length;
      if (moreChanged > 0) process.stdout.write(`... and ${moreChanged} more reals changed (${reply.changed_total} in all; lvsd admin lists them)\n`);
      for (const s of reply.still) process.stderr.write(`still ${s.state}: ${s.service} ${s.real} (${s.because.join('; ')})\n`);
      const moreStill = (reply.still_total ?? reply.still.length) - reply.still.length;
      if (moreStill > 0) process.stderr.write(`... and ${moreStill} more reals still held (${reply.still_total} in all)\n`);
      return EXIT_OK;
    },
  };
}
