// The validated lvsd.yaml to its resolved global settings: defaults applied, paths under the config
// dir, the listen address, announce and sync_daemon, and the predicates their checks share.
// A service document is resolved in resolve-service.ts.

import { isIPv4, isIPv6 } from 'node:net';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { GlobalConfig, SyncDaemonConfig } from './model.js';
import { parseEndpoint } from './endpoint.js';
import type { IssueList } from './issues.js';
import type { YamlDoc } from './positions.js';
import type { RawGlobal, RawSyncDaemon } from './schema.js';
import { BUILTIN } from './schema.js';
import { resolveAnnounce } from './announce-resolve.js';

export function resolveGlobal(raw: RawGlobal, doc: YamlDoc | null, configDir: string, issues: IssueList): GlobalConfig {
  let listen: GlobalConfig['listen'] = BUILTIN.listen;
  if (raw.listen !== undefined && doc) {
    const r = parseEndpoint(raw.listen);
    if (r.ok) listen = { host: r.endpoint.host, port: r.endpoint.port };
    else issues.add(doc.at(['listen']), `listen: ${r.error}`);
  }
  const stateDir = raw.state_dir ?? BUILTIN.stateDir;
  const underConfig = (p: string): string => (isAbsolute(p) ? p : resolvePath(configDir, p));
  const controlSocket = underConfig(raw.control_socket ?? BUILTIN.controlSocket);
  // The kernel's limit for a Unix socket path (sun_path): a longer one could never be bound.
  if (raw.control_socket !== undefined && doc && Buffer.byteLength(controlSocket) > 107) {
    issues.add(doc.at(['control_socket']), `control_socket: "${controlSocket}" is ${Buffer.byteLength(controlSocket)} bytes long; a Unix socket path has at most 107`);
  }
  return {
    listen,
    ipvsadm: raw.ipvsadm ?? BUILTIN.ipvsadm,
    resyncIntervalMs: raw.resync_interval ?? BUILTIN.resyncIntervalMs,
    drainTimeoutMs: raw.drain_timeout ?? BUILTIN.drainTimeoutMs,
    cleanStop: raw.clean_stop ?? BUILTIN.cleanStop,
    logLevel: raw.log_level ?? BUILTIN.logLevel,
    // Relative to the config dir, so a self-contained directory (examples/demo) works from any cwd.
    stateDir: isAbsolute(stateDir) ? stateDir : resolvePath(configDir, stateDir),
    maxConcurrentChecks: raw.max_concurrent_checks ?? BUILTIN.maxConcurrentChecks,
    checkThreads: raw.check_threads ?? null,
    controlSocket,
    maintenanceDir: raw.maintenance_dir === undefined ? null : underConfig(raw.maintenance_dir),
    dnsStateFile: raw.dns_state_file === undefined || raw.dns_state_file === null ? null : underConfig(raw.dns_state_file),
    announce: resolveAnnounce(raw.announce, doc, configDir, controlSocket, issues),
    syncDaemon: raw.sync_daemon === undefined || raw.sync_daemon === null || !doc ? null : resolveSyncDaemon(raw.sync_daemon, doc, issues),
  };
}

/**
 * A network interface name the kernel accepts (dev_valid_name): 1-15 bytes, not "." or "..", no
 * "/", ":" or white space. Whether it exists is the running director's business, not check-config's.
 */
export function interfaceNameProblem(name: string): string | null {
  if (name === '' || Buffer.byteLength(name) > 15) return 'is 1 to 15 characters long';
  if (name === '.' || name === '..' || /[/:\s]/.test(name)) return 'may not be "." or "..", nor contain "/", ":" or white space';
  // ipvsadm's option parser reads `--mcast-interface -x` as another option, not as a name.
  if (name.startsWith('-')) return 'may not start with "-" (ipvsadm would read it as an option)';
  return null;
}

/** An IPv4 (224.0.0.0/4) or IPv6 (ff00::/8) multicast address, as ipvsadm's --mcast-group wants (no zone id). */
export function multicastProblem(text: string): string | null {
  if (isIPv4(text)) return Number(text.split('.')[0]) >= 224 && Number(text.split('.')[0]) <= 239 ? null : 'is not an IPv4 multicast address (224.0.0.0-239.255.255.255)';
  // Node's isIPv6 takes a zone id (ff02::1%eth0); ipvsadm's inet_pton does not: the interface
  // is sync_daemon.interface.
  if (text.includes('%')) return 'has a zone id ("%..."), which ipvsadm refuses; the interface is sync_daemon.interface';
  if (isIPv6(text)) return /^ff/i.test(text) ? null : 'is not an IPv6 multicast address (ff00::/8)';
  return 'is not an IP address';
}

function resolveSyncDaemon(raw: RawSyncDaemon, doc: YamlDoc, issues: IssueList): SyncDaemonConfig {
  const role = raw.role ?? 'backup';
  if (raw.interface === undefined && role !== 'none') {
    issues.add(doc.at(['sync_daemon'], 'key'), `sync_daemon: interface is required (the --mcast-interface the ${role === 'both' ? 'daemons send and listen' : role === 'master' ? 'master sends' : 'backup listens'} on)`);
  }
  if (raw.interface !== undefined) {
    const problem = interfaceNameProblem(raw.interface);
    if (problem) issues.add(doc.at(['sync_daemon', 'interface'], 'value'), `sync_daemon.interface: "${raw.interface}" ${problem}`);
  }
  let group: string | null = null;
  if (raw.mcast_group !== undefined) {
    const problem = multicastProblem(raw.mcast_group);
    if (problem) issues.add(doc.at(['sync_daemon', 'mcast_group'], 'value'), `sync_daemon.mcast_group: "${raw.mcast_group}" ${problem}`);
    else group = raw.mcast_group.toLowerCase();
  }
  return {
    role,
    interface: raw.interface ?? null,
    syncid: raw.syncid ?? 0,
    maxlen: raw.sync_maxlen ?? null,
    group,
    port: raw.mcast_port ?? null,
    ttl: raw.mcast_ttl ?? null,
    pos: doc.at(['sync_daemon'], 'key'),
  };
}
