// Check types http and https: a GET or HEAD, the status judged against expect_status; optionally a
// regex over the body, genhash's MD5 of the body, or several pages (`urls`). Checker: src/checks/http.ts.

import { z } from 'zod';
import { headerNameProblem, headerValueProblem, pathProblem } from '../http-request.js';
import { formatPos } from '../issues.js';
import { regexSchema, statusSchema, upperEnum } from '../schema-values.js';
import { describeCheckType, hostPort } from './core.js';
import type { CheckCommon, CheckTypeDescriptor } from './core.js';

/** One page of an http check with `urls`: all of them must pass. */
export interface HttpUrlSpec {
  readonly path: string;
  readonly expectStatus: readonly (readonly [number, number])[];
  readonly expectBody: string | null;
  /** Lower-case hex MD5 of the body as keepalived's genhash computes it. */
  readonly expectDigest: string | null;
}

export interface HttpCheckSpec extends CheckCommon {
  readonly type: 'http' | 'https';
  readonly method: 'GET' | 'HEAD';
  readonly path: string;
  /** Host header and TLS SNI; null = the real's address. */
  readonly host: string | null;
  /** Inclusive ranges of accepted status codes. */
  readonly expectStatus: readonly (readonly [number, number])[];
  /** Regex source matched against the (bounded) body. */
  readonly expectBody: string | null;
  readonly tlsVerify: boolean;
  readonly headers: Readonly<Record<string, string>>;
  /** Lower-case hex MD5 of the body, as genhash computes it; absent when not configured. */
  readonly expectDigest?: string;
  /**
   * Several pages checked at once, each with its own path and expectations, all of which must
   * pass; `path`/`expectBody` above are then unused. Absent when not configured.
   */
  readonly urls?: readonly HttpUrlSpec[];
}

/** Built-in values of the keys an http check does not give. */
export const HTTP_DEFAULTS = { method: 'GET', path: '/', expectStatus: [[200, 399]] as [number, number][], tlsVerify: false } as const;

/** A list is a load multiplier (one connection per page); far above any real setup. */
export const MAX_URLS = 32;

// The predicates the HTTP checker sends with (http-request.ts): what loads is what it can send.
const headersSchema = z.record(z.string(), z.string()).superRefine((h, ctx) => {
  for (const [name, value] of Object.entries(h)) {
    const problem = headerNameProblem(name) ?? headerValueProblem(name, value);
    if (problem !== null) ctx.addIssue({ code: 'custom', path: [name], message: problem });
    else if (name.toLowerCase() === 'host') ctx.addIssue({ code: 'custom', path: [name], message: 'set the Host header with the check key `host`' });
  }
});

/** An MD5 in hex as genhash prints it; stored lower-case (genhash prints lower-case, keepalived accepts both). */
export const DIGEST_PATTERN = /^[0-9A-Fa-f]{32}$/;
const digestSchema = z.string().transform((v, ctx) => {
  const t = v.trim();
  if (DIGEST_PATTERN.test(t)) return t.toLowerCase();
  ctx.issues.push({ code: 'custom', message: `${JSON.stringify(v)} is not an MD5 digest (32 hexadecimal digits, as \`lvsd digest URL\` or genhash prints it)`, input: v });
  return z.NEVER;
});

// The predicate the HTTP checker sends with (http-request.ts): what loads is what it can send.
const pathSchema = z.string().superRefine((v, ctx) => {
  const problem = pathProblem(v);
  if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
});

const hostSchema = z.string().min(1).superRefine((v, ctx) => {
  const problem = headerValueProblem('Host', v);
  if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
});

/** One page of an http check's `urls`. */
export const urlSchema = z.strictObject({
  path: pathSchema,
  expect_status: statusSchema.optional(),
  expect_body: regexSchema.optional(),
  expect_digest: digestSchema.optional(),
});

const fields = {
  path: pathSchema.optional(),
  host: hostSchema.optional(),
  method: upperEnum(['GET', 'HEAD'] as const, 'method').optional(),
  expect_status: statusSchema.optional(),
  expect_body: regexSchema.optional(),
  expect_digest: digestSchema.optional(),
  urls: z.array(urlSchema).min(1, 'urls needs at least one entry').max(MAX_URLS).optional(),
  tls_verify: z.boolean().optional(),
  headers: headersSchema.optional(),
};

function httpType(type: 'http' | 'https'): CheckTypeDescriptor<HttpCheckSpec, typeof fields> {
  return describeCheckType({
    fields,
    listEntries: { urls: Object.keys(urlSchema.shape) },
    alternatives: [{ key: 'urls', instead: ['path', 'expect_body', 'expect_digest'], why: 'each entry of "urls" has its own path, expect_body and expect_digest' }],
    portless: false,
    target: (spec, host) => {
      const paths = spec.urls?.map((u) => u.path) ?? [spec.path];
      const more = paths.length > 1 ? ` (+${paths.length - 1} more)` : '';
      return `${spec.type}://${hostPort(spec, host)}${paths[0] ?? '/'}${more}`;
    },
    build: ({ get, posOf, common, full, issues }) => {
      // A HEAD response has no body, so expect_body could never match: say so now, not at 3 a.m.
      for (const key of ['expect_body', 'expect_digest', 'urls'] as const) {
        if (full && get<string>('method') === 'HEAD' && get(key) !== undefined) {
          issues.add(posOf(key)!, `"${key}" cannot match a HEAD response (it has no body); use method GET (method HEAD set at ${formatPos(posOf('method')!)})`);
        }
      }
      const digest = get<string>('expect_digest');
      const urls = get<{ path: string; expect_status?: [number, number][]; expect_body?: string; expect_digest?: string }[]>('urls');
      let spec: HttpCheckSpec = {
        ...common,
        type,
        method: get<'GET' | 'HEAD'>('method') ?? HTTP_DEFAULTS.method,
        path: get<string>('path') ?? HTTP_DEFAULTS.path,
        host: get<string>('host') ?? null,
        expectStatus: get<[number, number][]>('expect_status') ?? HTTP_DEFAULTS.expectStatus.map(([a, b]) => [a, b] as const),
        expectBody: get<string>('expect_body') ?? null,
        tlsVerify: get<boolean>('tls_verify') ?? HTTP_DEFAULTS.tlsVerify,
        headers: get<Record<string, string>>('headers') ?? {},
        ...(digest === undefined ? {} : { expectDigest: digest }),
      };
      if (urls !== undefined) {
        // Each page takes the check's expect_status unless it gives its own; body and digest are per page.
        const status = spec.expectStatus;
        const list = urls.map((u): HttpUrlSpec => ({
          path: u.path,
          expectStatus: u.expect_status ?? status,
          expectBody: u.expect_body ?? null,
          expectDigest: u.expect_digest ?? null,
        }));
        spec = { ...spec, urls: list };
      }
      return { spec, command: null };
    },
  });
}

export const httpCheck = httpType('http');
export const httpsCheck = httpType('https');
