// What an HTTP check sends and reports with, computed once per probe target: the request serialised
// for its read mode (HTTP/1.1 with Connection: close; HTTP/1.0 for a digest, as genhash sends it),
// the label every reason starts with, SNI, the compiled expect_body, or the config problem that
// keeps it from being sent.

import { isIP } from 'node:net';
import { formatHost } from '../config/endpoint.js';
import { requestProblem } from '../config/http-request.js';
import type { HttpCheckSpec } from '../config/model.js';
import type { ReaderOptions, ReadMode } from './http-response.js';
import { compilePattern } from './socket-util.js';
import type { CheckTarget } from './types.js';

const USER_AGENT = 'lvsd-health-check';

/** Everything about a check that does not change between runs, computed once per target. */
export interface Prepared {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly mode: ReadMode;
  /** What the response reader judges with (one object for every run). */
  readonly reader: ReaderOptions;
  /** "HTTP GET http://10.0.0.2:80/health", the prefix of every reason. */
  readonly label: string;
  /** SNI: spec.host without a port, unless it is an IP literal (RFC 6066 forbids those). */
  readonly servername: string | undefined;
  /** The whole request, serialised once (HTTP/1.0 in digest mode, as genhash sends it). */
  readonly request: Buffer;
  readonly expectBody: RegExp | null;
  /** A config problem found while preparing (bad header, bad pattern); the check reports it. */
  readonly invalid: string | null;
  /** The last verdict text and its reason (reasonOf): a healthy real's checks all say the same. */
  readonly memo: { text: string; reason: string };
}

/** "LABEL: TEXT", the reason of a check of `p`; the same string object as long as the text repeats. */
export function reasonOf(p: Prepared, text: string): string {
  const memo = p.memo;
  if (memo.text !== text) {
    memo.text = text;
    memo.reason = `${p.label}: ${text}`;
  }
  return memo.reason;
}

// Keyed by target: the scheduler keeps one target object per probe, so this runs once per probe.
const preparedByTarget = new WeakMap<CheckTarget, Prepared>();

/** The per-target constants of an HTTP check (cached). */
export function prepare(target: CheckTarget, spec: HttpCheckSpec, mode: ReadMode): Prepared {
  const cached = preparedByTarget.get(target);
  if (cached !== undefined && cached.mode === mode) return cached;
  const tls = spec.type === 'https';
  const scheme = tls ? 'https' : 'http';
  const host = formatHost(target.address);
  const hostPort = `${host}:${spec.port}`;
  const headers = ['host', spec.host ?? (spec.port === (tls ? 443 : 80) ? host : hostPort), 'user-agent', USER_AGENT];
  for (const [name, value] of Object.entries(spec.headers)) {
    const lower = name.toLowerCase();
    // A configured Host or User-Agent replaces ours instead of being sent twice.
    const i = lower === 'host' ? 0 : lower === 'user-agent' ? 2 : -1;
    if (i >= 0) headers[i + 1] = value;
    else headers.push(name, value);
  }
  let expectBody: RegExp | null = null;
  let invalid = requestProblem(spec.path, headers);
  if (spec.expectBody !== null) {
    try {
      expectBody = compilePattern(spec.expectBody);
    } catch (err) {
      invalid ??= `invalid expect_body pattern: ${(err as Error).message}`;
    }
  }
  const prepared: Prepared = {
    host: target.address.host,
    port: spec.port,
    tls,
    mode,
    reader: { mode, expectStatus: spec.expectStatus, expectBody, expectDigest: spec.expectDigest },
    label: `${tls ? 'HTTPS' : 'HTTP'} ${spec.method} ${scheme}://${hostPort}${spec.path}` +
      (spec.host !== null ? ` (Host: ${spec.host})` : ''),
    servername: sniName(spec.host),
    request: invalid !== null ? Buffer.alloc(0) : mode === 'digest' ? digestRequest(spec, headers) : serialise(spec, headers),
    expectBody,
    invalid,
    memo: { text: '', reason: '' },
  };
  preparedByTarget.set(target, prepared);
  return prepared;
}

function serialise(spec: HttpCheckSpec, headers: readonly string[]): Buffer {
  let text = `${spec.method} ${spec.path} HTTP/1.1\r\n`;
  for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
  // We read what we need of the answer and reset: the server need not keep the connection for more.
  if (!headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'connection')) text += 'connection: close\r\n';
  return Buffer.from(`${text}\r\n`, 'latin1');
}

/** The HTTP/1.0 request genhash would send for the same path and headers: servers then answer with a plain body. */
function digestRequest(spec: HttpCheckSpec, headers: readonly string[]): Buffer {
  let text = `${spec.method} ${spec.path} HTTP/1.0\r\n`;
  for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return Buffer.from(`${text}\r\n`, 'latin1');
}

function sniName(host: string | null): string | undefined {
  if (host === null || host.startsWith('[')) return undefined;
  const name = host.replace(/:\d+$/, '');
  return name.length > 0 && isIP(name) === 0 ? name : undefined;
}
