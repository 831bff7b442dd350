// The status page at `/`: the status document as one server-rendered HTML page with inline CSS,
// no scripts and no external assets, refreshing itself, laid out as cards on a phone.
// Every piece of text goes through escapeHtml: service names, reasons and paths come from config
// files and from remote servers' answers.

import { ago, clock, escapeHtml as e, transitionNote } from './format.js';
import type { RealStatus, ServiceStatus, StatusDocument } from './status-document.js';

export const PAGE_REFRESH_SECONDS = 5;

const CSS = `
:root{--up:#1e7e34;--up-bg:#e8f5ec;--down:#c62828;--down-bg:#fdecea;--unknown:#6b7280;--unknown-bg:#f1f3f5;
--drain:#b26a00;--drain-bg:#fff4e0;--maint:#0b6e99;--maint-bg:#e3f2fa;--admin-drain:#8a5a00;--admin-drain-bg:#fbeec8;--sorry:#5b3fb5;--sorry-bg:#f1edfc;--line:#d9dde3;--muted:#5f6670;color-scheme:light;font-size:14px}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#f6f7f9}
header,main,footer{max-width:1200px;margin:0 auto;padding:12px 16px}
h1{font-size:20px;margin:4px 0 8px}h1 small{font-weight:400;color:var(--muted);font-size:14px}
h2{font-size:17px;margin:0;display:flex;flex-wrap:wrap;gap:6px 10px;align-items:baseline}
.pill{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;white-space:nowrap}
.pill.ok{background:var(--up-bg);color:var(--up)}.pill.bad{background:var(--down-bg);color:var(--down)}
.pill.info{background:var(--unknown-bg);color:var(--unknown)}.pill.warn{background:var(--drain-bg);color:var(--drain)}.pill.sorry{background:var(--sorry-bg);color:var(--sorry)}
.summary{display:grid;grid-template-columns:repeat(auto-fit,minmax(230px,1fr));gap:8px;margin:0}
.summary div{background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px 10px}
.summary dt{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}.summary dd{margin:2px 0 0}
.problems{background:var(--down-bg);border:1px solid var(--down);border-radius:6px;padding:8px 12px 8px 28px;margin:10px 0 0;color:var(--down)}
.service{background:#fff;border:1px solid var(--line);border-radius:8px;margin:0 0 14px;overflow:hidden}
.service>.head{padding:10px 12px;border-bottom:1px solid var(--line)}
.addr{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-weight:400;font-size:14px}
.meta{color:var(--muted);font-size:13px;margin:4px 0 0}
table{border-collapse:collapse;width:100%;table-layout:fixed}
th:nth-child(1){width:11rem}th:nth-child(2){width:7.5rem}th:nth-child(3),th:nth-child(4){width:8.5rem}th:nth-child(5),th:nth-child(6){width:11.5rem}
th{text-align:left;font-size:12px;color:var(--muted);font-weight:600;padding:6px 10px;border-bottom:1px solid var(--line)}
td{padding:7px 10px;border-bottom:1px solid var(--line);vertical-align:top}
tr:last-child td{border-bottom:0}
td.real{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;white-space:nowrap;border-left:6px solid var(--c)}
td.real div{overflow:hidden;text-overflow:ellipsis}td.check{padding-left:22px;font-weight:400}td.reason{overflow-wrap:anywhere}
tr.state-up{--c:var(--up);background:var(--up-bg)}tr.state-down{--c:var(--down);background:var(--down-bg)}
tr.state-unknown{--c:var(--unknown);background:var(--unknown-bg)}tr.state-draining{--c:var(--drain);background:var(--drain-bg)}
tr.state-maint{--c:var(--maint);background:var(--maint-bg)}tr.state-drain{--c:var(--admin-drain);background:var(--admin-drain-bg)}
tr.state-sorry{--c:var(--sorry);background:var(--sorry-bg)}tr.state-standby{--c:var(--line);background:#fff;color:var(--muted)}
tr.state-standby .state{color:var(--muted)}
.state{font-weight:700;color:var(--c);text-transform:uppercase;font-size:12px;letter-spacing:.04em}
.sub{display:block;color:var(--muted);font-size:12px}
footer{color:var(--muted);font-size:12px}footer a{color:inherit}
@media (max-width:700px){
 header,main,footer{padding:10px}
 thead{display:none}table,tbody,tr,td{display:block;width:100%}
 tr{border-left:6px solid var(--c);border-bottom:1px solid var(--line)}
 td{border:0;padding:3px 10px;display:grid;grid-template-columns:7.8em minmax(0,1fr);gap:8px}
 td.real{border-left:0;padding-top:8px;font-weight:600}tr td:last-child{padding-bottom:8px}
 td::before{content:attr(data-label);color:var(--muted);font-size:12px;font-family:system-ui,sans-serif;font-weight:400}
}`;

