// Polls every realserver agent (HAProxy agent-check) on its interval and keeps the state each one
// last reported. One poll per distinct agent (host, port, send, timing), shared by every service
// that lists the real, like a probe. An unreachable agent changes nothing (HAProxy: connectivity
// is the health check's business); its error is kept for status.

import type { Endpoint, Snapshot } from '../config/model.js';
import { probeAgent } from '../checks/agent.js';
import type { AgentProbeResult, AgentTarget } from '../checks/agent.js';
import { ThrottledWarning } from '../throttled-warning.js';
import type { Logger } from '../log.js';
import { AGENT_NEUTRAL, applyAgentReply, describeAgentState, parseAgentReply, sameAgentState } from './agent-reply.js';
import type { AgentState } from './agent-reply.js';
import { pairId } from '../model/keys.js';
import type { PairId } from '../model/keys.js';

/** How desired reads agents; undefined for a real without one. */
export type AgentView = (serviceKey: string, realKey: string) => AgentState | undefined;

export interface AgentStatus {
  readonly state: AgentState;
  /** The last reply as received, or null before one. */
  readonly reply: string | null;
  /** The last probe's error, null when it answered. */
  readonly error: string | null;
  readonly lastAt: number | null;
}

export interface AgentChange {
  readonly serviceKey: string;
  readonly service: string;
  readonly real: string;
  readonly address: Endpoint;
  readonly agentPort: number;
  readonly from: AgentState;
  readonly to: AgentState;
  readonly reply: string;
}

interface Member {
  readonly serviceKey: string;
  readonly service: string;
  readonly realKey: string;
  readonly address: Endpoint;
}

interface Agent {
  readonly id: string;
  readonly target: AgentTarget;
  readonly intervalMs: number;
  members: Member[];
  status: AgentStatus;
  timer: NodeJS.Timeout | null;
  running: boolean;
  /** Replies not understood: a garbage agent changes its error on every poll, so once a minute. */
  readonly garbage: ThrottledWarning;
}

/** At most one "agent reply not understood" line per agent per this period, with the count. */
export const AGENT_GARBAGE_PERIOD_MS = 60_000;

export interface AgentPollerOptions {
  readonly logger: Logger;
  /** Agent states that changed (after the change is in the view). */
  readonly onChange: (changes: readonly AgentChange[]) => void;
  readonly probe?: (target: AgentTarget) => Promise<AgentProbeResult>;
  readonly now?: () => number;
}

export class AgentPoller {
  readonly #o: AgentPollerOptions;
  readonly #probe: (target: AgentTarget) => Promise<AgentProbeResult>;
  readonly #now: () => number;
  #agents = new Map<string, Agent>();
  /** (service, real) -> agent id. */
  #byPair = new Map<PairId, string>();
  #stopped = false;

