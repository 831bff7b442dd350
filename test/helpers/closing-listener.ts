// A loopback TCP listener that accepts and closes every connection at once (a plain TCP check's
// "up"), counting what it accepted; close() destroys what is still open. Shared by the scheduler
// and check-engine integration tests.

import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

export interface Listener {
  server: Server;
  port: number;
  accepted: number;
  sockets: Set<Socket>;
}

export async function listen(): Promise<Listener> {
  const l: Listener = { server: createServer(), port: 0, accepted: 0, sockets: new Set() };
  l.server.on('connection', (s) => {
    l.accepted++;
    l.sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => l.sockets.delete(s));
    s.end();
  });
  await new Promise<void>((resolve) => l.server.listen(0, '127.0.0.1', resolve));
  const addr = l.server.address();
  assert.ok(addr !== null && typeof addr === 'object');
  l.port = addr.port;
  return l;
}

export async function close(l: Listener): Promise<void> {
  for (const s of l.sockets) s.destroy();
  if (l.server.listening) await new Promise<void>((resolve) => l.server.close(() => resolve()));
}
