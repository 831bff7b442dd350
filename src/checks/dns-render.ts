// Text form of a DNS answer record, the string `expect_answer` is matched against.
// Zone-file presentation, one record per line, without trailing dots on names:
//   "www.example.test 300 IN A 10.0.0.5", "example.test 300 IN MX 10 mail.example.test",
//   "t.example.test 300 IN TXT \"v=spf1 -all\"", unknown types as RFC 3597 "TYPE65 \# 3 0a0b0c".
// Control characters a server put in a name or a string are shown as zone-file "\DDD" escapes: the
// text ends up in LVSD_REASON of notify commands, where a NUL byte made the command unrunnable.

import type { Answer } from 'dns-packet';

export function renderAnswer(a: Answer): string {
  if (a.type === 'OPT') return printable(`${a.name} OPT`);
  const ttl = a.ttl ?? 0;
  const cls = a.class ?? 'IN';
  const unknown = /^UNKNOWN_(\d+)$/.exec(a.type);
  const type = unknown ? `TYPE${unknown[1]}` : a.type;
  let data: string;
  try {
    data = renderData(a);
  } catch {
    // A shape dns-packet produced that the switch did not foresee: show it raw rather than fail the check.
    data = generic(a.data);
  }
  return printable(`${a.name} ${ttl} ${cls} ${type} ${data}`);
}

/** `s` with C0/C1 control characters and DEL as zone-file "\DDD" escapes; everything else as is. */
export function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\${String(c.charCodeAt(0)).padStart(3, '0')}`);
}

function renderData(a: Exclude<Answer, { type: 'OPT' }>): string {
  switch (a.type) {
    case 'A':
    case 'AAAA':
    case 'CNAME':
    case 'DNAME':
    case 'NS':
    case 'PTR':
      return a.data;
    case 'MX':
      return `${a.data.preference ?? 0} ${a.data.exchange}`;
    case 'TXT':
      return (Array.isArray(a.data) ? a.data : [a.data]).map((s) => quote(text(s))).join(' ');
    case 'SOA': {
      const d = a.data;
      return [d.mname, d.rname, d.serial, d.refresh, d.retry, d.expire, d.minimum].map((v) => v ?? 0).join(' ');
    }
    case 'SRV':
      return `${a.data.priority ?? 0} ${a.data.weight ?? 0} ${a.data.port} ${a.data.target}`;
    case 'CAA':
      return `${a.data.flags ?? 0} ${a.data.tag} ${quote(a.data.value)}`;
    case 'HINFO':
      return `${quote(a.data.cpu)} ${quote(a.data.os)}`;
    case 'NAPTR': {
      const d = a.data;
      return `${d.order} ${d.preference} ${quote(d.flags)} ${quote(d.services)} ${quote(d.regexp)} ${d.replacement}`;
    }
    case 'SSHFP':
      return `${a.data.algorithm} ${a.data.hash} ${a.data.fingerprint}`;
    case 'DS':
      return `${a.data.keyTag} ${a.data.algorithm} ${a.data.digestType} ${a.data.digest.toString('hex')}`;
    case 'DNSKEY':
      return `${a.data.flags} 3 ${a.data.algorithm} ${a.data.key.toString('base64')}`;
    case 'TLSA':
      return `${a.data.usage} ${a.data.selector} ${a.data.matchingType} ${a.data.certificate.toString('hex')}`;
    case 'RP':
      return `${a.data.mbox} ${a.data.txt}`;
    case 'NSEC':
      return `${a.data.nextDomain} ${a.data.rrtypes.join(' ')}`;
    case 'RRSIG': {
      const d = a.data;
      return `${d.typeCovered} ${d.algorithm} ${d.labels} ${d.originalTTL} ${d.expiration} ${d.inception} ${d.keyTag} ${d.signersName} ${d.signature.toString('base64')}`;
    }
    default:
      return generic(a.data);
  }
}

// RFC 3597 form for anything dns-packet hands over undecoded (or decodes into a shape not listed above).
function generic(data: unknown): string {
  if (Buffer.isBuffer(data)) return `\\# ${data.length}${data.length ? ` ${data.toString('hex')}` : ''}`;
  return JSON.stringify(data, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : v)) ?? '';
}

function text(s: string | Buffer): string {
  return typeof s === 'string' ? s : s.toString('utf8');
}

function quote(s: string): string {
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
