// Check type dns: one query over UDP or TCP, judged on its rcode and optionally a regex over the
// answers. Checker: src/checks/dns.ts (loaded on first use: it pulls dns-packet in).

import { z } from 'zod';
import { dnsQueryProblem } from '../dns-name.js';
import { lowerEnum, regexSchema, upperEnum } from '../schema-values.js';
import { describeCheckType, hostPort } from './core.js';
import type { CheckCommon } from './core.js';

export interface DnsCheckSpec extends CheckCommon {
  readonly type: 'dns';
  readonly query: string;
  /** Upper-case record type name as dns-packet knows it: A, AAAA, SOA, ... */
  readonly queryType: string;
  readonly transport: 'udp' | 'tcp';
  /** Upper-case rcode name: NOERROR, NXDOMAIN, ... */
  readonly expectRcode: string;
  /** Regex source matched against each answer record rendered as text. */
  readonly expectAnswer: string | null;
}

export const DNS_QUERY_TYPES = [
  'A', 'AAAA', 'ANY', 'CAA', 'CNAME', 'DNAME', 'DNSKEY', 'DS', 'HINFO', 'HTTPS', 'MX', 'NAPTR', 'NS',
  'PTR', 'SOA', 'SRV', 'SSHFP', 'SVCB', 'TLSA', 'TXT',
] as const;
export const DNS_RCODES = [
  'NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE',
] as const;

/** Built-in values of the keys a dns check does not give (`transport` follows the service protocol). */
export const DNS_DEFAULTS = { queryType: 'A', expectRcode: 'NOERROR' } as const;

/** dnsQueryProblem per (name, type), so 10,000 reals sharing one query encode it once. */
const queryVerdicts = new Map<string, string | null>();
function queryProblem(query: string, type: string): string | null {
  const id = `${type} ${query}`;
  let verdict = queryVerdicts.get(id);
  if (verdict === undefined) {
    verdict = dnsQueryProblem(query, type);
    if (queryVerdicts.size >= 1000) queryVerdicts.clear();
    queryVerdicts.set(id, verdict);
  }
  return verdict;
}

export const dnsCheck = describeCheckType({
  fields: {
    query: z.string().min(1).optional(),
    query_type: upperEnum(DNS_QUERY_TYPES, 'DNS record type').optional(),
    transport: lowerEnum(['udp', 'tcp'] as const).optional(),
    expect_rcode: upperEnum(DNS_RCODES, 'DNS rcode').optional(),
    expect_answer: regexSchema.optional(),
  },
  portless: false,
  target: (spec: DnsCheckSpec, host: string) => `${hostPort(spec, host)} ${spec.transport} ${spec.queryType} ${spec.query}`,
  build: ({ get, posOf, typePos, common, serviceProtocol, full, issues }) => {
    const query = get<string>('query');
    if (full && query === undefined) issues.add(typePos(), 'a dns check needs "query" (the name to ask for, e.g. query: example.org)');
    // What the DNS checker's encoder can send (dns-name.ts follows it): what loads is what it can send.
    const problem = query === undefined ? null : queryProblem(query, get<string>('query_type') ?? DNS_DEFAULTS.queryType);
    if (problem !== null) issues.add(posOf('query')!, `query: ${problem}`);
    const spec: DnsCheckSpec = {
      ...common,
      type: 'dns',
      query: query ?? '',
      queryType: get<string>('query_type') ?? DNS_DEFAULTS.queryType,
      // UDP for a UDP service and a fwmark one (it may carry both), else TCP.
      transport: get<'udp' | 'tcp'>('transport') ?? (serviceProtocol === null || serviceProtocol === 'udp' ? 'udp' : 'tcp'),
      expectRcode: get<string>('expect_rcode') ?? DNS_DEFAULTS.expectRcode,
      expectAnswer: get<string>('expect_answer') ?? null,
    };
    return { spec, command: null };
  },
});
