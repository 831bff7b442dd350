// The client program for kernel tests, run once inside the client namespace (one node start
// instead of one per request, which costs seconds under emulation). It reads JSON requests, one
// per line, on stdin and writes one JSON reply per line on stdout: {"id":N,"ok":true,...} or
// {"id":N,"ok":false,"error":"..."}. Every request uses a fresh connection or socket, so IPVS
// schedules each one anew. Ops (see client.ts for the typed side):
//   http    {url, timeoutMs}              -> {status, body, servedBy}
//   hold    {url, timeoutMs}              -> {status, body, holdId}   (connection stays open)
//   release {holdId}                      -> {}
//   session {url, timeoutMs}              -> {sessionId, status, body, servedBy, localPort}  (a
//           keep-alive connection: later sessionGets reuse the same TCP connection)
//   sessionGet {sessionId, url, timeoutMs} -> {status, body, servedBy, localPort, reused}
//   sessionClose {sessionId, reset}       -> {}  (reset: RST instead of FIN, so IPVS forgets the
//           connection after its CLOSE timeout instead of holding it in TIME_WAIT for 2 minutes)
//   dns     {server, port, name, type, transport, timeoutMs} -> {rcode, answers:[{type,name,data}]}
//   tcp     {host, port, send, timeoutMs} -> {data}   (sends `send` if given, returns what
//           arrives until the connection ends or goes quiet)

import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { Agent, request } from 'node:http';
import type { ClientRequest } from 'node:http';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import * as dnsPacket from 'dns-packet';
import type { RecordType } from 'dns-packet';

type Json = Record<string, unknown>;

const holds = new Map<number, ClientRequest>();
let nextHold = 1;

interface Session {
  readonly agent: Agent;
  socket: Socket | null;
}
const sessions = new Map<number, Session>();
let nextSession = 1;

function str(req: Json, key: string): string {
  const v = req[key];
  if (typeof v !== 'string') throw new Error(`missing string field ${key}`);
  return v;
}

function num(req: Json, key: string, fallback: number): number {
  const v = req[key];
  return typeof v === 'number' ? v : fallback;
}

function httpGet(url: string, timeoutMs: number, hold: boolean): Promise<Json> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: hold ? {} : { connection: 'close' } }, (res) => {
      res.setEncoding('utf8');
      let body = '';
      const servedBy = res.headers['x-served-by'];
      const reply = (): Json => ({ status: res.statusCode, body, servedBy });
      if (hold) {
        res.once('data', (chunk: string) => {
          body = chunk;
          req.setTimeout(0);
          const holdId = nextHold++;
          holds.set(holdId, req);
          res.once('close', () => holds.delete(holdId));
          resolve({ ...reply(), holdId });
        });
        res.once('end', () => reject(new Error('server ended the held response')));
        return;
      }
      res.on('data', (chunk: string) => (body += chunk));
      res.once('end', () => resolve(reply()));
      res.once('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.once('error', reject);
    req.end();
  });
}

/** One GET over the session's single keep-alive connection (a new one only if it was closed). */
function sessionGet(session: Session, url: string, timeoutMs: number): Promise<Json> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: session.agent }, (res) => {
      res.setEncoding('utf8');
      let body = '';
      res.on('data', (chunk: string) => (body += chunk));
      res.once('end', () =>
        resolve({
          status: res.statusCode,
          body,
          servedBy: res.headers['x-served-by'],
          localPort: req.socket?.localPort,
          reused: req.reusedSocket,
        }),
      );
      res.once('error', reject);
    });
    req.once('socket', (socket: Socket) => (session.socket = socket));
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.once('error', reject);
    req.end();
  });
}

function sessionOf(req: Json): Session {
  const session = sessions.get(num(req, 'sessionId', -1));
  if (session === undefined) throw new Error(`no session ${String(req['sessionId'])}`);
  return session;
}

function answerData(a: dnsPacket.Answer): string {
  const data = (a as { data?: unknown }).data;
  if (typeof data === 'string') return data;
  if (Array.isArray(data)) return data.map((d) => (Buffer.isBuffer(d) ? d.toString('utf8') : String(d))).join('');
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return JSON.stringify(data);
}

