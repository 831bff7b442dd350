// HTTP/HTTPS check: a new connection per check; the status judged against expect_status, and with
// expect_body a bounded prefix of the body; redirects are never followed (a 301 is just a status).

import { isIP } from 'node:net';
import { formatHost } from '../config/endpoint.js';
import type { HttpCheckSpec } from '../config/model.js';
import type { BodyProbe } from './http-body.js';
import { StatusProbe } from './http-probe.js';
import type { Prepared } from './http-probe.js';
import { compilePattern } from './socket-util.js';
import { requestProblem } from '../config/http-request.js';
import { checkHttpRaw, rawHttpFits } from './http-raw.js';
import type { CheckResult, Checker, CheckTarget } from './types.js';

const USER_AGENT = 'lvsd-health-check';

export const checkHttp: Checker = (target, signal) => {
  const spec = target.spec;
  if (spec.type !== 'http' && spec.type !== 'https') return Promise.reject(new TypeError(`checkHttp given a ${spec.type} check`));
  const prepared = prepare(target, spec);
  // Plain HTTP status checks (the common case, thousands a second): the raw handle, no net.Socket.
  if (rawHttpFits(prepared)) return checkHttpRaw(prepared, spec, target.address.family, signal);
  return checkHttpSocket(prepared, spec, signal);
};

async function checkHttpSocket(prepared: Prepared, spec: HttpCheckSpec, signal: AbortSignal): Promise<CheckResult> {
  const probe =
    prepared.expectBody === null ? new StatusProbe(prepared, spec, signal) : new (await bodyProbeClass())(prepared, spec, signal);
  try {
    return await probe.run();
  } finally {
    probe.close();
  }
}

// undici (about 20 MB of RSS once loaded) is only needed for expect_body: load it on first use.
let bodyProbe: Promise<typeof BodyProbe> | null = null;
function bodyProbeClass(): Promise<typeof BodyProbe> {
  return (bodyProbe ??= import('./http-body.js').then((m) => m.BodyProbe));
}

// Keyed by target: the scheduler keeps one target object per probe, so this runs once per probe.
const preparedByTarget = new WeakMap<CheckTarget, Prepared>();

/** The per-target constants of an HTTP check (cached); also used by the digest probe and `lvsd digest`. */
export function prepare(target: CheckTarget, spec: HttpCheckSpec): Prepared {
  const cached = preparedByTarget.get(target);
  if (cached !== undefined) return cached;
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
    label: `${tls ? 'HTTPS' : 'HTTP'} ${spec.method} ${scheme}://${hostPort}${spec.path}` +
      (spec.host !== null ? ` (Host: ${spec.host})` : ''),
    servername: sniName(spec.host),
    origin: new URL(`${scheme}://${hostPort}`),
    headers,
    request: invalid === null ? serialise(spec, headers) : Buffer.alloc(0),
    expectBody,
    invalid,
  };
  preparedByTarget.set(target, prepared);
  return prepared;
}

function serialise(spec: HttpCheckSpec, headers: readonly string[]): Buffer {
  let text = `${spec.method} ${spec.path} HTTP/1.1\r\n`;
  for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
  // We read one line of the answer and reset: the server need not keep the connection for more.
  if (!headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'connection')) text += 'connection: close\r\n';
  return Buffer.from(`${text}\r\n`, 'latin1');
}

function sniName(host: string | null): string | undefined {
  if (host === null || host.startsWith('[')) return undefined;
  const name = host.replace(/:\d+$/, '');
  return name.length > 0 && isIP(name) === 0 ? name : undefined;
}
