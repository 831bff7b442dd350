// Reading a DNS check's response: framing checked on the wire bytes (dns-packet reads past the end
// of a short message instead of failing), decoded, matched to the query, judged. Pure: bytes in, a
// verdict out, never a throw (the fuzz tests in test/unit/fuzz-dns.test.ts hold it to that).

import { decode } from 'dns-packet';
import type { DecodedPacket } from 'dns-packet';
import { printable, renderAnswer } from './dns-render.js';
import { normaliseName } from './dns-query.js';
import { compilePattern } from './socket-util.js';
import type { CheckReasonCode } from './types.js';

const RCODES = [
  'NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET',
  'NXRRSET', 'NOTAUTH', 'NOTZONE', 'RCODE_11', 'RCODE_12', 'RCODE_13', 'RCODE_14', 'RCODE_15',
] as const;

/** A DNS header is 12 bytes; anything shorter cannot carry an id, let alone an answer. */
const HEADER_BYTES = 12;
/** RDATA sizes fixed by the type (RFC 1035, RFC 3596): A and AAAA. */
const FIXED_RDATA: ReadonlyMap<number, readonly [string, number]> = new Map([
  [1, ['A', 4]],
  [28, ['AAAA', 16]],
]);

export interface SentQuery {
  readonly id: number;
  /** Compared form: lower-case, no trailing dot (the root is ""). */
  readonly name: string;
  readonly type: string;
}

export type Exchange =
  /** `message` is null only for a truncated UDP answer too mangled to decode: it still means "ask over TCP". */
  | { readonly ok: true; readonly message: DecodedPacket | null; readonly rcode: number; readonly truncated: boolean }
  | { readonly ok: false; readonly code: CheckReasonCode; readonly detail: string; readonly notRun?: string };

export type Verdict = { readonly kind: 'foreign' } | Exchange;

export interface Judged {
  readonly up: boolean;
  readonly code: CheckReasonCode;
  readonly detail: string;
}

/** Classify one received DNS message: not ours (foreign id), malformed, or the response. Never throws. */
export function readResponse(bytes: Buffer, query: SentQuery, transport: 'udp' | 'tcp'): Verdict {
  // Regression (issue 18): a 0- or 1-byte UDP answer threw ERR_BUFFER_OUT_OF_BOUNDS from the socket's
  // 'message' handler reading the id, and took the daemon down.
  if (bytes.length < HEADER_BYTES) {
    return bad(`response of ${bytes.length} byte${bytes.length === 1 ? '' : 's'}${preview(bytes)}, shorter than a DNS header (${HEADER_BYTES})`);
  }
  const id = bytes.readUInt16BE(0);
  const header = bytes.readUInt16BE(2);
  let message: DecodedPacket | null = null;
  let why = framingProblem(bytes);
  if (why === null) {
    try {
      message = decode(bytes);
    } catch (err) {
      why = err instanceof Error ? err.message : String(err);
    }
  }
  if (message === null) {
    // Some servers cut a UDP answer mid-record and keep the counts; TC set on our id still means "use TCP".
    if (transport === 'udp' && id === query.id && header & 0x8000 && header & 0x0200) {
      return { ok: true, message: null, rcode: header & 0x0f, truncated: true };
    }
    return bad(`undecodable response (${bytes.length} bytes${preview(bytes)}): ${why}`);
  }
  if (id !== query.id) return { kind: 'foreign' };
  if ((header & 0x8000) === 0) return bad('reply is a query, not a response (QR bit clear)');
  const opcode = (header >> 11) & 0x0f;
  if (opcode !== 0) return bad(`response has opcode ${opcode}, not QUERY`);
  const rcode = header & 0x0f;
  const questions = message.questions ?? [];
  // Servers may leave the question out of an error response (FORMERR, NOTIMP, ...).
  const omitted = questions.length === 0 && rcode !== 0;
  const q = questions[0];
  const same =
    questions.length === 1 &&
    q !== undefined &&
    normaliseName(q.name) === query.name &&
    q.type === query.type &&
    (q.class ?? 'IN') === 'IN';
  if (!omitted && !same) {
    const asked = questions.map((x) => printable(`${x.type} ${x.name}`)).join(', ') || 'no question';
    return bad(`response is for a different question (${clip(asked, 200)})`);
  }
  return { ok: true, message, rcode, truncated: (header & 0x0200) !== 0 };
}