/** One wrapper per cell: on a phone the cell is a two-column grid of its label and this. */
function td(label: string, html: string, cls = ''): string {
  return `<td data-label="${e(label)}"${cls ? ` class="${cls}"` : ''}><div>${html}</div></td>`;
}

function weightCell(config: number, kernel: number | null, dynamic: number | null = null): string {
  const dyn = dynamic === null ? '' : `<span class="sub">check asks ${e(dynamic)}</span>`;
  return `${e(config)} / ${kernel === null ? '<span title="not in the kernel table">–</span>' : e(kernel)}${dyn}`;
}

function connections(c: { active: number; inactive: number } | null): string {
  return c ? `${e(c.active)} / ${e(c.inactive)}` : '–';
}

function timeCell(iso: string | null, now: string): string {
  if (iso === null) return '–';
  return `<time datetime="${e(iso)}">${e(ago(iso, now))}</time><span class="sub">${e(clock(iso))}</span>`;
}

function realRow(r: RealStatus, now: string): string {
  const note = transitionNote(r.transition_reason, r.reason);
  const why = note ? `<span class="sub">changed: ${e(note)}</span>` : '';
  const code = r.code ? ` <span class="sub">${e(r.code)}${r.latency_ms === null ? '' : `, ${e(r.latency_ms)} ms`}</span>` : '';
  const ramp = r.slow_start ? `<span class="sub">slow start since ${e(clock(r.slow_start.since))} (${e(Math.round(r.slow_start.window_ms / 1000))}s)</span>` : '';
  const stateText =
    (r.state === 'draining' || r.state === 'drain' || r.state === 'maint' ? `${e(r.state)}<span class="sub">health ${e(r.health)}</span>` : e(r.state)) + ramp;
  const admin = r.admin.state === 'ready' ? '' : `<span class="sub">admin: ${e(r.admin.because.join('; '))}</span>`;
  return (
    `<tr class="real-row state-${e(r.state)}" data-real="${e(r.real)}" data-state="${e(r.state)}">` +
    td('Real', e(r.real), 'real') +
    td('State', `<span class="state">${stateText}</span>`) +
    td('Weight cfg/kern', weightCell(r.weight.config, r.weight.kernel, r.weight.dynamic)) +
    td('Conns act/inact', connections(r.connections)) +
    td('Last check', timeCell(r.last_check_at, now)) +
    td('State since', timeCell(r.last_change_at, now)) +
    td('Reason', `${r.reason === null ? 'no check result yet' : e(r.reason)}${code}${why}${admin}`, 'reason') +
    '</tr>'
  );
}

/** One row per check of a real with several, under the real's row: each check's own health. */
function checkRows(r: RealStatus, now: string): string[] {
  const checks = r.per_check ?? [];
  return checks.map((c) => {
    const code = c.code ? ` <span class="sub">${e(c.code)}${c.latency_ms === null ? '' : `, ${e(c.latency_ms)} ms`}</span>` : '';
    const streak =
      c.consecutive_successes > 0 ? `${c.consecutive_successes} success(es) in a row`
      : c.consecutive_failures > 0 ? `${c.consecutive_failures} failure(s) in a row`
      : 'no result yet';
    return (
      `<tr class="check-row state-${e(c.health)}" data-real="${e(r.real)}" data-check="${e(c.index)}" data-state="${e(c.health)}">` +
      td('Check', `check ${e(c.index)}/${e(checks.length)} ${e(c.type)}<span class="sub">${e(c.target)}</span>`, 'real check') +
      td('State', `<span class="state">${e(c.health)}</span>`) +
      td('Weight cfg/kern', '–') +
      td('Conns act/inact', '–') +
      td('Last check', timeCell(c.last_check_at, now)) +
      td('State since', timeCell(c.last_change_at, now)) +
      td('Reason', `${c.reason === null ? 'no check result yet' : e(c.reason)}${code}<span class="sub">${e(streak)}; rise ${e(c.rise)}, fall ${e(c.fall)}</span>`, 'reason') +
      '</tr>'
    );
  });
}

