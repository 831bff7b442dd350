// lvsd.yaml `announce` resolved: defaults, the socket path, addresses normalised, and the rules that
// tie it to conf.d (an announced VIP must be served, its deciding services must exist on it).

import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import type { AnnounceConfig, AnnounceVip, ServiceConfig } from './model.js';
import { normaliseIp } from './endpoint.js';
import type { IssueList } from './issues.js';
import { formatPos } from './issues.js';
import type { YamlDoc } from './positions.js';
import type { RawAnnounce } from './schema.js';

export const ANNOUNCE_DEFAULTS = {
  holdDownMs: 10_000,
  unhealthyAfter: 3,
  interface: 'lvsd0',
  socketName: 'exabgp.sock',
} as const;

/** The kernel's limit for a Unix socket path (sun_path minus the NUL). */
const SOCKET_PATH_MAX = 107;

/**
 * Everything `announce` says on its own. `vips` is checked against the services later
 * (checkAnnounceVips), once conf.d is read; here only the addresses themselves.
 */
export function resolveAnnounce(
  raw: RawAnnounce | null | undefined,
  doc: YamlDoc | null,
  configDir: string,
  controlSocket: string,
  issues: IssueList,
): AnnounceConfig | null {
  if (raw === undefined || raw === null || !doc) return null;
  const underConfig = (p: string): string => (isAbsolute(p) ? p : resolvePath(configDir, p));
  // Next to the control socket: the same root-only runtime directory (/run/lvsd by default).
  const socket = raw.socket === undefined ? join(dirname(controlSocket), ANNOUNCE_DEFAULTS.socketName) : underConfig(raw.socket);
  if (Buffer.byteLength(socket) > SOCKET_PATH_MAX) {
    const pos = raw.socket === undefined ? doc.at(['announce'], 'key') : doc.at(['announce', 'socket']);
    const how = raw.socket === undefined ? ' (the default, next to control_socket; set announce.socket)' : '';
    issues.add(pos, `announce.socket: "${socket}"${how} is ${Buffer.byteLength(socket)} bytes long; a Unix socket path has at most ${SOCKET_PATH_MAX}`);
  }
  let vips: AnnounceVip[] | null = null;
  if (raw.vips !== undefined) {
    vips = [];
    const seen = new Map<string, number>();
    raw.vips.forEach((v, i) => {
      const ip = normaliseIp(v.address);
      const pos = doc.at(['announce', 'vips', i, 'address']);
      if (!ip) {
        issues.add(pos, `announce.vips[${i}].address: "${v.address}" is not an IP address (give the VIP without a port, e.g. 192.0.2.10 or 2001:db8::10)`);
        return;
      }
      const first = seen.get(ip.host);
      if (first !== undefined) {
        issues.add(pos, `announce.vips[${i}].address: ${ip.host} is already listed (announce.vips[${first}], ${formatPos(doc.at(['announce', 'vips', first, 'address']))})`);
        return;
      }
      seen.set(ip.host, i);
      vips!.push({ vip: ip.host, family: ip.family, services: v.services ?? null });
    });
  }
  return {
    backend: raw.backend,
    holdDownMs: raw.hold_down ?? ANNOUNCE_DEFAULTS.holdDownMs,
    unhealthyAfter: raw.unhealthy_after ?? ANNOUNCE_DEFAULTS.unhealthyAfter,
    interface: raw.interface ?? ANNOUNCE_DEFAULTS.interface,
    socket,
    socketGroup: raw.socket_group ?? null,
    vips,
  };
}

/** The numeric id of a group in /etc/group, or null (what `socket_group` and the daemon both use). */
export async function groupId(name: string, file = '/etc/group'): Promise<number | null> {
  const text = await readFile(file, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [n, , gid] = line.split(':');
    if (n === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return null;
}

/** announce.socket_group names a group this machine has (the daemon chowns the socket to it). */
export async function checkAnnounceGroup(announce: AnnounceConfig | null, doc: YamlDoc | null, issues: IssueList): Promise<void> {
  if (!announce?.socketGroup || !doc) return;
  if ((await groupId(announce.socketGroup)) === null) {
    issues.add(doc.at(['announce', 'socket_group']), `announce.socket_group: no group "${announce.socketGroup}" in /etc/group (create it, or leave socket_group out: root only)`);
  }
}

/** Every listed VIP is the address of some service, and the services it names are on that address. */
export function checkAnnounceVips(
  announce: AnnounceConfig | null,
  raw: RawAnnounce | null | undefined,
  doc: YamlDoc | null,
  services: readonly ServiceConfig[],
  issues: IssueList,
): void {
  if (!announce?.vips || !raw?.vips || !doc) return;
  const onVip = new Map<string, string[]>();
  const byName = new Map<string, ServiceConfig>();
  for (const s of services) {
    byName.set(s.name, s);
    if (s.kind !== 'address') continue;
    const list = onVip.get(s.vip.host) ?? [];
    list.push(s.name);
    onVip.set(s.vip.host, list);
  }
  raw.vips.forEach((v, i) => {
    const ip = normaliseIp(v.address);
    if (!ip) return; // reported by resolveAnnounce
    const here = onVip.get(ip.host);
    if (!here) {
      issues.add(
        doc.at(['announce', 'vips', i, 'address']),
        `announce.vips[${i}].address: no service in conf.d uses ${ip.host}; an announced VIP must be the address of a service (fwmark services have none)`,
      );
      return;
    }
    (v.services ?? []).forEach((name, j) => {
      const pos = doc.at(['announce', 'vips', i, 'services', j]);
      const s = byName.get(name);
      if (!s) issues.add(pos, `announce.vips[${i}].services: no service is named "${name}" (services on ${ip.host}: ${here.join(', ')})`);
      else if (s.kind !== 'address' || s.vip.host !== ip.host) {
        const where = s.kind === 'address' ? `is on ${s.vip.host}` : `is a fwmark service`;
        issues.add(pos, `announce.vips[${i}].services: service "${name}" ${where}, not on ${ip.host} (services on ${ip.host}: ${here.join(', ')})`);
      }
    });
  });
}