/** The verdict on a response to our question: rcode, then `expect_answer` over the rendered answers. */
export function judgeResponse(
  expectRcode: string,
  expectAnswer: string | null,
  message: DecodedPacket,
  rcode: number,
): Judged {
  const rcodeName = RCODES[rcode] ?? `RCODE_${rcode}`;
  if (rcodeName !== expectRcode) {
    return { up: false, code: 'dns_rcode', detail: `rcode ${rcodeName} (expected ${expectRcode})` };
  }
  const answers = (message.answers ?? []).map(renderAnswer);
  const counted = `${rcodeName}, ${answers.length} answer${answers.length === 1 ? '' : 's'}`;
  if (expectAnswer === null) return { up: true, code: 'ok', detail: counted };

  const pattern = compilePattern(expectAnswer);
  const hit = answers.find((line) => pattern.test(line));
  if (hit !== undefined) return { up: true, code: 'ok', detail: `${counted}, matched "${clip(hit, 200)}"` };
  const seen = answers.length === 0 ? 'no answer records' : clip(answers.join('; '), 300);
  return { up: false, code: 'dns_answer_mismatch', detail: `no answer matches /${expectAnswer}/ (${seen})` };
}

/**
 * Why the message's framing is broken, or null: every section's records must lie inside the bytes,
 * and A/AAAA data must have their fixed size. dns-packet reads an A record's four bytes whatever its
 * RDLENGTH says and past the end of the buffer (giving "1.2.undefined.undefined", which counted as
 * up before issue 18), so the wire layout is walked here first.
 */
export function framingProblem(bytes: Buffer): string | null {
  if (bytes.length < HEADER_BYTES) return `shorter than a DNS header (${bytes.length} bytes)`;
  const questions = bytes.readUInt16BE(4);
  const records = bytes.readUInt16BE(6) + bytes.readUInt16BE(8) + bytes.readUInt16BE(10);
  let at = HEADER_BYTES;
  for (let i = 0; i < questions; i++) {
    at = skipName(bytes, at);
    if (at < 0 || at + 4 > bytes.length) return `question ${i + 1} of ${questions} runs past the end of the message`;
    at += 4;
  }
  for (let i = 0; i < records; i++) {
    at = skipName(bytes, at);
    if (at < 0 || at + 10 > bytes.length) return `record ${i + 1} of ${records} runs past the end of the message`;
    const type = bytes.readUInt16BE(at);
    const rdlength = bytes.readUInt16BE(at + 8);
    at += 10;
    if (at + rdlength > bytes.length) {
      return `record ${i + 1} of ${records}: data cut short (${rdlength} bytes announced, ${bytes.length - at} left)`;
    }
    const fixed = FIXED_RDATA.get(type);
    if (fixed !== undefined && rdlength !== fixed[1]) {
      return `record ${i + 1} of ${records}: ${fixed[0]} data of ${rdlength} bytes (${fixed[1]} expected)`;
    }
    at += rdlength;
  }
  return null;
}

/** The offset after the (possibly compressed) name at `at`, or -1 when it runs past the end or is malformed. */
function skipName(bytes: Buffer, at: number): number {
  for (let labels = 0; labels < 128; labels++) {
    if (at >= bytes.length) return -1;
    const len = bytes[at]!;
    if (len === 0) return at + 1;
    const kind = len & 0xc0;
    if (kind === 0xc0) return at + 2 <= bytes.length ? at + 2 : -1; // a pointer ends the name here
    if (kind !== 0) return -1; // 0x40 / 0x80: extended label types nobody uses
    at += 1 + len;
  }
  return -1;
}

function bad(detail: string): Exchange {
  return { ok: false, code: 'dns_bad_response', detail };
}

function preview(bytes: Buffer): string {
  return bytes.length === 0 ? '' : `: ${bytes.subarray(0, 16).toString('hex')}${bytes.length > 16 ? '…' : ''}`;
}

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