function serviceSection(s: ServiceStatus, now: string): string {
  const healthy = `${s.healthy_reals}/${s.total_reals} healthy`;
  const healthyClass = s.healthy_reals === 0 && s.total_reals > 0 ? 'bad' : s.healthy_reals < s.total_reals ? 'warn' : 'ok';
  const sorry = s.sorry_active ? ' <span class="pill sorry">sorry servers active</span>' : '';
  const quorum =
    s.quorum.up === false
      ? ` <span class="pill bad" data-quorum="lost">quorum lost (weight ${e(s.quorum.weight_sum ?? 0)} of ${e(s.quorum.quorum)})</span>`
      : '';
  const kernel =
    s.kernel === null ? 'kernel: unknown' : s.kernel.present ? `kernel: present, ${s.kernel.reals} real(s)` : 'kernel: not present';
  const persistence = s.persistence ? ` · persistent ${s.persistence.timeout_s}s` : '';
  const rows = [
    ...s.reals.flatMap((r) => [realRow(r, now), ...checkRows(r, now)]),
    ...s.sorry.map(
      (x) =>
        `<tr class="sorry-row state-${x.in_use ? 'sorry' : 'standby'}" data-real="${e(x.real)}" data-state="${x.in_use ? 'sorry' : 'standby'}">` +
        td('Real', e(x.real), 'real') +
        td('State', `<span class="state">${x.in_use ? 'sorry (in use)' : 'sorry (standby)'}</span>`) +
        td('Weight cfg/kern', weightCell(x.weight.config, x.weight.kernel)) +
        td('Conns act/inact', '–') +
        td('Last check', 'not checked') +
        td('State since', '–') +
        td('Reason', x.in_use ? 'the service has no quorum' : 'used only while the service has no quorum', 'reason') +
        '</tr>',
    ),
    ...s.draining.map(
      (d) =>
        `<tr class="drain-row state-draining" data-real="${e(d.real)}" data-state="draining">` +
        td('Real', e(d.real), 'real') +
        td('State', '<span class="state">draining</span>') +
        td('Weight cfg/kern', `– / ${e(d.weight_kernel)}`) +
        td('Conns act/inact', connections(d.connections)) +
        td('Last check', '–') +
        td('State since', '–') +
        td('Reason', 'removed from the config; deleted when idle or after drain_timeout', 'reason') +
        '</tr>',
    ),
  ];
  return `<section class="service" data-service="${e(s.name)}">
<div class="head"><h2>${e(s.name)} <span class="addr">${e(s.protocol)} ${e(s.address)}</span> <span class="pill ${healthyClass}">${e(healthy)}</span>${quorum}${sorry}</h2>
<p class="meta">scheduler ${e(s.scheduler)}${e(persistence)}${s.quiescent ? ' · quiescent' : ''} · ${e(kernel)} · ${e(s.defined_at)}</p></div>
<table><thead><tr><th>Real</th><th>State</th><th>Weight cfg / kernel</th><th>Conns act / inact</th><th>Last check</th><th>State since</th><th>Reason</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></section>`;
}

function adminSummary(doc: StatusDocument): string {
  const a = doc.admin;
  const n = doc.services.reduce((sum, s) => sum + s.reals.filter((r) => r.admin.state !== 'ready').length, 0);
  const where = a.control_socket ? `control socket ${a.control_socket}` : `control socket unavailable${a.control_socket_error ? `: ${a.control_socket_error}` : ''}`;
  const head = a.entries.length === 0 ? 'every real ready' : `${n} real(s) drained or in maintenance, ${a.entries.length} entr${a.entries.length === 1 ? 'y' : 'ies'}`;
  return `${e(head)}<span class="sub">${e(where)}${a.maintenance_dir ? ` · ${e(a.maintenance_dir)}` : ''}</span>`;
}

/** The VIP announce summary (BGP), one pill per VIP; empty without announce. */
function announceSummary(doc: StatusDocument): string {
  const a = doc.announce ?? null;
  if (!a) return '';
  const pills = a.vips
    .map((v) => `<span class="pill ${v.announced ? 'ok' : 'bad'}" data-vip="${e(v.vip)}" data-announced="${v.announced}" title="${e(v.state)}${v.reason ? `: ${e(v.reason)}` : ''}">${e(v.prefix)} ${v.announced ? 'announced' : e(v.state)}</span>`)
    .join(' ');
  const head = !a.results ? 'waiting for the first results' : !a.daemon_healthy ? `daemon unhealthy (${a.failed_passes} failed passes): all withdrawn` : `${a.vips.filter((v) => v.announced).length} of ${a.vips.length} announced`;
  const backend = a.backend.ok ? `${a.backend.backend} ok` : `${a.backend.backend}: ${a.backend.error ?? 'problem'}`;
  return `<div><dt>Announce</dt><dd>${e(head)} ${pills}<span class="sub">${e(backend)} · hold-down ${e(a.hold_down_ms / 1000)}s</span></dd></div>`;
}

