// The HTTP probe for checks with `expect_digest`: the MD5 of the body computed exactly as keepalived's
// HTTP_GET/SSL_GET and its `genhash` tool do, so a digest taken with genhash (or `lvsd digest`) matches.
//
// What genhash hashes (checked against Debian's genhash 2.2.7): every byte after the blank line
// that ends the response headers, as received, until the server closes the connection; a chunked
// body is hashed with its chunk framing (genhash does not decode it). It sends an HTTP/1.0 request,
// so servers answer with a plain body; we send HTTP/1.0 too, for the same bytes. Digests are
// compared in lower-case hex, which is what genhash prints. A Content-Length ends the body early
// (a server keeping the connection open despite HTTP/1.0 then still gets checked, not timed out).

import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { HTTP_MAX_BODY } from './http-probe.js';
import { HttpProbeBase, inRanges } from './http-probe.js';
import { excerpt } from './socket-util.js';

const MAX_HEAD = 16 * 1024;
const STATUS_LINE = /^HTTP\/\d\.\d (\d{3})(?: |$)/;

/** The HTTP/1.0 request genhash would send for the same path and headers. */
export function digestRequest(method: string, path: string, headers: readonly string[]): Buffer {
  let text = `${method} ${path} HTTP/1.0\r\n`;
  for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return Buffer.from(`${text}\r\n`, 'latin1');
}

export class DigestProbe extends HttpProbeBase {
  /** The body's MD5 in lower-case hex once the body is complete; null before (or on failure). */
  digest: string | null = null;
  /** Body bytes hashed so far. */
  get bytes(): number {
    return this.bodyBytes;
  }
  /** The response status; 0 before the status line. */
  get responseStatus(): number {
    return this.status;
  }

  #head = Buffer.alloc(0);
  #inBody = false;
  #hash: Hash = createHash('md5');
  #contentLength = -1;
  #decoder: StringDecoder | null = null;
  #bodyText = '';

  protected begin(): void {
    const request = digestRequest(this.spec.method, this.spec.path, this.p.headers);
    const socket = this.openSocket((s) => s.write(request));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.once('end', () => this.#complete('closed'));
  }

  protected onSocketError(err: Error): void {
    this.fail(err);
  }

  #onData(chunk: Buffer): void {
    if (this.settled) return;
    if (!this.#inBody) {
      this.#head = Buffer.concat([this.#head, chunk]);
      const end = this.#head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (this.#head.length > MAX_HEAD) this.finish(false, 'error', `no end of the response headers in the first ${MAX_HEAD} bytes`);
        return;
      }
      const head = this.#head.subarray(0, end).toString('latin1');
      const rest = this.#head.subarray(end + 4);
      this.#head = Buffer.alloc(0);
      const m = STATUS_LINE.exec(head);
      if (m === null) {
        this.finish(false, 'error', `not an HTTP status line: ${excerpt(head.split('\r\n')[0] ?? '')}`);
        return;
      }
      this.status = Number(m[1]);
      const cl = /^content-length:[ \t]*(\d+)[ \t]*$/im.exec(head);
      const chunked = /^transfer-encoding:.*chunked/im.test(head);
      if (cl !== null && !chunked) this.#contentLength = Number(cl[1]);
      this.#inBody = true;
      if (this.spec.expectBody !== null) this.#decoder = new StringDecoder('utf8');
      chunk = rest;
    }
    let part = chunk;
    if (this.#contentLength >= 0 && this.bodyBytes + part.length > this.#contentLength) {
      part = part.subarray(0, this.#contentLength - this.bodyBytes);
    }
    this.#hash.update(part);
    if (this.#decoder !== null && this.bodyBytes < HTTP_MAX_BODY) {
      this.#bodyText += this.#decoder.write(part.subarray(0, HTTP_MAX_BODY - this.bodyBytes));
    }
    this.bodyBytes += part.length;
    if (this.#contentLength >= 0 && this.bodyBytes >= this.#contentLength) this.#complete('length');
  }

  #complete(how: 'closed' | 'length'): void {
    if (this.settled) return;
    if (!this.#inBody) {
      this.finish(false, 'reset', `connection closed by server before the end of the headers`);
      return;
    }
    if (how === 'closed' && this.#contentLength >= 0 && this.bodyBytes < this.#contentLength) {
      this.finish(false, 'reset', `status ${this.status}, connection closed after ${this.bodyBytes} of ${this.#contentLength} body bytes`);
      return;
    }
    this.digest = this.#hash.digest('hex');
    if (!inRanges(this.status, this.spec.expectStatus)) {
      this.finish(false, 'bad_status', `status ${this.status}`);
      return;
    }
    const want = this.spec.expectDigest;
    if (want !== undefined && this.digest !== want) {
      this.finish(false, 'digest_mismatch', `status ${this.status}, body digest ${this.digest} (${this.bodyBytes} bytes), expected ${want}`);
      return;
    }
    const re = this.p.expectBody;
    if (re !== null) {
      if (this.#decoder !== null) this.#bodyText += this.#decoder.end();
      if (!re.test(this.#bodyText)) {
        this.finish(false, 'body_mismatch', `status ${this.status}, body does not match ${re}: ${excerpt(this.#bodyText)}`);
        return;
      }
    }
    this.finish(true, 'ok', `status ${this.status}, digest ${this.digest}${re !== null ? `, body matches ${re}` : ''}`);
  }
}