function dnsReply(buf: Buffer): Json {
  const packet = dnsPacket.decode(buf);
  const rcode = (packet as { rcode?: string }).rcode ?? 'UNKNOWN';
  const answers = (packet.answers ?? []).map((a) => ({ type: a.type, name: a.name, data: answerData(a) }));
  return { rcode, answers };
}

function dnsQuery(req: Json): Promise<Json> {
  const server = str(req, 'server');
  const port = num(req, 'port', 53);
  const timeoutMs = num(req, 'timeoutMs', 5000);
  const query: dnsPacket.Packet = {
    type: 'query',
    id: randomInt(1, 65535),
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: str(req, 'type') as RecordType, name: str(req, 'name') }],
  };
  if (req['transport'] === 'tcp') {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: server, port });
      let buf = Buffer.alloc(0);
      socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      socket.once('connect', () => socket.write(dnsPacket.streamEncode(query)));
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          socket.destroy();
          resolve(dnsReply(buf.subarray(2, 2 + buf.readUInt16BE(0))));
        }
      });
      socket.once('error', reject);
    });
  }
  return new Promise((resolve, reject) => {
    const socket = createSocket(server.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      try {
        resolve(dnsReply(msg));
      } catch (err) {
        reject(err as Error);
      }
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    });
    socket.send(dnsPacket.encode(query), port, server);
  });
}

function tcpExchange(req: Json): Promise<Json> {
  const timeoutMs = num(req, 'timeoutMs', 5000);
  const send = typeof req['send'] === 'string' ? req['send'] : undefined;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: str(req, 'host'), port: num(req, 'port', 0) });
    let data = '';
    let idle: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(idle);
      socket.destroy();
      resolve({ data });
    };
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    socket.once('connect', () => {
      if (send !== undefined) socket.write(send);
    });
    // Whatever arrives until the line goes quiet for a moment is the answer.
    socket.on('data', (chunk: string) => {
      data += chunk;
      clearTimeout(idle);
      idle = setTimeout(done, 300);
    });
    socket.once('end', done);
    socket.once('error', (err) => {
      clearTimeout(idle);
      reject(err);
    });
  });
}

async function handle(req: Json): Promise<Json> {
  switch (req['op']) {
    case 'http':
      return httpGet(str(req, 'url'), num(req, 'timeoutMs', 5000), false);
    case 'hold':
      return httpGet(str(req, 'url'), num(req, 'timeoutMs', 5000), true);
    case 'release': {
      const id = num(req, 'holdId', -1);
      holds.get(id)?.destroy();
      holds.delete(id);
      return {};
    }
    case 'session': {
      const session: Session = { agent: new Agent({ keepAlive: true, maxSockets: 1 }), socket: null };
      const sessionId = nextSession++;
      sessions.set(sessionId, session);
      return { sessionId, ...(await sessionGet(session, str(req, 'url'), num(req, 'timeoutMs', 5000))) };
    }
    case 'sessionGet':
      return sessionGet(sessionOf(req), str(req, 'url'), num(req, 'timeoutMs', 5000));
    case 'sessionClose': {
      const session = sessionOf(req);
      sessions.delete(num(req, 'sessionId', -1));
      if (req['reset'] === true) session.socket?.resetAndDestroy();
      else session.socket?.destroy();
      session.agent.destroy();
      return {};
    }
    case 'dns':
      return dnsQuery(req);
    case 'tcp':
      return tcpExchange(req);
    default:
      throw new Error(`unknown op ${String(req['op'])}`);
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let req: Json;
  try {
    req = JSON.parse(line) as Json;
  } catch {
    return;
  }
  const id = req['id'];
  handle(req).then(
    (reply) => process.stdout.write(`${JSON.stringify({ id, ok: true, ...reply })}\n`),
    (err: unknown) => {
      const e = err as NodeJS.ErrnoException;
      const error = e.code !== undefined ? `${e.code}: ${e.message}` : String(e.message ?? err);
      process.stdout.write(`${JSON.stringify({ id, ok: false, error })}\n`);
    },
  );
});
lines.once('close', () => process.exit(0));
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
