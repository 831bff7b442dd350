// Benchmark target servers, run in a child process of their own so their CPU is not counted:
// one TCP and one HTTP listener on 0.0.0.0 (answering every 127.0.x.y), ports reported over IPC.

import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';

const noop = (): void => {};

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // A deep backlog: 10,000 connects a second arrive in bursts at every timer tick.
    server.listen({ host: '0.0.0.0', port: 0, backlog: 4096 }, () => resolve((server.address() as AddressInfo).port));
  });
}

async function main(): Promise<void> {
  // The checker closes with RST once it has its answer; that is the normal end here, not an error.
  const tcp = createTcpServer((socket) => {
    socket.on('error', noop);
    socket.resume();
  });
  const http = createHttpServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '3' });
    res.end('ok\n');
  });
  http.on('clientError', (_err, socket) => socket.destroy());
  http.on('connection', (socket) => socket.on('error', noop));
  http.keepAliveTimeout = 1000;
  const [tcpPort, httpPort] = await Promise.all([listen(tcp), listen(http)]);
  process.send!({ tcpPort, httpPort });
  // The orchestrator asks for our CPU time at the edges of each measured window.
  process.on('message', (m: unknown) => {
    if (m === 'cpu') process.send!({ cpu: process.cpuUsage() });
  });
  // The parent going away (normally or not) ends us: never leave listeners behind.
  process.on('disconnect', () => process.exit(0));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
