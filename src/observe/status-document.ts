// Builds the /status JSON document (its shape: status-json.ts) from the daemon's state handed in:
// what the daemon thinks and why, per service and real. Pure.

import type { AnnounceStatus } from '../announce/announcer.js';
import type { SyncStatusJson } from '../control/protocol.js';
import { formatEndpoint } from '../config/endpoint.js';
import type { ServiceConfig, Snapshot } from '../config/model.js';
import { formatPos } from '../config/issues.js';
import type { ConfigIssue } from '../config/issues.js';
import type { CheckHealth, TrackedReal } from '../health/tracker.js';
import { checkStatuses } from './status-checks.js';
import type { IpvsService } from '../ipvs/model.js';
import type { ReconcilerStats, ServiceRuntime } from '../reconcile/reconciler.js';
import type { SlowStartState } from '../reconcile/slow-start.js';
import type { AgentStatus } from '../agent/agent-poller.js';
import { describeAgentState } from '../agent/agent-reply.js';
import type { SchedulerStats } from '../scheduler/types.js';
import type { KernelState } from './kernel-view.js';
import type { HealthzVerdict } from './healthz.js';
import type { AdminEntry, AdminVerdict } from '../control/admin-model.js';
import { formatTarget } from '../control/admin-model.js';
import type { HealthState } from '../model/health-state.js';
import { pairId } from '../model/keys.js';
import type { Connections, DrainingStatus, OverallState, RealStatus, ServiceStatus, SorryStatus, StatusDocument } from './status-json.js';

export type { Connections, DrainingStatus, OverallState, RealStatus, RowState, ServiceStatus, SorryStatus, StatusDocument } from './status-json.js';

export interface ReloadState {
  readonly ok: boolean;
  readonly changed: boolean;
  readonly reason: string;
  readonly at: number;
  readonly issues: readonly ConfigIssue[];
  /** The last successful load (start-up counts). */
  readonly lastSuccessAt: number | null;
}

export interface PassSummary {
  readonly at: number;
  readonly ok: boolean;
  readonly ops: number;
  readonly durationMs: number;
  readonly reasons: readonly string[];
  readonly errors: readonly string[];
}

export interface StatusInputs {
  readonly now: number;
  readonly startedAt: number;
  readonly version: string;
  readonly hostname: string;
  readonly pid: number;
  readonly dryRun: boolean;
  readonly configDir: string;
  readonly listen: string;
  readonly snapshot: Snapshot;
  readonly health: (serviceKey: string, realKey: string) => TrackedReal | undefined;
  /** The checks of a real with several (HealthTracker.checksOf); absent: no per-check entries. */
  readonly checksOf?: (serviceKey: string, realKey: string) => readonly CheckHealth[] | null;
  /** The reason of the pair's last health change (tracked by the observer from health events). */
  readonly lastTransition: (serviceKey: string, realKey: string) => string | undefined;
  readonly reconciler: ReconcilerStats;
  readonly failingSince: number | null;
  readonly lastPass: PassSummary | null;
  readonly scheduler: SchedulerStats;
  readonly lastCheckAt: number | null;
  readonly reload: ReloadState;
  /** lvsd.yaml settings changed since start that only a restart applies (their YAML names). */
  readonly restartNeeded?: readonly string[];
  readonly kernel: KernelState;
  readonly healthz: HealthzVerdict;
  /** Quorum and sorry state of the reconciler's last committed pass. */
  readonly services?: ReadonlyMap<string, ServiceRuntime>;
  /** Reals in slow start. */
  readonly slowStarts?: SlowStartState;
  /** Realserver agents; undefined for a real without one. */
  readonly agents?: (serviceKey: string, realKey: string) => AgentStatus | undefined;
  /** Admin state; absent: every real ready, no control socket (tests of other parts). */
  readonly admin?: AdminStatusInputs;
  /** VIP announce state; absent: not configured. */
  readonly announce?: AnnounceStatus | null;
  /** The connection sync daemon keeper's state; absent: no keeper (tests of other parts). */
  readonly sync?: SyncStatusJson;
}

