// A scriptable, misbehaving DNS responder on loopback: UDP and TCP on one port, each reply chosen by the test.

import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { decode, encode, TRUNCATED_RESPONSE } from 'dns-packet';
import type { Answer, DecodedPacket } from 'dns-packet';

export interface FakeQuery {
  readonly transport: 'udp' | 'tcp';
  readonly packet: DecodedPacket;
}

/**
 * What to send back for one query: DNS messages in order ([] = stay silent). Over TCP each is framed
 * with its length prefix; `{ raw }` is written as is, unframed.
 */
export type Reply = readonly (Buffer | { readonly raw: Buffer })[];

export interface FakeDnsOptions {
  readonly host?: '127.0.0.1' | '::1';
  readonly udp?: (q: FakeQuery) => Reply;
  /** null: do not listen on TCP at all (the port is then closed for TCP). */
  readonly tcp?: ((q: FakeQuery) => Reply) | null;
  /** Write each TCP reply in two pieces, a moment apart, so the client sees it split across chunks. */
  readonly tcpSplit?: boolean;
  /** Close the TCP connection (FIN) right after the reply to the first query. */
  readonly tcpClose?: boolean;
}

export interface FakeDns {
  readonly host: string;
  readonly port: number;
  /** Every query received, in order. */
  readonly queries: readonly FakeQuery[];
  close(): Promise<void>;
}

export interface ResponseOptions {
  readonly id?: number;
  readonly rcode?: number;
  readonly truncated?: boolean;
  readonly answers?: Answer[];
  /** Answer a different question than the one asked; null leaves the question section empty. */
  readonly question?: { name: string; type: 'A' | 'AAAA' | 'TXT' } | null;
}

/** A well-formed response to `q` (same id and question unless overridden). */
export function response(q: FakeQuery, opts: ResponseOptions = {}): Buffer {
  return encode({
    type: 'response',
    id: opts.id ?? q.packet.id ?? 0,
    flags: (opts.truncated ? TRUNCATED_RESPONSE : 0) | (opts.rcode ?? 0),
    questions:
      opts.question === null ? [] : opts.question ? [{ ...opts.question, class: 'IN' }] : (q.packet.questions ?? []),
    answers: opts.answers ?? [],
  });
}

/** An A record answering the first question of `q`. */
export function aRecord(q: FakeQuery, address: string): Answer {
  return { name: q.packet.questions?.[0]?.name ?? '', type: 'A', class: 'IN', ttl: 60, data: address };
}

export async function startFakeDns(opts: FakeDnsOptions): Promise<FakeDns> {
  const host = opts.host ?? '127.0.0.1';
  const queries: FakeQuery[] = [];
  // UDP gets a free port; TCP must then take the same number, which may already be in use: retry.
  for (let attempt = 0; ; attempt += 1) {
    const udp = await bindUdp(host);
    const port = udp.address().port;
    const tcp = opts.tcp === null ? null : await listenTcp(host, port).catch(() => null);
    if (opts.tcp !== null && tcp === null) {
      udp.close();
      if (attempt < 10) continue;
      throw new Error('fake-dns: no port free for both UDP and TCP');
    }
    udp.on('message', (msg, rinfo) => {
      const q = parse('udp', msg);
      if (q === null) return;
      queries.push(q);
      for (const m of opts.udp?.(q) ?? []) udp.send(Buffer.isBuffer(m) ? m : m.raw, rinfo.port, rinfo.address);
    });
    const sockets = new Set<Socket>();
    tcp?.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
      let pending = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
          const q = parse('tcp', pending.subarray(2, 2 + pending.readUInt16BE(0)));
          pending = pending.subarray(2 + pending.readUInt16BE(0));
          if (q === null) continue;
          queries.push(q);
          const out = Buffer.concat((opts.tcp?.(q) ?? []).map((m) => (Buffer.isBuffer(m) ? frame(m) : m.raw)));
          if (opts.tcpClose) {
            socket.end(out);
            return;
          }
          if (out.length === 0) continue;
          if (!opts.tcpSplit) socket.write(out);
          else {
            socket.write(out.subarray(0, 1));
            setTimeout(() => socket.destroyed || socket.write(out.subarray(1)), 50);
          }
        }
      });
    });
    return {
      host,
      port,
      queries,
      close: async () => {
        udp.close();
        for (const s of sockets) s.destroy();
        if (tcp) await new Promise<void>((resolve) => tcp.close(() => resolve()));
      },
    };
  }
}

function parse(transport: 'udp' | 'tcp', bytes: Buffer): FakeQuery | null {
  try {
    return { transport, packet: decode(bytes) };
  } catch {
    return null;
  }
}

function frame(message: Buffer): Buffer {
  const out = Buffer.alloc(2 + message.length);
  out.writeUInt16BE(message.length, 0);
  message.copy(out, 2);
  return out;
}

function bindUdp(host: string): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', ipv6Only: host.includes(':') });
    socket.once('error', reject);
    socket.bind(0, host, () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}

function listenTcp(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port, ipv6Only: host.includes(':') }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** A loopback UDP port with nothing bound to it: queries there draw ICMP port unreachable. */
export async function closedUdpPort(host: '127.0.0.1' | '::1' = '127.0.0.1'): Promise<number> {
  const socket = await bindUdp(host);
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}
