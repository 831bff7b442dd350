// The typed side of the client agent (client-agent.ts): one long-lived node process inside the
// client namespace that sends HTTP, DNS and TCP requests through VIPs and says who answered.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManagedProcess } from './servers.js';

const agentScript = join(fileURLToPath(new URL('.', import.meta.url)), 'client-agent.js');

export interface HttpReply {
  readonly status: number;
  readonly body: string;
  /** The realserver's name (x-served-by header of http-server.js), if it sent one. */
  readonly servedBy: string | undefined;
}

export interface DnsAnswer {
  readonly type: string;
  readonly name: string;
  /** A/AAAA: the address; TXT: the joined strings; others: JSON. */
  readonly data: string;
}

export interface DnsReply {
  readonly rcode: string;
  readonly answers: readonly DnsAnswer[];
}

export interface DnsQuery {
  readonly server: string;
  readonly name: string;
  readonly type?: string;
  readonly port?: number;
  readonly transport?: 'udp' | 'tcp';
  readonly timeoutMs?: number;
}

export interface Hold {
  readonly holdId: number;
  readonly servedBy: string | undefined;
  readonly body: string;
}

/** A keep-alive HTTP connection through a VIP (see Client.openSession). */
export interface Session {
  readonly sessionId: number;
  /** The url it was opened with; sessionGet() asks for it again. */
  readonly url: string;
  /** The realserver that answered the first request. */
  readonly servedBy: string | undefined;
  /** The client's port of the connection: the same port later means the same TCP connection. */
  readonly localPort: number;
}

export interface SessionReply extends HttpReply {
  readonly localPort: number;
  /** True when the request went over the connection the session already had. */
  readonly reused: boolean;
}

interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly [key: string]: unknown;
}

/** "http://10.20.0.10/" or "http://[fd00:20::10]:8080/path" from an address and port. */
export function httpUrl(address: string, port = 80, path = '/'): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return `http://${host}:${port}${path}`;
}

export class Client {
  private readonly proc: ManagedProcess;
  private readonly pending = new Map<number, (reply: Reply) => void>();
  private nextId = 1;

  constructor(readonly ns: string) {
    this.proc = new ManagedProcess({
      label: `${ns}-agent`,
      ns,
      command: process.execPath,
      args: [agentScript],
      ready: /"ready":true/,
    });
    this.proc.onLine((line) => {
      if (!line.startsWith('{')) return;
      let reply: Reply;
      try {
        reply = JSON.parse(line) as Reply;
      } catch {
        return;
      }
      const settle = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      settle?.(reply);
    });
  }

  async start(): Promise<this> {
    await this.proc.start();
    void this.proc.exited.then(() => {
      for (const [id, settle] of this.pending) settle({ id, ok: false, error: 'client agent exited' });
      this.pending.clear();
    });
    return this;
  }

  async stop(): Promise<void> {
    await this.proc.dispose();
  }

  /** Sends one request to the agent; rejects with the agent's error text when it failed. */
  async request(op: string, fields: Record<string, unknown>): Promise<Reply> {
    if (!this.proc.running) throw new Error(`client agent in ${this.ns} is not running`);
    const id = this.nextId++;
    const reply = await new Promise<Reply>((resolve) => {
      this.pending.set(id, resolve);
      this.proc.stdin.write(`${JSON.stringify({ id, op, ...fields })}\n`);
    });
    if (!reply.ok) throw new Error(`${op} ${JSON.stringify(fields)}: ${reply.error ?? 'failed'}`);
    return reply;
  }

  /** One HTTP GET over a fresh connection. */
  async http(url: string, timeoutMs = 5000): Promise<HttpReply> {
    const r = await this.request('http', { url, timeoutMs });
    return { status: r['status'] as number, body: r['body'] as string, servedBy: r['servedBy'] as string | undefined };
  }