export interface AdminStatusInputs {
  verdict(serviceKey: string, realKey: string): AdminVerdict;
  entries(): readonly AdminEntry[];
  readonly socket: string | null;
  readonly socketError: string | null;
  readonly maintenanceDir: string | null;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function serviceAddress(s: ServiceConfig): string {
  return s.kind === 'fwmark' ? `fwmark ${s.fwmark}${s.family === 6 ? ' (IPv6)' : ''}` : formatEndpoint(s.vip);
}

function connectionsOf(kernel: KernelState, serviceKey: string, realKey: string): Connections | null {
  const c = kernel.counters?.get(serviceKey)?.get(realKey);
  return c ? { active: c.activeConns, inactive: c.inactiveConns } : null;
}

function agentOf(inputs: StatusInputs, serviceKey: string, realKey: string): RealStatus['agent'] {
  const a = inputs.agents?.(serviceKey, realKey);
  return a ? { state: describeAgentState(a.state), reply: a.reply, error: a.error, last_at: iso(a.lastAt) } : null;
}

function rampOf(inputs: StatusInputs, serviceKey: string, realKey: string): RealStatus['slow_start'] {
  const ramp = inputs.slowStarts?.get(pairId(serviceKey, realKey));
  return ramp ? { since: iso(ramp.since)!, window_ms: ramp.windowMs } : null;
}

function realStatus(service: ServiceConfig, real: ServiceConfig['reals'][number], inputs: StatusInputs, ks: IpvsService | undefined): RealStatus {
  const tracked = inputs.health(service.key, real.key);
  const h = tracked?.health;
  const health: HealthState = h?.state ?? 'unknown';
  const last = h?.lastResult ?? null;
  const kernelKey = real.key;
  const kernelReal = ks?.reals.get(kernelKey);
  const adminDrain = real.weight === 0 && health === 'up';
  const admin = inputs.admin?.verdict(service.key, real.key);
  const adminState = admin?.state ?? 'ready';
  return {
    real: real.key,
    health,
    state: adminState !== 'ready' ? adminState : adminDrain ? 'draining' : health,
    reason: last?.reason ?? null,
    code: last?.code ?? null,
    latency_ms: last ? Math.round(last.latencyMs * 10) / 10 : null,
    transition_reason: inputs.lastTransition(service.key, real.key) ?? null,
    last_check_at: iso(h?.lastCheckAt ?? null),
    last_change_at: iso(h?.since ?? null),
    checks: h?.checks ?? 0,
    consecutive_successes: h?.successes ?? 0,
    consecutive_failures: h?.failures ?? 0,
    forwarding: real.forwarding,
    weight: { config: real.weight, dynamic: h?.weight ?? null, kernel: kernelReal?.weight ?? null },
    in_kernel: kernelReal !== undefined,
    connections: connectionsOf(inputs.kernel, service.key, kernelKey),
    traffic: inputs.kernel.stats?.get(service.key)?.reals.get(kernelKey) ?? null,
    slow_start: rampOf(inputs, service.key, real.key),
    agent: agentOf(inputs, service.key, real.key),
    admin: { state: adminState, because: (admin?.entries ?? []).map((e) => `${e.state} by ${e.source} (${e.by})`) },
    per_check: checkStatuses(service, real, inputs.checksOf?.(service.key, real.key) ?? null),
  };
}

function serviceStatus(service: ServiceConfig, inputs: StatusInputs): ServiceStatus {
  const kernelKnown = inputs.kernel.table !== null;
  const ks = inputs.kernel.table?.services.get(service.key);
  const reals = service.reals.map((r) => realStatus(service, r, inputs, ks));
  const sorry = service.sorry.map((s): SorryStatus => {
    const key = s.key;
    const k = ks?.reals.get(key);
    return { real: key, in_use: k !== undefined, weight: { config: s.weight, kernel: k?.weight ?? null } };
  });
  const runtime = inputs.services?.get(service.key);
  const configured = new Set([...service.reals.map((r) => r.key), ...sorry.map((s) => s.real)]);
  const draining: DrainingStatus[] = [];
  for (const [key, k] of ks?.reals ?? []) {
    if (configured.has(key)) continue;
    draining.push({ real: key, weight_kernel: k.weight, connections: connectionsOf(inputs.kernel, service.key, key) });
  }
  return {
    name: service.name,
    key: service.key,
    address: serviceAddress(service),
    protocol: service.kind === 'fwmark' ? 'fwmark' : service.protocol,
    scheduler: service.scheduler,
    persistence: service.persistence ? { timeout_s: service.persistence.timeoutS, netmask: service.persistence.netmask } : null,
    quiescent: service.quiescent,
    defined_at: formatPos(service.pos),
    healthy_reals: reals.filter((r) => r.health === 'up').length,
    total_reals: reals.length,
    sorry_active: kernelKnown ? sorry.some((s) => s.in_use) : null,
    quorum: {
      up: runtime?.quorum.up ?? null,
      weight_sum: runtime?.quorum.weightSum ?? null,
      quorum: service.quorum,
      hysteresis: service.hysteresis,
    },
    kernel: kernelKnown
      ? {
          present: ks !== undefined,
          scheduler: ks?.scheduler ?? null,
          reals: ks?.reals.size ?? 0,
          traffic: inputs.kernel.stats?.get(service.key)?.total ?? null,
        }
      : null,
    reals,
    sorry,
    draining,
  };
}

function overall(inputs: StatusInputs, services: readonly ServiceStatus[]): StatusDocument['overall'] {
  const reasons: string[] = [...inputs.healthz.problems];
  const degraded: string[] = [];
  for (const s of services) {
    if (s.quorum.up === false) degraded.push(`${s.name} has lost quorum (healthy weight ${s.quorum.weight_sum ?? 0}, quorum ${s.quorum.quorum})`);
    if (s.sorry_active === true) degraded.push(`${s.name} is on its sorry servers`);
  }
  // The heading must not say healthy while the kernel line says FAILING (issue 18, newcomer list).
  const rc = inputs.reconciler;
  if (rc.consecutiveFailures > 0) degraded.push(`the kernel table is not in sync: ${rc.consecutiveFailures} reconcile pass(es) failed in a row${rc.lastError ? ` (${rc.lastError})` : ''}`);
  if (!inputs.reload.ok) degraded.push(`the last configuration reload was rejected (${inputs.reload.issues.length} issue(s)); the previous configuration stays in force`);
  const state: OverallState = !inputs.healthz.ok ? 'unhealthy' : degraded.length > 0 ? 'degraded' : 'healthy';
  return { state, reasons: [...reasons, ...degraded] };
}

export function buildStatusDocument(inputs: StatusInputs): StatusDocument {
  const { reconciler: r, scheduler: s, reload, snapshot } = inputs;
  const services = snapshot.services.map((svc) => serviceStatus(svc, inputs));
  return {
    lvsd: {
      version: inputs.version,
      hostname: inputs.hostname,
      pid: inputs.pid,
      started_at: iso(inputs.startedAt)!,
      dry_run: inputs.dryRun,
      config_dir: inputs.configDir,
      listen: inputs.listen,
    },
    generated_at: iso(inputs.now)!,
    healthz: { ok: inputs.healthz.ok, problems: inputs.healthz.problems },
    overall: overall(inputs, services),
    config: {
      files: snapshot.files,
      hash: snapshot.hash,
      services: snapshot.services.length,
      last_reload: { ok: reload.ok, changed: reload.changed, reason: reload.reason, at: iso(reload.at)!, issues: reload.issues },
      last_success_at: iso(reload.lastSuccessAt),
      restart_needed: inputs.restartNeeded ?? [],
    },
    reconcile: {
      started: r.started,
      passes: r.passes,
      failures: r.failures,
      consecutive_failures: r.consecutiveFailures,
      failing_since: iso(inputs.failingSince),
      last_success_at: iso(r.lastSuccessAt),
      last_error: r.lastError,
      draining: r.draining,
      operations: { ...r.opsApplied },
      last_pass: inputs.lastPass
        ? {
            at: iso(inputs.lastPass.at)!,
            ok: inputs.lastPass.ok,
            ops: inputs.lastPass.ops,
            duration_ms: inputs.lastPass.durationMs,
            reasons: inputs.lastPass.reasons,
            errors: inputs.lastPass.errors,
          }
        : null,
    },
    checks: {
      probes: s.probes,
      in_flight: s.inFlight,
      queued: s.queued,
      completed: s.completed,
      overruns: s.overruns,
      last_completed_at: iso(inputs.lastCheckAt),
    },
    kernel: { read_at: iso(inputs.kernel.at), error: inputs.kernel.error },
    announce: inputs.announce ?? null,
    admin: {
      control_socket: inputs.admin?.socket ?? null,
      control_socket_error: inputs.admin?.socketError ?? null,
      maintenance_dir: inputs.admin?.maintenanceDir ?? null,
      entries: (inputs.admin?.entries() ?? []).map((e) => ({ source: e.source, target: formatTarget(e.target), state: e.state, by: e.by, since: iso(e.since)! })),
    },
    sync_daemon: inputs.sync ?? null,
    services,
  };
}
