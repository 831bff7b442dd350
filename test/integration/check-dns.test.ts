// DNS checker against a real dnsmasq (UDP and TCP) and a scriptable misbehaving responder, on loopback only.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { encode } from 'dns-packet';
import { checkDns } from '../../src/checks/dns.js';
import type { DnsCheckSpec, Endpoint } from '../../src/config/model.js';
import type { CheckTarget } from '../../src/checks/types.js';
import { startDnsmasq } from '../helpers/dnsmasq.js';
import type { Dnsmasq } from '../helpers/dnsmasq.js';
import { aRecord, closedUdpPort, response, startFakeDns } from '../helpers/fake-dns.js';
import type { FakeDns, FakeDnsOptions } from '../helpers/fake-dns.js';

const V4: Endpoint = { host: '127.0.0.1', family: 4, port: 53 };
const V6: Endpoint = { host: '::1', family: 6, port: 53 };
const live = (): AbortSignal => new AbortController().signal;

function target(port: number, opts: Partial<DnsCheckSpec> = {}, address: Endpoint = V4): CheckTarget {
  const spec: DnsCheckSpec = {
    type: 'dns',
    intervalMs: 5000,
    timeoutMs: 5000,
    rise: 1,
    fall: 1,
    port,
    query: 'www.example.test',
    queryType: 'A',
    transport: 'udp',
    expectRcode: 'NOERROR',
    expectAnswer: null,
    ...opts,
  };
  return {
    address,
    spec,
    context: { serviceName: 'dns', vip: { host: '192.0.2.53', family: 4, port: 53 }, fwmark: null, protocol: 'udp' },
  };
}

describe('DNS checker against dnsmasq', () => {
  let dns: Dnsmasq;
  before(async () => {
    dns = await startDnsmasq([
      '--local=/example.test/', // unknown names under example.test are NXDOMAIN, never forwarded
      '--address=/www.example.test/10.0.0.5',
      '--host-record=host.example.test,10.0.0.6,2001:db8::6',
      '--txt-record=txt.example.test,v=spf1 -all',
    ]);
  });
  after(async () => {
    await dns.stop();
  });

  for (const transport of ['udp', 'tcp'] as const) {
    it(`${transport}: A query is up and its answer renders as "NAME TTL CLASS TYPE DATA"`, async () => {
      const r = await checkDns(
        target(dns.port, { transport, expectAnswer: '^www\\.example\\.test 300 IN A 10\\.0\\.0\\.5$' }),
        live(),
      );
      assert.equal(r.up, true, r.reason);
      assert.equal(r.code, 'ok');
      assert.equal(
        r.reason,
        `DNS A www.example.test @127.0.0.1:${dns.port}/${transport}: NOERROR, 1 answer, ` +
          'matched "www.example.test 300 IN A 10.0.0.5"',
      );
      assert.ok(r.latencyMs >= 0);
    });

    it(`${transport}: expect_answer mismatch is dns_answer_mismatch and shows what came back`, async () => {
      const r = await checkDns(target(dns.port, { transport, expectAnswer: '10\\.0\\.0\\.99' }), live());
      assert.equal(r.up, false);
      assert.equal(r.code, 'dns_answer_mismatch');
      assert.match(r.reason, /no answer matches \/10\\\.0\\\.0\\\.99\/ \(www\.example\.test 300 IN A 10\.0\.0\.5\)$/);
    });

    it(`${transport}: NXDOMAIN while expecting NOERROR is dns_rcode`, async () => {
      const r = await checkDns(target(dns.port, { transport, query: 'nope.example.test' }), live());
      assert.equal(r.up, false);
      assert.equal(r.code, 'dns_rcode');
      assert.equal(
        r.reason,
        `DNS A nope.example.test @127.0.0.1:${dns.port}/${transport}: rcode NXDOMAIN (expected NOERROR)`,
      );
    });

    it(`${transport}: NXDOMAIN is up when NXDOMAIN is expected`, async () => {
      const r = await checkDns(target(dns.port, { transport, query: 'nope.example.test', expectRcode: 'NXDOMAIN' }), live());
      assert.equal(r.up, true, r.reason);
      assert.match(r.reason, /: NXDOMAIN, 0 answers$/);
    });
  }

  it('TXT records render quoted', async () => {
    const r = await checkDns(
      target(dns.port, { query: 'txt.example.test', queryType: 'TXT', expectAnswer: '^txt\\.example\\.test 300 IN TXT "v=spf1 -all"$' }),
      live(),
    );
    assert.equal(r.up, true, r.reason);
  });

  it('AAAA records render in compressed form', async () => {
    const r = await checkDns(
      target(dns.port, { query: 'host.example.test', queryType: 'AAAA', expectAnswer: ' AAAA 2001:db8::6$' }),
      live(),
    );
    assert.equal(r.up, true, r.reason);
  });

  it('expect_answer with an empty answer section is a mismatch', async () => {
    const r = await checkDns(target(dns.port, { query: 'host.example.test', queryType: 'TXT', expectAnswer: '.' }), live());
    assert.equal(r.code, 'dns_answer_mismatch');
    assert.match(r.reason, /\(no answer records\)$/);
  });

  it('a name outside its zones is REFUSED (dnsmasq has no upstream to forward to)', async () => {
    const r = await checkDns(target(dns.port, { query: 'www.elsewhere.test' }), live());
    assert.equal(r.code, 'dns_rcode');
    assert.match(r.reason, /rcode REFUSED/);
  });
});

