// Small text helpers shared by the status page and `lvsd status`: ages, clock times, escaping.

/** "just now", "42s", "3m 05s", "2h 10m", "4d 3h": how long ago, short enough for a table cell. */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms) || ms < 1000) return ms < 0 ? 'in the future' : 'just now';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** "42s ago" relative to `now`, or "never" for null. Both are ISO strings from the status document. */
export function ago(iso: string | null, nowIso: string): string {
  if (iso === null) return 'never';
  const age = formatAge(Date.parse(nowIso) - Date.parse(iso));
  return age === 'just now' || age === 'in the future' ? age : `${age} ago`;
}

/** "2024-05-01 12:03:04Z": an ISO time without milliseconds, readable in a table. */
export function clock(iso: string | null): string {
  if (iso === null) return '-';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for HTML element content and quoted attribute values. Everything shown goes through this. */
export function escapeHtml(text: string | number | boolean | null | undefined): string {
  return String(text ?? '').replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** The reason of the last health change when it says more than the last check's reason. */
export function transitionNote(transition: string | null, reason: string | null): string | null {
  if (transition === null || transition === reason || transition === `first check: ${reason}`) return null;
  return transition;
}
