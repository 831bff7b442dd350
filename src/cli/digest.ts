// `lvsd digest URL`: print the MD5 of a page's body as keepalived's genhash computes it, for
// `expect_digest`. It fetches what the operator names (an operator tool, like genhash itself).

import { parseArgs } from 'node:util';
import type { HttpCheckSpec } from '../config/model.js';
import { normaliseIp } from '../config/endpoint.js';
import { formatDuration, parseDuration } from '../config/duration.js';
import { runPage } from '../checks/http.js';
import type { CheckTarget } from '../checks/types.js';
import { LvsdError } from '../errors.js';
import { EXIT_FAILURE, EXIT_OK } from './args.js';
import type { Command } from './command.js';

const DEFAULT_TIMEOUT_MS = 5000;

export const digestCommand: Command = {
  help: `Usage: lvsd digest [options] URL

Fetch URL once and print the MD5 digest of its body in lower-case hex, computed exactly as
keepalived's genhash and an http check's "expect_digest" compute it: an HTTP/1.0 GET, and the
bytes after the response headers, as received. URL is http:// or https:// with an IP address
(host names are not resolved; give the name with --host). Certificates are not verified.
The status and body size go to stderr. Exit 0 when a whole response arrived (whatever its
status), 1 when the page could not be fetched.

Options:
      --host NAME        Host header and TLS SNI (genhash's --use-virtualhost)
  -t, --timeout DUR      give up after DUR (default ${formatDuration(DEFAULT_TIMEOUT_MS)})
  -h, --help             show this help
`,
  async execute(argv) {
    let parsed;
    try {
      parsed = parseArgs({
        args: [...argv],
        options: { host: { type: 'string' }, timeout: { type: 'string', short: 't' }, help: { type: 'boolean', short: 'h' } },
        strict: true,
        allowPositionals: true,
      });
    } catch (err) {
      throw new LvsdError('LVSD_USAGE', (err as Error).message, { cause: err });
    }
    const { values, positionals } = parsed;
    if (positionals.length !== 1) throw new LvsdError('LVSD_USAGE', 'give exactly one URL');
    let timeoutMs = DEFAULT_TIMEOUT_MS;
    if (values.timeout !== undefined) {
      const d = parseDuration(values.timeout);
      if (!d.ok) throw new LvsdError('LVSD_USAGE', `--timeout: ${d.error}`);
      timeoutMs = d.ms;
    }
    const target = targetOf(positionals[0]!, values.host ?? null, timeoutMs);
    const spec = target.spec as HttpCheckSpec;
    const { result, reader } = await runPage(target, spec, new AbortController().signal, 'digest');
    if (reader.digest === null) {
      process.stderr.write(`lvsd digest: ${result.reason}\n`);
      return EXIT_FAILURE;
    }
    process.stderr.write(`status ${reader.status}, ${reader.bodyBytes} body bytes\n`);
    process.stdout.write(`${reader.digest}\n`);
    return EXIT_OK;
  },
};

/** The one-off http check the URL describes; any status is accepted (we only want the digest). */
function targetOf(text: string, host: string | null, timeoutMs: number): CheckTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new LvsdError('LVSD_USAGE', `"${text}" is not a URL (write e.g. http://10.0.0.11:80/index.html)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new LvsdError('LVSD_USAGE', `"${text}": only http:// and https:// URLs`);
  const tls = url.protocol === 'https:';
  const ip = normaliseIp(url.hostname.replace(/^\[|\]$/g, ''));
  if (ip === null) {
    throw new LvsdError('LVSD_USAGE', `"${url.hostname}" is not an IP address: give the realserver's address in the URL and the name with --host`);
  }
  const port = url.port === '' ? (tls ? 443 : 80) : Number(url.port);
  const spec: HttpCheckSpec = {
    type: tls ? 'https' : 'http',
    intervalMs: timeoutMs + 1,
    timeoutMs,
    rise: 1,
    fall: 1,
    port,
    method: 'GET',
    path: `${url.pathname}${url.search}`,
    host,
    expectStatus: [[100, 599]],
    expectBody: null,
    tlsVerify: false,
    headers: {},
  };
  return { address: { ...ip, port }, spec, context: { serviceName: 'digest', vip: null, fwmark: null, protocol: 'tcp' } };
}