describe('DNS checker against a misbehaving responder', () => {
  const started: FakeDns[] = [];
  const fake = async (opts: FakeDnsOptions): Promise<FakeDns> => {
    const f = await startFakeDns(opts);
    started.push(f);
    return f;
  };
  after(async () => {
    await Promise.all(started.map((f) => f.close()));
  });

  it('a response with a foreign id only: ignored, so the check times out', async () => {
    const f = await fake({ udp: (q) => [response(q, { id: (q.packet.id! + 1) & 0xffff, answers: [aRecord(q, '10.0.0.5')] })] });
    const r = await checkDns(target(f.port, { timeoutMs: 1000 }), live());
    assert.equal(r.up, false);
    assert.equal(r.code, 'timeout');
    assert.match(r.reason, /: timed out after 1000 ms \(ignored 1 response with a foreign id\)$/);
  });

  it('a foreign id, then the right one: up', async () => {
    const f = await fake({
      udp: (q) => [response(q, { id: (q.packet.id! + 1) & 0xffff, rcode: 2 }), response(q, { answers: [aRecord(q, '10.0.0.5')] })],
    });
    const r = await checkDns(target(f.port, { expectAnswer: '10\\.0\\.0\\.5' }), live());
    assert.equal(r.up, true, r.reason);
  });

  it('SERVFAIL is dns_rcode', async () => {
    const f = await fake({ udp: (q) => [response(q, { rcode: 2 })] });
    const r = await checkDns(target(f.port), live());
    assert.equal(r.code, 'dns_rcode');
    assert.equal(r.reason, `DNS A www.example.test @127.0.0.1:${f.port}/udp: rcode SERVFAIL (expected NOERROR)`);
  });

  it('an error response without the question section is still judged by its rcode', async () => {
    const f = await fake({ udp: (q) => [response(q, { rcode: 4, question: null })] });
    const r = await checkDns(target(f.port), live());
    assert.equal(r.code, 'dns_rcode', r.reason);
    assert.match(r.reason, /rcode NOTIMP/);
  });

  it('truncated over UDP: retried over TCP, judged on the TCP answer', async () => {
    const f = await fake({
      udp: (q) => [response(q, { truncated: true })],
      tcp: (q) => [response(q, { answers: [aRecord(q, '10.0.0.5'), aRecord(q, '10.0.0.7')] })],
    });
    const r = await checkDns(target(f.port, { expectAnswer: '10\\.0\\.0\\.7$' }), live());
    assert.equal(r.up, true, r.reason);
    assert.match(r.reason, /\/udp: truncated over UDP, retried over TCP: NOERROR, 2 answers, matched/);
    assert.deepEqual(
      f.queries.map((q) => q.transport),
      ['udp', 'tcp'],
    );
  });

  it('truncated over UDP, cut mid-record (counts kept): still retried over TCP', async () => {
    const f = await fake({
      udp: (q) => {
        const full = response(q, { truncated: true, answers: [aRecord(q, '10.0.0.5')] });
        return [full.subarray(0, full.length - 14)]; // ends inside the record header: does not decode
      },
      tcp: (q) => [response(q, { answers: [aRecord(q, '10.0.0.5')] })],
    });
    const r = await checkDns(target(f.port), live());
    assert.equal(r.up, true, r.reason);
    assert.match(r.reason, /truncated over UDP, retried over TCP: NOERROR, 1 answer$/);
  });

  it('truncated over UDP with TCP closed: down, refused', async () => {
    const f = await fake({ udp: (q) => [response(q, { truncated: true })], tcp: null });
    const r = await checkDns(target(f.port), live());
    assert.equal(r.code, 'refused');
    assert.match(r.reason, /truncated over UDP, retried over TCP: connection refused$/);
  });

  it('a silent server: timeout', async () => {
    const f = await fake({ udp: () => [] });
    const r = await checkDns(target(f.port, { timeoutMs: 200 }), live());
    assert.equal(r.code, 'timeout');
    assert.match(r.reason, /timed out after 200 ms$/);
  });

  it('garbage bytes: dns_bad_response', async () => {
    const f = await fake({ udp: () => [Buffer.from('this is not a DNS message, not even close')] });
    const r = await checkDns(target(f.port), live());
    assert.equal(r.code, 'dns_bad_response');
    assert.match(r.reason, /undecodable response \(41 bytes: 74686973/);
  });

  it('a datagram shorter than a DNS header: dns_bad_response', async () => {
    const f = await fake({ udp: () => [Buffer.from([1, 2, 3])] });
    const r = await checkDns(target(f.port), live());
    assert.equal(r.code, 'dns_bad_response');
  });

  for (const size of [0, 1]) {
    it(`regression (issue 18): a ${size}-byte UDP answer is dns_bad_response, not ERR_BUFFER_OUT_OF_BOUNDS killing the process`, async () => {
      // The 'message' handler read the id of any datagram: a realserver answering 0 or 1 byte crashed lvsd.
      const f = await fake({ udp: () => [Buffer.alloc(size, 0x41)] });
      const r = await checkDns(target(f.port), live());
      assert.equal(r.up, false);
      assert.equal(r.code, 'dns_bad_response');
      assert.match(r.reason, new RegExp(`response of ${size} bytes?(: 41)?, shorter than a DNS header \\(12\\)$`));
      assert.equal(f.queries.length, 1, 'the query went out and the answer came back');
    });
  }

  it('regression (issue 18): a NUL byte in an answer name is escaped, so LVSD_REASON can be passed to a command', async () => {
    const f = await fake({ udp: (q) => [response(q, { answers: [{ ...aRecord(q, '10.0.0.5'), name: 'www\u0000\u0007x.example.test' }] })] });
    const r = await checkDns(target(f.port, { expectAnswer: '^nothing$' }), live());
    assert.equal(r.code, 'dns_answer_mismatch');
    assert.ok(!/[\x00-\x1f]/.test(r.reason), `no control character in ${JSON.stringify(r.reason)}`);
    assert.match(r.reason, /\(www\\000\\007x\.example\.test 60 IN A 10\.0\.0\.5\)$/);
    // What notify does with a reason: an environment variable of a spawned command.
    const echoed = spawnSync('/bin/sh', ['-c', 'printf %s "$LVSD_REASON"'], { env: { LVSD_REASON: r.reason }, encoding: 'utf8' });
    assert.equal(echoed.error, undefined);
    assert.equal(echoed.stdout, r.reason);
  });

  for (const transport of ['udp', 'tcp'] as const) {
    it(`regression (issue 18), ${transport}: an A record cut short is dns_bad_response, not "1.2.undefined.undefined" and up`, async () => {
      // RDLENGTH 4 kept, only 2 of the 4 address bytes sent: dns-packet read past the end.
      const cut = (q: Parameters<typeof response>[0]): Buffer => response(q, { answers: [aRecord(q, '1.2.3.4')] }).subarray(0, -2);
      const f = await fake({ udp: (q) => [cut(q)], tcp: (q) => [cut(q)] });
      const r = await checkDns(target(f.port, { transport }), live());
      assert.equal(r.up, false, r.reason);
      assert.equal(r.code, 'dns_bad_response');
      assert.match(r.reason, /record 1 of 1: data cut short \(4 bytes announced, 2 left\)$/);
      assert.ok(!r.reason.includes('undefined'), r.reason);
    });
  }

  it('regression (issue 18): an A record whose RDLENGTH says 2 is dns_bad_response', async () => {
    const short = (q: Parameters<typeof response>[0]): Buffer => {
      const full = response(q, { answers: [aRecord(q, '1.2.3.4')] });
      const out = Buffer.from(full.subarray(0, -2));
      out.writeUInt16BE(2, out.length - 4); // the RDLENGTH in front of the (now 2-byte) address
      return out;
    };
    const f = await fake({ udp: (q) => [short(q)] });
    const r = await checkDns(target(f.port), live());
    assert.equal(r.up, false, r.reason);
    assert.equal(r.code, 'dns_bad_response');
    assert.match(r.reason, /record 1 of 1: A data of 2 bytes \(4 expected\)$/);
  });

  it('an echo of the query (QR bit clear): dns_bad_response', async () => {
    const f = await fake({ udp: (q) => [encode({ type: 'query', id: q.packet.id ?? 0, questions: q.packet.questions ?? [] })] });
    const r = await checkDns(target(f.port), live());
    assert.equal(r.code, 'dns_bad_response');
    assert.match(r.reason, /not a response/);
  });

  it('an answer to another question: dns_bad_response', async () => {
    const f = await fake({ udp: (q) => [response(q, { question: { name: 'evil.example.test', type: 'A' } })] });
    const r = await checkDns(target(f.port), live());
    assert.equal(r.code, 'dns_bad_response');
    assert.match(r.reason, /different question \(A evil\.example\.test\)/);
  });

  it('tcp: a response split across chunks is reassembled', async () => {
    const f = await fake({ tcpSplit: true, tcp: (q) => [response(q, { answers: [aRecord(q, '10.0.0.5')] })] });
    const r = await checkDns(target(f.port, { transport: 'tcp', expectAnswer: '10\\.0\\.0\\.5' }), live());
    assert.equal(r.up, true, r.reason);
    assert.deepEqual(f.queries.map((q) => q.transport), ['tcp'], 'a TCP check never touches UDP');
  });

  it('tcp: a foreign-id message then ours in one write', async () => {
    const f = await fake({ tcp: (q) => [response(q, { id: (q.packet.id! + 7) & 0xffff, rcode: 2 }), response(q)] });
    const r = await checkDns(target(f.port, { transport: 'tcp' }), live());
    assert.equal(r.up, true, r.reason);
  });

  it('tcp: connection closed mid-response is dns_bad_response', async () => {
    const f = await fake({ tcpClose: true, tcp: () => [{ raw: Buffer.from([0, 40, 1, 2, 3]) }] });
    const r = await checkDns(target(f.port, { transport: 'tcp' }), live());
    assert.equal(r.code, 'dns_bad_response');
    assert.match(r.reason, /\/tcp: connection closed mid-response after 5 bytes$/);
  });

  it('tcp: connection closed without a response is dns_bad_response', async () => {
    const f = await fake({ tcpClose: true, tcp: () => [] });
    const r = await checkDns(target(f.port, { transport: 'tcp' }), live());
    assert.equal(r.code, 'dns_bad_response');
    assert.match(r.reason, /: connection closed without a response$/);
  });

  it('tcp to a closed port: refused', async () => {
    const f = await fake({ tcp: null, udp: () => [] });
    const r = await checkDns(target(f.port, { transport: 'tcp' }), live());
    assert.equal(r.code, 'refused');
    assert.match(r.reason, /\/tcp: connection refused$/);
  });

  it('udp to a closed port: refused (ICMP port unreachable on the connected socket)', async () => {
    const port = await closedUdpPort();
    const r = await checkDns(target(port), live());
    assert.equal(r.code, 'refused');
    assert.equal(r.reason, `DNS A www.example.test @127.0.0.1:${port}/udp: port unreachable (connection refused)`);
  });

  it('IPv6: a query to [::1] over UDP and over TCP', async () => {
    const f = await fake({
      host: '::1',
      udp: (q) => [response(q, { answers: [aRecord(q, '10.0.0.5')] })],
      tcp: (q) => [response(q, { answers: [aRecord(q, '10.0.0.5')] })],
    });
    const udp = await checkDns(target(f.port, { expectAnswer: '10\\.0\\.0\\.5' }, V6), live());
    assert.equal(udp.up, true, udp.reason);
    assert.match(udp.reason, new RegExp(`^DNS A www\\.example\\.test @\\[::1\\]:${f.port}/udp: `));
    const tcp = await checkDns(target(f.port, { transport: 'tcp' }, V6), live());
    assert.equal(tcp.up, true, tcp.reason);
  });

  it('cancellation by the caller: down with "cancelled", promptly, before the timeout', async () => {
    const f = await fake({ udp: () => [] });
    const controller = new AbortController();
    const pending = checkDns(target(f.port, { timeoutMs: 60_000 }), controller.signal);
    setImmediate(() => controller.abort());
    const r = await pending;
    assert.equal(r.code, 'error');
    assert.match(r.reason, /: cancelled$/);
    const pre = await checkDns(target(f.port, { transport: 'tcp' }), AbortSignal.abort());
    assert.equal(pre.code, 'error');
    assert.match(pre.reason, /: cancelled$/);
  });

  it('an unknown query type is an error result, not a throw', async () => {
    const r = await checkDns(target(1, { queryType: 'BOGUS' }), live());
    assert.equal(r.code, 'error');
    assert.match(r.reason, /unknown query type BOGUS/);
  });
});
