// The one reader of HTTP/1.x responses for every HTTP check, fed the bytes as they arrive by either
// transport (the raw handle, http-raw.ts; a net/TLS socket, http-socket.ts). What it reads depends on
// the check:
//
// - status: up to the final status line (interim 1xx heads skipped), judged against expect_status;
//   nothing more is read. The hot path.
// - body: the head, then the body as its framing says (Content-Length, chunked, or until the server
//   closes), decoded as UTF-8 into at most HTTP_MAX_BODY bytes, `expect_body` tested as it grows.
// - digest: genhash's reading (keepalived's HTTP_GET/SSL_GET `digest`): every byte after the blank
//   line that ends the head, as received (a chunked body with its framing), until the server closes
//   or Content-Length is reached; the MD5 in lower-case hex. The request is HTTP/1.0 (genhash's),
//   so no interim heads come and the status line may name any HTTP version.
//
// Pure: no I/O, no timers; a verdict is returned once the answer is known, and `end()` says what a
// close by the server at this point means.

import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { excerpt } from './socket-util.js';
import type { CheckReasonCode } from './types.js';

export type ReadMode = 'status' | 'body' | 'digest';

/** Most body bytes read for `expect_body`; the rest is never read (the socket is reset). */
export const HTTP_MAX_BODY = 64 * 1024;
/** A response head (and any interim heads before it) is read into at most this much. */
const MAX_HEAD = 16 * 1024;
/** A chunk-size line longer than this is not HTTP. */
const MAX_CHUNK_LINE = 1024;
/** Re-run the regex only after this much new text, so a server dribbling bytes costs O(n), not O(n²). */
const RETEST_AFTER = 4096;
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: |$)/;
const ANY_VERSION_STATUS_LINE = /^HTTP\/\d\.\d (\d{3})(?: |$)/;

export type StatusRanges = readonly (readonly [number, number])[];

/** What the response says, once it has said enough. */
export interface Verdict {
  readonly up: boolean;
  readonly code: CheckReasonCode;
  readonly text: string;
}

export interface ReaderOptions {
  readonly mode: ReadMode;
  readonly expectStatus: StatusRanges;
  /** body mode: required; digest mode: optional, tested over the body text as received. */
  readonly expectBody: RegExp | null;
  /** digest mode: the digest to compare with; undefined to only compute it (`lvsd digest`). */
  readonly expectDigest?: string | undefined;
}

/**
 * The verdicts of a status decided by its line alone ("status 200", up or not), made once per status
 * and shared: they are the same for every check, and the hot path then allocates none per check.
 */
const okByStatus: Verdict[] = [];
const badByStatus: Verdict[] = [];

function statusVerdict(status: number, up: boolean): Verdict {
  const cache = up ? okByStatus : badByStatus;
  return (cache[status] ??= Object.freeze({ up, code: up ? 'ok' : 'bad_status', text: `status ${status}` }));
}

/**
 * The final status of a response whose first bytes are a whole status line, "HTTP/1.x NNN" then a
 * space or its CRLF, and the line's CRLF: what STATUS_LINE reads, without a string per check. 0 when
 * the bytes are anything else (a line not ended yet, an interim 1xx, another version, not HTTP): the
 * general path reads them.
 */
