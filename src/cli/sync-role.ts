// `lvsd sync-role [master|backup|both|none|config]`: show or set the role of the kernel's connection
// sync daemon at run time (control socket, root only). The OCF agent's promote and demote use it.

import { EXIT_OK, COMMON_HELP, parseCommand } from './args.js';
import { SOCKET_HELP, sendControl, socketPath } from './control-client.js';
import { LvsdError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import type { SyncRoleReply, SyncStatusJson } from '../control/protocol.js';
import { SYNC_ROLE_CHOICES } from '../control/control-server.js';
import type { Command } from './command.js';

const clean = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');

export function renderSyncText(s: SyncStatusJson): string {
  if (!s.configured) return 'sync daemon: not configured (no sync_daemon in lvsd.yaml); lvsd leaves the kernel\'s sync daemons alone\n';
  const lines: string[] = [];
  const from = s.source === 'runtime' && s.runtime
    ? `set at run time by ${s.runtime.by} at ${s.runtime.since}; lvsd.yaml says ${s.config_role}`
    : 'from lvsd.yaml';
  lines.push(`role     ${s.role} (${from})`);
  lines.push(`wanted   ${s.wanted.length ? s.wanted.join(' + ') : 'no daemon'}`);
  if (s.kernel.length === 0) lines.push(`kernel   no sync daemon${s.last_read_at ? '' : ' (not read yet)'}`);
  for (const d of s.kernel) {
    lines.push(`kernel   ${d.state} (interface ${d.interface}, syncid ${d.syncid}, maxlen ${d.maxlen}, group ${d.group}, port ${d.port}, ttl ${d.ttl})${d.owned ? '' : ', not started by lvsd'}`);
  }
  for (const c of s.conflicts) lines.push(`conflict ${c}`);
  if (s.last_error) lines.push(`error    ${s.last_error}`);
  if (!s.started) lines.push('note     lvsd has not started the sync daemon yet (it starts with the first IPVS pass)');
  return `${lines.map(clean).join('\n')}\n`;
}

export const syncRoleCommand: Command = {
  help: `Usage: lvsd sync-role [master|backup|both|none|config] [options]

Without a role: show the role of the kernel's connection sync daemon (lvsd.yaml sync_daemon), what
set it, and the daemons the kernel runs. With a role: set it at run time, over the control socket
(root only). The run-time role overrides lvsd.yaml's role across reloads and restarts (it is kept
in state_dir) until "lvsd sync-role config" clears it. The OCF agent's promote runs
"lvsd sync-role master", its demote "lvsd sync-role backup".

Options:
      --json             print the daemon's reply as JSON
      --quiet            print only the role in force (master, backup, both, none), or
                         "unconfigured" when lvsd.yaml has no sync_daemon
${SOCKET_HELP}
${COMMON_HELP}
`,
  async execute(argv) {
    const { common, values, positionals } = parseCommand(argv, { json: { type: 'boolean' }, quiet: { type: 'boolean' }, socket: { type: 'string' } }, true);
    if (positionals.length > 1) throw new LvsdError('LVSD_USAGE', 'give at most one role');
    const role = positionals[0];
    if (role !== undefined && !(SYNC_ROLE_CHOICES as readonly string[]).includes(role)) {
      throw new LvsdError('LVSD_USAGE', `role must be one of ${SYNC_ROLE_CHOICES.join(', ')} (got "${role}")`);
    }
    const path = await socketPath(common.configDir, typeof values.socket === 'string' ? values.socket : undefined);
    const request = role === undefined
      ? { v: 1 as const, cmd: 'sync-role' as const }
      : { v: 1 as const, cmd: 'sync-role' as const, role: role as (typeof SYNC_ROLE_CHOICES)[number] };
    const reply = await sendControl<SyncRoleReply>(path, request);
    if (!reply.ok) throw new LvsdError(reply.code as ErrorCode, reply.error);
    if (!reply.sync) throw new LvsdError('LVSD_CONTROL_FAILED', 'the daemon does not know sync-role (an older lvsd?)');
    if (values.quiet === true) process.stdout.write(`${reply.sync.configured ? reply.sync.role : 'unconfigured'}\n`);
    else if (values.json === true) process.stdout.write(`${JSON.stringify(reply.sync, null, 2)}\n`);
    else process.stdout.write(renderSyncText(reply.sync));
    return EXIT_OK;
  },
};