/** The connection sync daemon's line, when lvsd.yaml configures one. */
function syncSummary(doc: StatusDocument): string {
  const s = doc.sync_daemon;
  if (!s?.configured) return '';
  const running = s.kernel.map((d) => `${d.state} on ${d.interface}, syncid ${d.syncid}${d.owned ? '' : ' (not started by lvsd)'}`).join(' · ') || 'no daemon running';
  const from = s.source === 'runtime' ? `set at run time by ${s.runtime?.by ?? '?'}` : 'from lvsd.yaml';
  const bad = s.conflicts.length > 0 || s.last_error !== null;
  const notes = [...s.conflicts, ...(s.last_error ? [s.last_error] : [])].map((n) => ` · ${e(n)}`).join('');
  return `<div><dt>Sync daemon</dt><dd><span class="pill ${bad ? 'bad' : 'ok'}" id="sync-role">${e(s.role ?? 'none')}</span> ${e(from)}<span class="sub">${e(running)}${notes}</span></dd></div>\n`;
}

export function renderStatusPage(doc: StatusDocument): string {
  const now = doc.generated_at;
  const reload = doc.config.last_reload;
  const rc = doc.reconcile;
  const problems = [...doc.healthz.problems];
  if (!reload.ok) problems.push(`the last config reload (${reload.reason}) was rejected; the previous configuration stays in force`);
  if (doc.kernel.error) problems.push(`kernel read: ${doc.kernel.error}`);
  const restart = doc.config.restart_needed ?? [];
  if (restart.length > 0) problems.push(`restart needed for: ${restart.join(', ')} (changed in lvsd.yaml since start; a reload does not apply them)`);
  // Service-level reasons of a degraded verdict (the reload one is already listed above).
  for (const r of doc.overall.reasons) if (!problems.includes(r) && !r.startsWith('the last configuration reload')) problems.push(r);
  const badge = doc.overall.state === 'healthy' ? 'ok' : doc.overall.state === 'degraded' ? 'warn' : 'bad';
  const issues = reload.issues.map((i) => `<li>${e(i.line > 0 ? `${i.file}:${i.line}:${i.col}` : i.file)}: ${e(i.message)}</li>`);
  const sync = !rc.started
    ? 'waiting for the first check round'
    : rc.consecutive_failures > 0
      ? `failing (${rc.consecutive_failures}×): ${rc.last_error ?? ''}`
      : `in sync, last ${ago(rc.last_success_at, now)}`;
  const services = doc.services.length ? doc.services.map((s) => serviceSection(s, now)).join('\n') : '<p>No services are configured.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${PAGE_REFRESH_SECONDS}">
<title>lvsd on ${e(doc.lvsd.hostname)}</title>
<style>${CSS}</style></head>
<body><header>
<h1>lvsd on ${e(doc.lvsd.hostname)} <small>${e(doc.lvsd.version)}, up ${e(ago(doc.lvsd.started_at, now).replace(/ ago$/, ''))}</small>
 <span class="pill ${badge}" data-state="${doc.overall.state}" id="healthz">${doc.overall.state}</span>${doc.lvsd.dry_run ? ' <span class="pill info">dry run</span>' : ''}</h1>
<dl class="summary">
<div><dt>Config</dt><dd><span class="pill ${reload.ok ? 'ok' : 'bad'}">${reload.ok ? 'loaded' : 'rejected'}</span> ${e(reload.reason)}, ${e(ago(reload.at, now))}<span class="sub">${e(doc.config.services)} service(s) from ${e(doc.config.files.length)} file(s) · ${e(doc.lvsd.config_dir)}</span></dd></div>
<div><dt>Kernel sync</dt><dd>${e(sync)}<span class="sub">${e(rc.passes)} passes, ${e(rc.failures)} failed, ${e(rc.draining)} draining</span></dd></div>
<div><dt>Admin</dt><dd>${adminSummary(doc)}</dd></div>
${announceSummary(doc)}
${syncSummary(doc)}<div><dt>Checks</dt><dd>${e(doc.checks.probes)} probes, ${e(doc.checks.in_flight)} running<span class="sub">last completed ${e(ago(doc.checks.last_completed_at, now))}</span></dd></div>
</dl>
${problems.length ? `<ul class="problems">${problems.map((p) => `<li>${e(p)}</li>`).join('')}${issues.join('')}</ul>` : ''}
</header>
<main>
${services}
</main>
<footer>Generated ${e(clock(now))}, refreshes every ${PAGE_REFRESH_SECONDS}s · <a href="/status">status JSON</a> · <a href="/metrics">metrics</a> · <a href="/healthz">healthz</a></footer>
</body></html>
`;
}
