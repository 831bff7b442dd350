// parseStatsListing: `ipvsadm -Ln --exact --stats` as ipvsadm 1.31 prints it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LvsdError } from '../../src/errors.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseStatsListing } from '../../src/ipvs/parse-stats.js';
import { fixturesDir } from '../helpers/paths.js';

// Column layout of ipvsadm.c print_title/print_service_entry for FMT_STATS (%-33s then %8llu each).
const LISTING = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  192.0.2.10:80                      12      340      300    45678   987654
  -> 10.0.0.11:80                        7      200      180    30000   600000
  -> 10.0.0.12:80                        5      140      120    15678   387654
UDP  [2001:db8::53]:53                   3        3        3      180      420
  -> [2001:db8::1]:53                    3        3        3      180      420
FWM  12                                  0        0        0        0        0
  -> 10.0.0.21:0                         0        0        0        0        0
FWM  13 IPv6                             1        2        0      120        0
`;

describe('parseStatsListing', () => {
  it('reads service totals and per-real shares keyed like the rest of lvsd', () => {
    const stats = parseStatsListing(LISTING);
    assert.deepEqual([...stats.keys()], ['tcp:192.0.2.10:80', 'udp:[2001:db8::53]:53', 'fwmark:12:v4', 'fwmark:13:v6']);
    const web = stats.get('tcp:192.0.2.10:80')!;
    assert.deepEqual(web.total, { connections: 12, inPackets: 340, outPackets: 300, inBytes: 45678, outBytes: 987654 });
    assert.deepEqual(web.reals.get('10.0.0.12:80'), { connections: 5, inPackets: 140, outPackets: 120, inBytes: 15678, outBytes: 387654 });
    assert.equal(stats.get('udp:[2001:db8::53]:53')!.reals.get('[2001:db8::1]:53')!.outBytes, 420);
    // A fwmark real without a port is keyed bare, as RealConfig.key and the -Sn parser key it.
    assert.deepEqual([...stats.get('fwmark:12:v4')!.reals.keys()], ['10.0.0.21']);
    assert.equal(stats.get('fwmark:13:v6')!.reals.size, 0);
  });

  it('accepts the abbreviated numbers of a listing without --exact', () => {
    const text = LISTING.replace('   45678   987654', '     45K     987K');
    assert.equal(parseStatsListing(text).get('tcp:192.0.2.10:80')!.total.outBytes, 987_000);
  });

  it('reads an empty table', () => {
    const head = LISTING.split('\n').slice(0, 3).join('\n');
    assert.equal(parseStatsListing(`${head}\n`).size, 0);
  });

  it('names the line of anything it does not understand', () => {
    const cases: [string, RegExp][] = [
      [LISTING.replace('Conns   InPkts', 'Weight  InPkts'), /line 2: no Conns column/],
      [LISTING.replace('      12      340', '      12    x340'), /line 4: "x340" is not a number/],
      [LISTING.replace('  -> 10.0.0.11:80                        7      200      180    30000   600000', '  -> 10.0.0.11:80   7'), /line 5: expected 5 numbers/],
      [`${LISTING}garbage here\n`, /line 12: unrecognised line/],
      ['TCP  192.0.2.10:80  1 2 3 4 5\n', /line 1: service before the header/],
    ];
    for (const [text, message] of cases) {
      assert.throws(() => parseStatsListing(text), (err: unknown) => err instanceof LvsdError && err.code === 'LVSD_IPVS_PARSE' && message.test(err.message));
    }
  });
});

describe('parseStatsListing on real kernel output (test/fixtures/ipvs/list-stats-exact.txt)', () => {
  it('reads every service of the capture with its traffic', async () => {
    const text = await readFile(join(fixturesDir, 'ipvs', 'list-stats-exact.txt'), 'utf8');
    const stats = parseStatsListing(text);
    const services = text.split('\n').filter((l) => /^(TCP|UDP|SCTP|FWM) /.test(l)).length;
    assert.equal(stats.size, services);
    const web = stats.get('tcp:192.0.2.100:80')!;
    assert.deepEqual(web.total, { connections: 5, inPackets: 23, outPackets: 21, inBytes: 1240, outBytes: 1144 });
    assert.equal(web.reals.get('10.10.2.2:80')!.connections, 5);
    assert.equal(stats.get('tcp:192.0.2.100:8080')!.reals.get('10.10.1.2:8080')!.inBytes, 702);
  });

  it('reads marks of 2^31 and up, which ipvsadm prints as negative numbers', () => {
    const text = LISTING.replace('FWM  12  ', 'FWM  -2147483648');
    assert.ok(parseStatsListing(text).has('fwmark:2147483648:v4'));
  });
});
