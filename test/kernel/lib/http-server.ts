// A realserver program for kernel tests, run inside a namespace:
//   node http-server.js --port 80 --name rs1 [--host ::] [--mode http|tcp] [--port-count N]
// --port-count N: the same server on ports PORT .. PORT+N-1 (one process for many realservers).
// http: GET / answers "hello from NAME"; GET /hold answers the same line and then keeps the
//   response open until the client goes away (a long-lived connection for drain tests);
//   GET /health answers the status set by PUT /health?status=N (default 200), for HTTP checks.
//   Keep-alive connections are not closed for idleness (see httpServer()).
// tcp: sends "hello from NAME\n" on connect, then echoes what it reads.
// Prints one JSON line {"ready":true,...} on stdout once it listens.

import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { Server } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '80' },
    name: { type: 'string' },
    host: { type: 'string', default: '::' },
    mode: { type: 'string', default: 'http' },
    'port-count': { type: 'string', default: '1' },
  },
});
const name = values.name ?? 'unnamed';
const port = Number(values.port);
const hello = `hello from ${name}\n`;
let healthStatus = 200;

function handleHttp(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://realserver');
  res.setHeader('x-served-by', name);
  if (url.pathname === '/hold') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write(hello);
    // Nothing more is written; the connection lives until the client (or a kill) ends it.
    return;
  }
  if (url.pathname === '/health') {
    if (req.method === 'PUT') {
      healthStatus = Number(url.searchParams.get('status') ?? '200');
      res.end(`health set to ${healthStatus}\n`);
      return;
    }
    res.writeHead(healthStatus, { 'content-type': 'text/plain' });
    res.end(healthStatus < 400 ? `ok from ${name}\n` : `unhealthy ${name}\n`);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(hello);
}

function tcpServer(): Server {
  return createTcpServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.write(hello);
    socket.pipe(socket);
  });
}

function httpServer(): Server {
  const server = createHttpServer(handleHttp);
  // Keep-alive connections stay open until the client closes them (node's default closes them
  // after 5 s idle), so a drain test can hold one through a slow reconcile and use it again.
  server.keepAliveTimeout = 600_000;
  return server;
}

const portCount = Math.max(1, Number(values['port-count']));
let listening = 0;
for (let p = port; p < port + portCount; p++) {
  const server: Server = values.mode === 'tcp' ? tcpServer() : httpServer();
  server.on('error', (err) => {
    process.stderr.write(`${name}: ${err.message}\n`);
    process.exit(1);
  });
  server.listen({ port: p, host: values.host, ipv6Only: false }, () => {
    if (++listening < portCount) return;
    process.stdout.write(`${JSON.stringify({ ready: true, name, port, portCount, mode: values.mode, pid: process.pid })}\n`);
  });
}
process.on('SIGTERM', () => process.exit(0));