  /** Who answered one GET: the name from "hello from NAME". */
  async whoAnswers(url: string, timeoutMs = 5000): Promise<string> {
    const reply = await this.http(url, timeoutMs);
    const m = /^hello from (\S+)/.exec(reply.body);
    if (m?.[1] === undefined) throw new Error(`GET ${url}: unexpected answer ${reply.status} ${JSON.stringify(reply.body)}`);
    return m[1];
  }

  /** `count` GETs, one after the other, each on its own connection; the answering names in order. */
  async whoAnswersMany(url: string, count: number, timeoutMs = 5000): Promise<string[]> {
    const names: string[] = [];
    for (let i = 0; i < count; i++) names.push(await this.whoAnswers(url, timeoutMs));
    return names;
  }

  /** Like whoAnswers, but a failure (refused, reset, timeout) resolves to its error text. */
  async tryWhoAnswers(url: string, timeoutMs = 5000): Promise<{ name: string } | { error: string }> {
    try {
      return { name: await this.whoAnswers(url, timeoutMs) };
    } catch (err) {
      return { error: (err as Error).message };
    }
  }

  /** Opens GET /hold and keeps the connection open until release() (an ActiveConn in IPVS). */
  async hold(url: string, timeoutMs = 5000): Promise<Hold> {
    const r = await this.request('hold', { url, timeoutMs });
    return { holdId: r['holdId'] as number, servedBy: r['servedBy'] as string | undefined, body: r['body'] as string };
  }

  async release(hold: Hold): Promise<void> {
    await this.request('release', { holdId: hold.holdId });
  }

  /**
   * Opens one keep-alive HTTP connection through `url` and sends a first GET over it; the
   * connection stays open (an ActiveConn in IPVS) for sessionGet() until closeSession().
   */
  async openSession(url: string, timeoutMs = 5000): Promise<Session> {
    const r = await this.request('session', { url, timeoutMs });
    return {
      sessionId: r['sessionId'] as number,
      url,
      servedBy: r['servedBy'] as string | undefined,
      localPort: r['localPort'] as number,
    };
  }

  /** Another GET over the session's connection; `reused` and `localPort` tell whether it was the same one. */
  async sessionGet(session: Session, timeoutMs = 5000): Promise<SessionReply> {
    const r = await this.request('sessionGet', { sessionId: session.sessionId, url: session.url, timeoutMs });
    return {
      status: r['status'] as number,
      body: r['body'] as string,
      servedBy: r['servedBy'] as string | undefined,
      localPort: r['localPort'] as number,
      reused: r['reused'] as boolean,
    };
  }

  /** Closes the session's connection: with `reset`, an RST (IPVS then forgets it within ~10 s). */
  async closeSession(session: Session, opts: { reset?: boolean } = {}): Promise<void> {
    await this.request('sessionClose', { sessionId: session.sessionId, reset: opts.reset === true });
  }

  async dns(q: DnsQuery): Promise<DnsReply> {
    const r = await this.request('dns', { type: 'A', port: 53, transport: 'udp', timeoutMs: 5000, ...q });
    return { rcode: r['rcode'] as string, answers: r['answers'] as DnsAnswer[] };
  }

  /** Who answered a DNS query: the TXT record of whoami.test (see dnsServer()). */
  async dnsWhoAnswers(server: string, opts: Omit<DnsQuery, 'server' | 'name' | 'type'> = {}): Promise<string> {
    const reply = await this.dns({ ...opts, server, name: 'whoami.test', type: 'TXT' });
    const txt = reply.answers.find((a) => a.type === 'TXT');
    if (txt === undefined) throw new Error(`DNS ${server}: no TXT answer (rcode ${reply.rcode})`);
    return txt.data;
  }

  /** Connects, sends `send` if given, returns what arrives until the peer ends or goes quiet. */
  async tcp(host: string, port: number, send?: string, timeoutMs = 5000): Promise<string> {
    const r = await this.request('tcp', { host, port, send, timeoutMs });
    return r['data'] as string;
  }
}
