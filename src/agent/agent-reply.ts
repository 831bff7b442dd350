// HAProxy's agent-check protocol: what a realserver's agent answers, parsed, and merged into the
// state it keeps (each reply changes only what it names, as in HAProxy).

/** The realserver's say over itself, as its agent last told it. */
export interface AgentState {
  /** `down` (also `failed`, `stopped`): out of traffic until an `up`. A down health check wins anyway. */
  readonly down: boolean;
  /** `drain` / `maint` until a `ready`. */
  readonly admin: 'ready' | 'drain' | 'maint';
  /** `N%`: the weight is scaled to N % of what it would be; null = 100 %. */
  readonly weightPercent: number | null;
  /** The text after `#`, if any (HAProxy's description). */
  readonly description: string | null;
}

export const AGENT_NEUTRAL: AgentState = { down: false, admin: 'ready', weightPercent: null, description: null };

export interface AgentReply {
  readonly state?: 'up' | 'down';
  readonly admin?: 'ready' | 'drain' | 'maint';
  readonly weightPercent?: number;
  readonly description?: string;
  /** Words lvsd does not act on (maxconn:N, unknown words): logged, not fatal. */
  readonly ignored: readonly string[];
}

export const MAX_WEIGHT_PERCENT = 1000;

/** Parse one reply line ("75% drain", "up ready 100%", "down # disk full"). */
export function parseAgentReply(text: string): { ok: true; reply: AgentReply } | { ok: false; error: string } {
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  const hash = line.indexOf('#');
  const words = (hash >= 0 ? line.slice(0, hash) : line).split(/[\s,]+/).filter(Boolean);
  const description = hash >= 0 ? line.slice(hash + 1).trim() : undefined;
  let state: AgentReply['state'];
  let admin: AgentReply['admin'];
  let weightPercent: number | undefined;
  const ignored: string[] = [];
  for (const raw of words) {
    const w = raw.toLowerCase();
    if (w === 'up') state = 'up';
    else if (w === 'down' || w === 'failed' || w === 'fail' || w === 'stopped') state = 'down';
    else if (w === 'ready' || w === 'drain' || w === 'maint') admin = w;
    else if (/^\d{1,4}%$/.test(w)) {
      const n = Number(w.slice(0, -1));
      if (n > MAX_WEIGHT_PERCENT) return { ok: false, error: `weight ${raw} is above ${MAX_WEIGHT_PERCENT}%` };
      weightPercent = n;
    } else ignored.push(raw);
  }
  if (state === undefined && admin === undefined && weightPercent === undefined) {
    return { ok: false, error: line.trim() === '' ? 'empty reply' : `no state, admin state or weight in ${JSON.stringify(line.slice(0, 80))}` };
  }
  return {
    ok: true,
    reply: {
      ...(state === undefined ? {} : { state }),
      ...(admin === undefined ? {} : { admin }),
      ...(weightPercent === undefined ? {} : { weightPercent }),
      ...(description === undefined || description === '' ? {} : { description }),
      ignored,
    },
  };
}

/** The state after a reply: only what the reply names changes. */
export function applyAgentReply(prev: AgentState, reply: AgentReply): AgentState {
  return {
    down: reply.state === undefined ? prev.down : reply.state === 'down',
    admin: reply.admin ?? prev.admin,
    weightPercent: reply.weightPercent ?? prev.weightPercent,
    description: reply.description ?? (reply.state !== undefined || reply.admin !== undefined ? null : prev.description),
  };
}

export function sameAgentState(a: AgentState, b: AgentState): boolean {
  return a.down === b.down && a.admin === b.admin && a.weightPercent === b.weightPercent;
}

/** "down drain 75%": the state in the agent's own words, for logs and status. */
export function describeAgentState(s: AgentState): string {
  return [s.down ? 'down' : 'up', s.admin, `${s.weightPercent ?? 100}%`].join(' ');
}