  constructor(options: AgentPollerOptions) {
    this.#o = options;
    this.#probe = options.probe ?? probeAgent;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Follow a new snapshot: agents that survive keep their state; new ones start polling. Returns
   * the pairs that lost an agent which had them out of `ready` (the caller clears that admin entry).
   */
  update(snapshot: Snapshot): AgentChange[] {
    const next = new Map<string, Agent>();
    const byPair = new Map<PairId, string>();
    for (const service of snapshot.services) {
      for (const real of service.reals) {
        const spec = real.agent;
        if (!spec) continue;
        const id = JSON.stringify([real.address.host, spec.port, spec.send, spec.intervalMs, spec.timeoutMs]);
        let agent = next.get(id);
        if (!agent) {
          const old = this.#agents.get(id);
          agent = old ?? {
            id,
            target: { host: real.address.host, port: spec.port, send: spec.send, timeoutMs: spec.timeoutMs },
            intervalMs: spec.intervalMs,
            members: [],
            status: { state: AGENT_NEUTRAL, reply: null, error: null, lastAt: null },
            timer: null,
            running: false,
            garbage: new ThrottledWarning(this.#o.logger, AGENT_GARBAGE_PERIOD_MS, this.#now),
          };
          agent.members = [];
          next.set(id, agent);
        }
        agent.members.push({ serviceKey: service.key, service: service.name, realKey: real.key, address: real.address });
        byPair.set(pairId(service.key, real.key), id);
      }
    }
    const dropped: AgentChange[] = [];
    for (const [id, old] of this.#agents) {
      if (!next.has(id) && old.timer) clearTimeout(old.timer);
      if (old.status.state.admin === 'ready') continue;
      for (const m of old.members) {
        if (byPair.has(pairId(m.serviceKey, m.realKey))) continue;
        dropped.push({ ...m, real: m.realKey, agentPort: old.target.port, from: old.status.state, to: AGENT_NEUTRAL, reply: '' });
      }
    }
    this.#agents = next;
    this.#byPair = byPair;
    for (const agent of next.values()) {
      // First poll spread over the interval, as checks are.
      if (!agent.timer && !agent.running && !this.#stopped) this.#schedule(agent, Math.floor(Math.random() * agent.intervalMs));
    }
    return dropped;
  }

  view(): AgentView {
    return (serviceKey, realKey) => {
      const id = this.#byPair.get(pairId(serviceKey, realKey));
      return id === undefined ? undefined : this.#agents.get(id)?.status.state;
    };
  }

  status(serviceKey: string, realKey: string): AgentStatus | undefined {
    const id = this.#byPair.get(pairId(serviceKey, realKey));
    return id === undefined ? undefined : this.#agents.get(id)?.status;
  }

  stop(): void {
    this.#stopped = true;
    for (const a of this.#agents.values()) if (a.timer) clearTimeout(a.timer);
  }

  #schedule(agent: Agent, delayMs: number): void {
    agent.timer = setTimeout(() => {
      agent.timer = null;
      void this.#poll(agent);
    }, delayMs);
    agent.timer.unref();
  }

  async #poll(agent: Agent): Promise<void> {
    if (this.#stopped || this.#agents.get(agent.id) !== agent) return;
    agent.running = true;
    const started = this.#now();
    let r: AgentProbeResult;
    try {
      r = await this.#probe(agent.target);
    } finally {
      agent.running = false;
    }
    if (this.#stopped || this.#agents.get(agent.id) !== agent) return;
    const at = this.#now();
    const prev = agent.status.state;
    if (!r.ok) {
      if (agent.status.error !== r.error) this.#o.logger.debug({ event: 'agent_error', agent: agent.target.host, port: agent.target.port, err: r.error }, 'agent did not answer; its last state stays');
      agent.status = { ...agent.status, error: r.error, lastAt: at };
    } else {
      const parsed = parseAgentReply(r.text);
      if (!parsed.ok) {
        if (agent.status.error !== parsed.error) agent.garbage.log({ event: 'agent_error', agent: agent.target.host, port: agent.target.port, err: parsed.error }, 'agent reply not understood; its last state stays');
        agent.status = { ...agent.status, error: parsed.error, reply: r.text, lastAt: at };
      } else {
        agent.garbage.reset();
        const state = applyAgentReply(prev, parsed.reply);
        agent.status = { state, reply: r.text, error: null, lastAt: at };
        if (!sameAgentState(prev, state)) {
          const changes = agent.members.map((m) => ({ ...m, real: m.realKey, agentPort: agent.target.port, from: prev, to: state, reply: r.text }));
          for (const c of changes) {
            this.#o.logger.info(
              { event: 'agent_change', service: c.service, real: c.real, from: describeAgentState(prev), to: describeAgentState(state), reply: r.text.slice(0, 200) },
              `${c.service} ${c.real}: agent says ${describeAgentState(state)}`,
            );
          }
          this.#o.onChange(changes);
        }
      }
    }
    if (!this.#stopped) this.#schedule(agent, Math.max(0, agent.intervalMs - (at - started)));
  }
}
