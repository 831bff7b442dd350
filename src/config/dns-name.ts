// Whether a dns check's query can be sent, decided without dns-packet so that loading a config does
// not load the DNS codec. It follows checks/dns-query.ts's encodeQuery step by step (dns-packet's
// name encoder, then the decode-and-compare it uses to catch what the encoder writes wrongly);
// test/unit/config-dns-name.test.ts holds the two verdicts equal over generated names.

const LINE_EDGE_DOTS = /^\.|\.$/gm;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/**
 * The record types dns-packet 5.6.1 encodes among those the schema lists: HTTPS and SVCB are listed
 * there but the codec does not know them, so a check asking for one fails at load, as before.
 */
const QUERY_TYPES: ReadonlySet<string> = new Set([
  'A', 'AAAA', 'ANY', 'CAA', 'CNAME', 'DNAME', 'DNSKEY', 'DS', 'HINFO', 'MX', 'NAPTR', 'NS', 'PTR', 'SOA',
  'SRV', 'SSHFP', 'TLSA', 'TXT',
]);

/** Lower-case, without the trailing dot: how the checker compares names. */
function normalise(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

/** Why the checker could not build a query for this name and type, or null. */
export function dnsQueryProblem(query: string, queryType: string): string | null {
  const unencodable = `the name ${JSON.stringify(query)} cannot be encoded in a DNS query (labels of 1 to 63 bytes, at most 255 bytes in all)`;
  const name = normalise(query) || '.';
  // dns-packet drops a dot at the start and end of every line (its pattern has the m flag); what
  // it drops besides the one trailing dot changes the name, which the checker's comparison catches.
  const sent = name.replace(LINE_EDGE_DOTS, '');
  if (sent !== normalise(name)) {
    return `the name ${JSON.stringify(query)} cannot be encoded in a DNS query (empty label: two dots in a row, or a leading dot)`;
  }
  let total = 0;
  for (const label of sent === '' ? [] : sent.split('.')) {
    if (label === '') {
      return `the name ${JSON.stringify(query)} cannot be encoded in a DNS query (empty label: two dots in a row, or a leading dot)`;
    }
    // A lone surrogate is written as U+FFFD and read back as another name.
    if (LONE_SURROGATE.test(label)) return unencodable;
    const bytes = Buffer.byteLength(label);
    if (bytes > 63) return unencodable;
    total += bytes + 1;
  }
  // dns-packet's decoder refuses a name whose labels with their length bytes pass 254 bytes.
  if (total > 254) return unencodable;
  if (!QUERY_TYPES.has(queryType)) return `unknown query type ${queryType}`;
  return null;
}
