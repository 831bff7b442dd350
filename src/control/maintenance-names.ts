// What a file in the maintenance directory means (ldirectord's maintenancedir, extended): its name
// is `IP`, `IP:PORT`, `SERVICE` or `SERVICE@IP[:PORT]`, and it puts the matching reals in maint.

import { NAME_PATTERN } from '../config/schema.js';
import type { AdminTarget } from './admin-model.js';
import { parseHostSpec } from './admin-model.js';

export type MaintenanceName =
  | { readonly ok: true; readonly target: AdminTarget }
  | { readonly ok: false; readonly ignored: true }
  | { readonly ok: false; readonly ignored: false; readonly error: string };

/** Editor and package-manager leftovers, as conf.d ignores them. */
function isLeftover(name: string): boolean {
  return (
    name.startsWith('.') ||
    name.endsWith('~') ||
    /\.(swp|tmp|bak|dpkg-(old|new|dist|tmp)|rpm(new|save|orig))$/.test(name)
  );
}

export function parseMaintenanceName(name: string): MaintenanceName {
  if (isLeftover(name)) return { ok: false, ignored: true };
  const at = name.indexOf('@');
  if (at >= 0) {
    const service = name.slice(0, at);
    const real = parseHostSpec(name.slice(at + 1));
    if (!NAME_PATTERN.test(service)) return { ok: false, ignored: false, error: `"${service}" is not a service name` };
    if (!real) return { ok: false, ignored: false, error: `"${name.slice(at + 1)}" is not IP or IP:PORT` };
    return { ok: true, target: { kind: 'real', service, real } };
  }
  const host = parseHostSpec(name);
  if (host) return { ok: true, target: { kind: 'host', real: host } };
  if (NAME_PATTERN.test(name)) return { ok: true, target: { kind: 'service', service: name } };
  return { ok: false, ignored: false, error: 'not IP, IP:PORT, SERVICE or SERVICE@IP:PORT' };
}
