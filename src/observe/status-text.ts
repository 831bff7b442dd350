// The human output of `lvsd status`: the status document as a few summary lines and one aligned
// table per service. Plain text (no colour codes), so it pastes into tickets and pipes into grep.

import { ago, formatAge, transitionNote } from './format.js';
import type { RealStatus, ServiceStatus, StatusDocument } from './status-document.js';

const HEADER = ['REAL', 'STATE', 'WEIGHT cfg/kern', 'CONNS act/inact', 'LAST CHECK', 'SINCE', 'REASON'];

/** Align columns; the last one (free text) is not padded. */
function table(rows: readonly (readonly string[])[], indent: string): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** Control characters from a remote answer or a file name must not reach the terminal. */
function clean(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
}

function weight(config: number, kernel: number | null, dynamic: number | null = null): string {
  return `${config}/${kernel ?? '-'}${dynamic === null ? '' : ` (check: ${dynamic})`}`;
}

function conns(c: { active: number; inactive: number } | null): string {
  return c ? `${c.active}/${c.inactive}` : '-';
}

function since(iso: string | null, now: string): string {
  return iso === null ? '-' : formatAge(Date.parse(now) - Date.parse(iso));
}

/** "2 successes in a row" / "1 failure in a row" / "" before the first result. */
function streak(successes: number, failures: number): string {
  if (successes > 0) return `${successes} success${successes === 1 ? '' : 'es'} in a row`;
  if (failures > 0) return `${failures} failure${failures === 1 ? '' : 's'} in a row`;
  return 'no result yet';
}

/** One row per check of a real with several, under the real's row: each check's own health. */
function checkRows(r: RealStatus, now: string): string[][] {
  const n = r.per_check?.length ?? 0;
  return (r.per_check ?? []).map((c) => [
    `  check ${c.index}/${n} ${c.type}`,
    c.health,
    '',
    '',
    c.last_check_at === null ? '-' : ago(c.last_check_at, now),
    since(c.last_change_at, now),
    clean(
      `${c.target}: ${c.reason ?? 'no check result yet'}` +
        ` [${c.code === null ? '' : `${c.code}, ${c.latency_ms} ms; `}${streak(c.consecutive_successes, c.consecutive_failures)}; rise ${c.rise}, fall ${c.fall}]`,
    ),
  ]);
}

function serviceBlock(s: ServiceStatus, now: string): string[] {
  const kernel = s.kernel === null ? 'kernel: unknown' : s.kernel.present ? `kernel: present (${s.kernel.reals} reals)` : 'kernel: NOT PRESENT';
  const flags = [
    s.scheduler,
    s.persistence ? `persistent ${s.persistence.timeout_s}s` : '',
    s.quiescent ? 'quiescent' : '',
    `${s.healthy_reals}/${s.total_reals} healthy`,
    s.quorum?.up === false ? `QUORUM LOST (weight ${s.quorum.weight_sum ?? 0} < ${s.quorum.quorum})` : '',
    s.quorum && (s.quorum.quorum !== 1 || s.quorum.hysteresis !== 0) ? `quorum ${s.quorum.quorum}±${s.quorum.hysteresis}` : '',
    s.sorry_active ? 'SORRY SERVERS ACTIVE' : '',
    kernel,
  ].filter((f) => f !== '');
  const rows: string[][] = [HEADER];
  for (const r of s.reals) {
    let reason = r.reason === null ? 'no check result yet' : r.reason;
    const note = transitionNote(r.transition_reason, r.reason);
    if (note) reason += ` [changed: ${note}]`;
    if (r.admin.state !== 'ready') reason += ` [admin: ${r.admin.because.join('; ')}]`;
    rows.push([
      r.real,
      (r.state === 'draining' || r.state === 'drain' || r.state === 'maint' ? `${r.state} (${r.health})` : r.state) + (r.slow_start ? ' (slow start)' : '') + (r.agent ? ` [agent: ${r.agent.error ? `no answer, last ${r.agent.state}` : r.agent.state}]` : ''),
      weight(r.weight.config, r.weight.kernel, r.weight.dynamic),
      conns(r.connections),
      r.last_check_at === null ? '-' : ago(r.last_check_at, now),
      since(r.last_change_at, now),
      clean(reason),
    ]);
    rows.push(...checkRows(r, now));
  }
  for (const x of s.sorry) {
    rows.push([x.real, x.in_use ? 'sorry' : 'sorry-standby', weight(x.weight.config, x.weight.kernel), '-', '-', '-', x.in_use ? 'in use: the service has no quorum' : 'used only while the service has no quorum']);
  }
  for (const d of s.draining) {
    rows.push([d.real, 'draining', `-/${d.weight_kernel}`, conns(d.connections), '-', '-', 'removed from the config; deleted when idle or after drain_timeout']);
  }
  return [`${clean(s.name)}  ${s.protocol} ${s.address}  ${flags.join('  ')}`, ...table(rows, '  ')];
}

