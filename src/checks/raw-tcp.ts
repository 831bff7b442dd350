// libuv's TCP handle as Node's own net.Socket uses it (`process.binding('tcp_wrap')` and
// 'stream_wrap'), for the two hot-path checks: a plain TCP connect (tcp-connect.ts) and a plain
// HTTP status check (http-raw.ts). See tcp-connect.ts for why and what it saves.
//
// Null where the bindings are missing or look different (another Node), under --pending-deprecation
// (process.binding would print DEP0111), or with LVSD_TCP_CHECK=net: the checkers then use node:net.

import { getSystemErrorName } from 'node:util';

export interface RawTcp {
  connect(req: ConnectReq, host: string, port: number): number;
  connect6(req: ConnectReq, host: string, port: number): number;
  /** SO_LINGER 0 then close: RST, no TIME_WAIT. Non-zero = the reset could not be set up. */
  reset(): number;
  close(): void;
  readStart(): number;
  readStop(): number;
  writeBuffer(req: WriteReq, data: Uint8Array): number;
  /** Called with an ArrayBuffer (or undefined); the byte count or errno is in streamBaseState. */
  onread: ((this: RawTcp, buf: ArrayBuffer | undefined) => void) | null;
  /** Ours: the check the handle serves, for the shared callbacks. */
  owner?: unknown;
}

export interface ConnectReq {
  oncomplete: (status: number, handle: RawTcp, req: ConnectReq) => void;
  owner: unknown;
}

export interface WriteReq {
  handle: RawTcp;
  oncomplete: (this: WriteReq, status: number) => void;
  async: boolean;
  owner: unknown;
}

export interface RawTcpBinding {
  readonly TCP: new (type: number) => RawTcp;
  readonly TCPConnectWrap: new () => ConnectReq;
  readonly SOCKET: number;
  readonly WriteWrap: new () => WriteReq;
  readonly streamBaseState: Int32Array;
  readonly kReadBytesOrError: number;
  readonly kArrayBufferOffset: number;
  readonly kLastWriteWasAsync: number;
}

function load(): RawTcpBinding | null {
  if (process.execArgv.includes('--pending-deprecation') || process.env['NODE_PENDING_DEPRECATION'] === '1') return null;
  if (/--pending-deprecation/.test(process.env['NODE_OPTIONS'] ?? '')) return null;
  if (process.env['LVSD_TCP_CHECK'] === 'net') return null;
  try {
    const binding = (process as unknown as { binding(name: string): Record<string, unknown> }).binding;
    const tcp = binding('tcp_wrap') as { TCP?: unknown; TCPConnectWrap?: unknown; constants?: { SOCKET?: unknown } };
    const stream = binding('stream_wrap') as Record<string, unknown>;
    if (typeof tcp.TCP !== 'function' || typeof tcp.TCPConnectWrap !== 'function' || typeof tcp.constants?.SOCKET !== 'number') return null;
    const proto = (tcp.TCP as { prototype: Record<string, unknown> }).prototype;
    for (const m of ['connect', 'connect6', 'reset', 'close', 'readStart', 'readStop', 'writeBuffer']) if (typeof proto[m] !== 'function') return null;
    if (typeof stream['WriteWrap'] !== 'function' || !(stream['streamBaseState'] instanceof Int32Array)) return null;
    for (const k of ['kReadBytesOrError', 'kArrayBufferOffset', 'kLastWriteWasAsync']) if (typeof stream[k] !== 'number') return null;
    return {
      TCP: tcp.TCP as RawTcpBinding['TCP'],
      TCPConnectWrap: tcp.TCPConnectWrap as RawTcpBinding['TCPConnectWrap'],
      SOCKET: tcp.constants.SOCKET,
      WriteWrap: stream['WriteWrap'] as RawTcpBinding['WriteWrap'],
      streamBaseState: stream['streamBaseState'],
      kReadBytesOrError: stream['kReadBytesOrError'] as number,
      kArrayBufferOffset: stream['kArrayBufferOffset'] as number,
      kLastWriteWasAsync: stream['kLastWriteWasAsync'] as number,
    };
  } catch {
    return null;
  }
}

export const rawTcp: RawTcpBinding | null = load();

/** A connect under way: the handle and the request libuv will complete. */
export interface RawConnect {
  readonly handle: RawTcp;
  readonly req: ConnectReq;
}

/**
 * Start a connect for `owner` (given back to `oncomplete` as `req.owner`). A synchronous failure
 * (EMFILE from socket(), EINVAL...) returns its negative status: libuv never calls back then, and
 * the handle is already closed.
 */
export function rawConnect(
  b: RawTcpBinding,
  family: number,
  host: string,
  port: number,
  owner: unknown,
  oncomplete: ConnectReq['oncomplete'],
): RawConnect | number {
  const handle = new b.TCP(b.SOCKET);
  const req = new b.TCPConnectWrap();
  req.oncomplete = oncomplete;
  req.owner = owner;
  const err = family === 6 ? handle.connect6(req, host, port) : handle.connect(req, host, port);
  if (err === 0) return { handle, req };
  req.owner = null;
  handle.close();
  return err;
}

/** "ECONNREFUSED" for a negative libuv status; "EOF" for end of stream. */
export function errnoName(status: number): string {
  try {
    return getSystemErrorName(status);
  } catch {
    return `errno ${status}`;
  }
}