function quickFinalStatus(b: Uint8Array): number {
  if (b.length < 13) return 0;
  // "HTTP/1." then 0 or 1, a space.
  if (b[0] !== 72 || b[1] !== 84 || b[2] !== 84 || b[3] !== 80 || b[4] !== 47 || b[5] !== 49 || b[6] !== 46) return 0;
  if ((b[7] !== 48 && b[7] !== 49) || b[8] !== 32) return 0;
  const d0 = b[9]! - 48;
  const d1 = b[10]! - 48;
  const d2 = b[11]! - 48;
  if (d0 < 0 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return 0;
  if (b[12] === 13) {
    // "HTTP/1.1 200" and its CRLF; a CR alone there is no status line (the general path says so).
    if (b[13] !== 10) return 0;
  } else if (b[12] === 32) {
    // The line must have ended (CRLF) in these bytes: the general path waits for its end.
    let cr = b.indexOf(13, 13);
    while (cr >= 0 && b[cr + 1] !== 10) cr = b.indexOf(13, cr + 1);
    if (cr < 0) return 0;
  } else {
    return 0;
  }
  const status = d0 * 100 + d1 * 10 + d2;
  return status < 100 || status >= 200 || status === 101 ? status : 0;
}

/** Judge a final status against the configured ranges. */
export function inRanges(status: number, ranges: StatusRanges): boolean {
  for (const [lo, hi] of ranges) if (status >= lo && status <= hi) return true;
  return false;
}

type Framing = { kind: 'none' } | { kind: 'length'; left: number } | { kind: 'close' } | { kind: 'chunked' };
type ChunkState = 'size' | 'data' | 'data-end';

/** What reading a body needs (body and digest modes). */
class BodyState {
  framing: Framing = { kind: 'close' };
  contentLength = -1;
  chunk: ChunkState = 'size';
  chunkLeft = 0;
  chunkLine = '';
  decoder: StringDecoder | null = null;
  /** expect_body's text so far. */
  text = '';
  testedAt = -1;
  hash: Hash | null = null;
}

export class ResponseReader {
  readonly #o: ReaderOptions;
  /** Response bytes of the head so far (Latin-1, one char per byte) and where the current head starts. */
  #head = '';
  #headStart = 0;
  /** The final status; 0 before its line is in. */
  status = 0;
  /** Body bytes read (body mode: decoded, at most HTTP_MAX_BODY; digest mode: all, as hashed). */
  bodyBytes = 0;
  /** digest mode: the body's MD5 in lower-case hex once the body is complete; null before. */
  digest: string | null = null;
  /** The body's state, made once the head is in: a status check (the hot path) never allocates it. */
  #b: BodyState | null = null;
  #done = false;

  constructor(options: ReaderOptions) {
    this.#o = options;
  }

  /** Feed bytes; the verdict once the response has decided the check, else null. Nothing is read after a verdict. */
  push(chunk: Uint8Array): Verdict | null {
    if (this.#done) return null;
    const v = this.#b !== null ? this.#bodyData(chunk) : this.#headData(chunk);
    if (v !== null) this.#done = true;
    return v;
  }

  /** The server closed (EOF): what that means at this point. */
  end(): Verdict {
    this.#done = true;
    const mode = this.#o.mode;
    if (this.#b === null) {
      if (mode === 'digest') return { up: false, code: 'reset', text: 'connection closed by server before the end of the headers' };
      if (mode === 'body' && this.status > 0) return this.#incomplete();
      const got = this.#head.length === 0 ? 'nothing' : `${this.#head.length} bytes: ${excerpt(this.#head)}`;
      return { up: false, code: 'reset', text: `connection closed by server before a status line (read ${got})` };
    }
    if (mode === 'digest') {
      if (this.#b!.contentLength >= 0 && this.bodyBytes < this.#b!.contentLength) {
        return { up: false, code: 'reset', text: `status ${this.status}, connection closed after ${this.bodyBytes} of ${this.#b!.contentLength} body bytes` };
      }
      return this.#digestComplete();
    }
    if (this.#b!.framing.kind !== 'close') return this.#incomplete();
    return this.#bodyComplete();
  }

  /** "status 200, 812 body bytes read" for a timeout once the head is in (body and digest modes); null before. */
  progress(): string | null {
    return this.status > 0 && !this.#done ? `status ${this.status}, ${this.bodyBytes} body bytes read` : null;
  }

  // --- head ----------------------------------------------------------------------------------

  #headData(chunk: Uint8Array): Verdict | null {
    if (this.#o.mode === 'status' && this.#head.length === 0) {
      // The hot path: the whole status line in the first chunk decides without reading it as text.
      const status = quickFinalStatus(chunk);
      if (status !== 0) {
        this.status = status;
        return statusVerdict(status, inRanges(status, this.#o.expectStatus));
      }
    }
    const room = MAX_HEAD - this.#head.length;
    const take = Math.min(chunk.length, room);
    this.#head += Buffer.from(chunk.buffer, chunk.byteOffset, take).toString('latin1');
    const v = this.#o.mode === 'digest' ? this.#digestHead() : this.#statusHead();
    if (v !== null || this.#b !== null) return v ?? (take < chunk.length ? this.#bodyData(chunk.subarray(take)) : null);
    if (this.#head.length >= MAX_HEAD) {
      return this.status > 0 || this.#o.mode === 'digest'
        ? { up: false, code: 'error', text: `no end of the response headers in the first ${MAX_HEAD} bytes` }
        : { up: false, code: 'error', text: `no final status line in the first ${MAX_HEAD} bytes: ${excerpt(this.#head)}` };
    }
    return null;
  }

  /** Status and body modes: interim heads skipped; status mode decides on the final status line. */
  #statusHead(): Verdict | null {
    while (this.status === 0) {
      const eol = this.#head.indexOf('\r\n', this.#headStart);
      if (eol < 0) return null;
      const line = this.#head.slice(this.#headStart, eol);
      const m = STATUS_LINE.exec(line);
      if (m === null) return { up: false, code: 'error', text: `not an HTTP/1.x status line: ${excerpt(line)}` };
      const status = Number(m[1]);
      if (status < 100 || status >= 200 || status === 101) {
        this.status = status;
        if (!inRanges(status, this.#o.expectStatus)) return statusVerdict(status, false);
        if (this.#o.mode === 'status') return statusVerdict(status, true);
        break;
      }
      // Interim response: its head ends with an empty line, then the next status line follows.
      const end = this.#head.indexOf('\r\n\r\n', eol);
      if (end < 0) return null;
      this.#headStart = end + 4;
    }
    const end = this.#head.indexOf('\r\n\r\n', this.#headStart);
    if (end < 0) return null;
    const head = this.#head.slice(this.#headStart, end);
    const rest = this.#head.slice(end + 4);
    this.#startBody(head);
    // A 204 or 304 has no body, whatever its headers say.
    if (this.status === 204 || this.status === 304) this.#b!.framing = { kind: 'none' };
    if (this.#b!.framing.kind === 'none' || (this.#b!.framing.kind === 'length' && this.#b!.framing.left === 0)) return this.#bodyComplete();
    return rest.length > 0 ? this.#bodyData(Buffer.from(rest, 'latin1')) : null;
  }

  /** Digest mode: the first head is the response's (genhash reads no interim heads). */
  #digestHead(): Verdict | null {
    const end = this.#head.indexOf('\r\n\r\n');
    if (end < 0) return null;
    const head = this.#head.slice(0, end);
    const m = ANY_VERSION_STATUS_LINE.exec(head);
    if (m === null) return { up: false, code: 'error', text: `not an HTTP status line: ${excerpt(head.split('\r\n')[0] ?? '')}` };
    this.status = Number(m[1]);
    const rest = this.#head.slice(end + 4);
    this.#startBody(head);
    if (this.#b!.contentLength === 0) return this.#digestComplete();
    return rest.length > 0 ? this.#bodyData(Buffer.from(rest, 'latin1')) : null;
  }

  #startBody(head: string): void {
    const b = new BodyState();
    this.#b = b;
    this.#head = '';
    const cl = /^content-length:[ \t]*(\d+)[ \t]*$/im.exec(head);
    const chunked = /^transfer-encoding:.*chunked/im.test(head);
    if (cl !== null && !chunked) b.contentLength = Number(cl[1]);
    if (this.#o.mode === 'digest') {
      b.hash = createHash('md5');
      if (this.#o.expectBody !== null) b.decoder = new StringDecoder('utf8');
      return;
    }
    b.decoder = new StringDecoder('utf8');
    b.framing = chunked ? { kind: 'chunked' } : b.contentLength >= 0 ? { kind: 'length', left: b.contentLength } : { kind: 'close' };
  }

  // --- body ----------------------------------------------------------------------------------

  #bodyData(chunk: Uint8Array): Verdict | null {
    if (this.#o.mode === 'digest') return this.#digestData(chunk);
    const f = this.#b!.framing;
    if (f.kind === 'chunked') return this.#chunkedData(chunk);
    let part = chunk;
    if (f.kind === 'length') {
      if (part.length > f.left) part = part.subarray(0, f.left);
      f.left -= part.length;
    }
    const v = this.#content(part);
    if (v !== null) return v;
    return f.kind === 'length' && f.left === 0 ? this.#bodyComplete() : null;
  }

  /** Chunked transfer coding: size line (hex, extensions ignored), data, CRLF; a 0 size ends the body (trailers unread). */
  #chunkedData(chunk: Uint8Array): Verdict | null {
    const b = this.#b!;
    let i = 0;
    while (i < chunk.length) {
      if (b.chunk === 'size') {
        const nl = chunk.indexOf(0x0a, i);
        const upto = nl < 0 ? chunk.length : nl;
        b.chunkLine += Buffer.from(chunk.buffer, chunk.byteOffset + i, upto - i).toString('latin1');
        if (b.chunkLine.length > MAX_CHUNK_LINE) return this.#badChunk();
        if (nl < 0) return null;
        i = nl + 1;
        const m = /^([0-9A-Fa-f]{1,8})[ \t]*(?:;[^\r]*)?\r?$/.exec(b.chunkLine);
        if (m === null) return this.#badChunk();
        b.chunkLine = '';
        b.chunkLeft = parseInt(m[1]!, 16);
        if (b.chunkLeft === 0) return this.#bodyComplete();
        b.chunk = 'data';
      } else if (b.chunk === 'data') {
        const n = Math.min(b.chunkLeft, chunk.length - i);
        const v = this.#content(chunk.subarray(i, i + n));
        if (v !== null) return v;
        b.chunkLeft -= n;
        i += n;
        if (b.chunkLeft === 0) b.chunk = 'data-end';
      } else {
        // The CRLF after a chunk's data.
        const nl = chunk.indexOf(0x0a, i);
        if (nl < 0) {
          b.chunkLine += Buffer.from(chunk.buffer, chunk.byteOffset + i, chunk.length - i).toString('latin1');
          if (b.chunkLine.length > 2) return this.#badChunk();
          return null;
        }
        b.chunkLine += Buffer.from(chunk.buffer, chunk.byteOffset + i, nl - i).toString('latin1');
        if (b.chunkLine !== '\r' && b.chunkLine !== '') return this.#badChunk();
        b.chunkLine = '';
        i = nl + 1;
        b.chunk = 'size';
      }
    }
    return null;
  }

  #badChunk(): Verdict {
    return { up: false, code: 'error', text: `status ${this.status}, invalid chunked body after ${this.bodyBytes} body bytes: ${excerpt(this.#b!.chunkLine)}` };
  }

  /** Body bytes (decoded from their framing) for expect_body: at most HTTP_MAX_BODY, tested as they grow. */
  #content(part: Uint8Array): Verdict | null {
    const b = this.#b!;
    const room = HTTP_MAX_BODY - this.bodyBytes;
    if (room <= 0) return null;
    const take = part.length > room ? part.subarray(0, room) : part;
    this.bodyBytes += take.length;
    b.text += b.decoder!.write(Buffer.from(take.buffer, take.byteOffset, take.length));
    const full = this.bodyBytes >= HTTP_MAX_BODY;
    if (full || b.testedAt < 0 || b.text.length - b.testedAt >= RETEST_AFTER) return this.#test(full);
    return null;
  }

  #bodyComplete(): Verdict {
    this.#b!.text += this.#b!.decoder?.end() ?? '';
    return this.#test(true)!;
  }

  #test(final: boolean): Verdict | null {
    const re = this.#o.expectBody!;
    this.#b!.testedAt = this.#b!.text.length;
    if (re.test(this.#b!.text)) return { up: true, code: 'ok', text: `status ${this.status}, body matches ${re}` };
    if (!final) return null;
    const span = this.bodyBytes >= HTTP_MAX_BODY ? `in the first ${HTTP_MAX_BODY} bytes` : `(${this.bodyBytes} bytes)`;
    return { up: false, code: 'body_mismatch', text: `status ${this.status}, body does not match ${re} ${span}: ${excerpt(this.#b!.text)}` };
  }

  #incomplete(): Verdict {
    const at = this.status > 0 ? `status ${this.status}, ${this.bodyBytes} body bytes read` : 'no status line';
    return { up: false, code: 'reset', text: `connection closed by server before the response was complete (${at})` };
  }

  // --- digest --------------------------------------------------------------------------------

  #digestData(chunk: Uint8Array): Verdict | null {
    const b = this.#b!;
    let part = chunk;
    if (b.contentLength >= 0 && this.bodyBytes + part.length > b.contentLength) {
      part = part.subarray(0, b.contentLength - this.bodyBytes);
    }
    b.hash!.update(part);
    if (b.decoder !== null && this.bodyBytes < HTTP_MAX_BODY) {
      const text = part.subarray(0, HTTP_MAX_BODY - this.bodyBytes);
      b.text += b.decoder.write(Buffer.from(text.buffer, text.byteOffset, text.length));
    }
    this.bodyBytes += part.length;
    return b.contentLength >= 0 && this.bodyBytes >= b.contentLength ? this.#digestComplete() : null;
  }

  #digestComplete(): Verdict {
    const digest = this.#b!.hash?.digest('hex') ?? createHash('md5').digest('hex');
    this.digest = digest;
    if (!inRanges(this.status, this.#o.expectStatus)) return { up: false, code: 'bad_status', text: `status ${this.status}` };
    const want = this.#o.expectDigest;
    if (want !== undefined && digest !== want) {
      return { up: false, code: 'digest_mismatch', text: `status ${this.status}, body digest ${digest} (${this.bodyBytes} bytes), expected ${want}` };
    }
    const re = this.#o.expectBody;
    if (re !== null) {
      if (this.#b!.decoder !== null) this.#b!.text += this.#b!.decoder.end();
      if (!re.test(this.#b!.text)) return { up: false, code: 'body_mismatch', text: `status ${this.status}, body does not match ${re}: ${excerpt(this.#b!.text)}` };
    }
    return { up: true, code: 'ok', text: `status ${this.status}, digest ${digest}${re !== null ? `, body matches ${re}` : ''}` };
  }
}
