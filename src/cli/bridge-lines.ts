// The lines `lvsd exabgp-bridge` writes about its connection to lvsd (ExaBGP puts them in its log):
// "connected" and "closed" each at most once a minute, so an lvsd that closes at once (its bridge
// cap reached, a crash loop) does not fill ExaBGP's log with two lines a second (issue 18). What a
// minute folded is told once it is over, with how the connection stands then.

export const BRIDGE_LINE_PERIOD_MS = 60_000;

export type BridgeEvent = 'connected' | 'closed';

export interface BridgeLines {
  event(what: BridgeEvent): void;
  stop(): void;
}

export function bridgeLines(path: string, write: (line: string) => void, periodMs = BRIDGE_LINE_PERIOD_MS, now: () => number = Date.now): BridgeLines {
  const lastAt: Record<BridgeEvent, number> = { connected: -Infinity, closed: -Infinity };
  const folded: Record<BridgeEvent, number> = { connected: 0, closed: 0 };
  let state: BridgeEvent = 'closed';
  let timer: NodeJS.Timeout | null = null;
  const text: Record<BridgeEvent, string> = { connected: `connected to ${path}`, closed: 'lvsd closed the connection; reconnecting' };

  const summary = (): void => {
    timer = null;
    const { connected, closed } = folded;
    folded.connected = folded.closed = 0;
    // The next event after a summary is told at once: the summary said where things stand.
    lastAt.connected = lastAt.closed = -Infinity;
    if (connected + closed === 0) return;
    write(`lvsd exabgp-bridge: ${connected} connection(s) and ${closed} close(s) by lvsd not shown in the last ${periodMs / 1000}s; ${state === 'connected' ? `connected to ${path} now` : 'not connected now; reconnecting'}\n`);
  };

  return {
    event(what) {
      state = what;
      const t = now();
      if (t - lastAt[what] >= periodMs) {
        lastAt[what] = t;
        write(`lvsd exabgp-bridge: ${text[what]}\n`);
        return;
      }
      folded[what]++;
      if (timer === null) {
        timer = setTimeout(summary, periodMs);
        timer.unref();
      }
    },
    stop() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}