/** `announce` (BGP): a summary line and one line per VIP; nothing without announce. */
function announceLines(doc: StatusDocument, now: string): string[] {
  const a = doc.announce ?? null;
  if (!a) return [];
  const on = a.vips.filter((v) => v.announced).length;
  const state = !a.results ? 'waiting for the first results' : !a.daemon_healthy ? `DAEMON UNHEALTHY (${a.failed_passes} failed passes): every VIP withdrawn` : `${on} of ${a.vips.length} VIPs announced`;
  const backend = a.backend.ok ? 'backend ok' : `BACKEND PROBLEM: ${clean(a.backend.error ?? 'unknown')}`;
  const rows = a.vips.map((v) => {
    const what = v.state === 'holding' ? `holding, announced at ${v.announce_at ?? '-'} if it stays healthy` : v.state;
    const lacking = v.services.filter((x) => !x.quorum).map((x) => x.name);
    const last = v.reason ? `${v.reason} ${ago(v.changed_at, now)}` : '-';
    return [v.prefix, v.announced ? 'ANNOUNCED' : 'withdrawn', what, last, lacking.length ? `no quorum: ${clean(lacking.join(', '))}` : 'healthy'];
  });
  return [`announce ${a.backend.backend}: ${state}; ${backend}`, ...table(rows, '  ')];
}

export function renderStatusText(doc: StatusDocument): string {
  const now = doc.generated_at;
  const { lvsd, config, reconcile: rc, checks } = doc;
  const reload = config.last_reload;
  const sync = !rc.started
    ? 'waiting for the first check round'
    : rc.consecutive_failures > 0
      ? `FAILING (${rc.consecutive_failures} passes): ${rc.last_error ?? ''}`
      : `in sync, last success ${ago(rc.last_success_at, now)}`;
  const lines = [
    `lvsd ${lvsd.version} on ${clean(lvsd.hostname)} (pid ${lvsd.pid}${lvsd.dry_run ? ', DRY RUN' : ''}), up ${since(lvsd.started_at, now)}, ${(doc.overall?.state ?? (doc.healthz.ok ? 'healthy' : 'unhealthy')).replace(/^(?!healthy).*/, (v) => v.toUpperCase())}`,
    `config   ${reload.ok ? 'loaded' : 'REJECTED'} (${reload.reason}) ${ago(reload.at, now)}; ${config.services} services from ${config.files.length} files in ${clean(lvsd.config_dir)}`,
    `kernel   ${clean(sync)}; ${rc.passes} passes, ${rc.failures} failed, ${rc.draining} draining${doc.kernel.error ? `; read error: ${clean(doc.kernel.error)}` : ''}`,
    `checks   ${checks.probes} probes, ${checks.in_flight} running, last completed ${ago(checks.last_completed_at, now)}`,
  ];
  const adminOut = doc.services.reduce((sum, s) => sum + s.reals.filter((r) => r.admin.state !== 'ready').length, 0);
  const entries = doc.admin.entries;
  lines.push(
    `admin    ${entries.length === 0 ? 'every real ready' : `${adminOut} reals drained or in maintenance (${entries.length} entries: lvsd admin)`}; control socket ${doc.admin.control_socket ? clean(doc.admin.control_socket) : `UNAVAILABLE${doc.admin.control_socket_error ? ` (${clean(doc.admin.control_socket_error)})` : ''}`}`,
  );
  lines.push(...announceLines(doc, now));
  const sd = doc.sync_daemon;
  if (sd?.configured) {
    const running = sd.kernel.map((d) => `${d.state} on ${d.interface} syncid ${d.syncid}${d.owned ? '' : ' (not lvsd\'s)'}`).join(', ') || 'none running';
    const problems = [...sd.conflicts.map((c) => `CONFLICT ${c}`), ...(sd.last_error ? [`ERROR ${sd.last_error}`] : [])];
    lines.push(`sync     role ${sd.role} (${sd.source === 'runtime' ? `run time, ${sd.runtime?.by ?? ''}` : 'lvsd.yaml'}); kernel: ${running}${problems.length ? `; ${problems.join('; ')}` : ''}`.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' '));
  }
  const restart = config.restart_needed ?? [];
  if (restart.length > 0) lines.push(`restart  needed for: ${clean(restart.join(', '))} (changed in lvsd.yaml since start; a reload does not apply them)`);
  for (const p of doc.overall?.reasons ?? doc.healthz.problems) lines.push(`problem  ${clean(p)}`);
  for (const i of reload.issues) lines.push(`issue    ${clean(i.line > 0 ? `${i.file}:${i.line}:${i.col}` : i.file)}: ${clean(i.message)}`);
  for (const s of doc.services) lines.push('', ...serviceBlock(s, now));
  if (doc.services.length === 0) lines.push('', 'no services configured');
  return `${lines.join('\n')}\n`;
}
