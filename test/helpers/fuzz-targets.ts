// The fuzz targets (issue 18 item 3): each names a parser, what inputs to throw at it, and its
// contract: what it may return and the only errors it may throw. Inputs mix raw text, shipped and
// fixture text with random edits (close to real input, where the interesting branches are), and
// texts built from each format's own vocabulary. Run by fuzz-worker.ts, one target per worker.

import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { LvsdError } from '../../src/errors.js';
import { parseCounters, parseListing, parseSave, parseThresholds } from '../../src/ipvs/parse.js';
import { parseStatsListing } from '../../src/ipvs/parse-stats.js';
import { parseProcIpVs } from '../../src/ipvs/proc-conns.js';
import { parseDaemonListing } from '../../src/sync-daemon/ipvsadm.js';
import { decodeRequest } from '../../src/control/control-server.js';
import { loadConfig } from '../../src/config/load.js';
import { readAdminFile } from '../../src/control/admin-file.js';
import { readSyncDaemonFile } from '../../src/sync-daemon/record.js';
import { readOwnedFile } from '../../src/reconcile/ownership.js';
import { StateRecordError } from '../../src/json-state-file.js';
import { fixturesDir, repoRoot } from './paths.js';

export interface FuzzTarget {
  readonly arbitrary: fc.Arbitrary<unknown>;
  /** Throws (fails the property) when the parser broke its contract on `input`. */
  check(input: unknown): void | Promise<void>;
}

// --- input builders --------------------------------------------------------------------------------

/** One random edit of a text: insert, delete, replace, duplicate or drop a line, swap two lines. */
const edit = fc.oneof(
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom(' ', '\t', '\n', '-', ':', '[', ']', '0', '9', '#', '"', "'", '{', '}', '&a', '*a', '!!', '\r', '\u0000', 'é', '\ud83d\ude00')) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ op: fc.constant('replace' as const), at: fc.nat(), text: fc.string({ minLength: 1, maxLength: 4 }) }),
  fc.record({ op: fc.constantFrom('dup-line' as const, 'drop-line' as const, 'swap-lines' as const), at: fc.nat(), other: fc.nat() }),
);
type Edit = typeof edit extends fc.Arbitrary<infer E> ? E : never;

function applyEdit(text: string, e: Edit): string {
  switch (e.op) {
    case 'insert': {
      const at = e.at % (text.length + 1);
      return text.slice(0, at) + e.text + text.slice(at);
    }
    case 'delete': {
      const at = e.at % (text.length + 1);
      return text.slice(0, at) + text.slice(at + e.length);
    }
    case 'replace': {
      const at = e.at % (text.length + 1);
      return text.slice(0, at) + e.text + text.slice(at + e.text.length);
    }
    default: {
      const lines = text.split('\n');
      const i = e.at % lines.length;
      const j = e.other % lines.length;
      if (e.op === 'dup-line') lines.splice(i, 0, lines[i]!);
      else if (e.op === 'drop-line') lines.splice(i, 1);
      else [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      return lines.join('\n');
    }
  }
}

/** A seed text with 1 to 6 random edits. */
function mutated(seeds: readonly string[]): fc.Arbitrary<string> {
  return fc.tuple(fc.constantFrom(...seeds), fc.array(edit, { minLength: 1, maxLength: 6 })).map(([s, edits]) => edits.reduce(applyEdit, s));
}

/** Lines of whitespace-separated words drawn from `words` (and some random ones). */
function wordLines(words: readonly string[]): fc.Arbitrary<string> {
  const word = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...words) }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }) });
  const line = fc.array(word, { maxLength: 12 }).chain((ws) => fc.constantFrom(' ', '  ', '\t').map((sep) => ws.join(sep)));
  return fc.array(line, { maxLength: 12 }).map((ls) => ls.join('\n'));
}

/** Raw text: any unicode, and what a pipe might carry (NUL, CR, long lines). */
const rawText = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 100 }), fc.string({ unit: 'binary', maxLength: 100 }), fc.constantFrom('', '\n', '\r\n', '\u0000', ' '.repeat(1000), 'x'.repeat(70_000)));

const read = (...parts: string[]): string => readFileSync(join(...parts), 'utf8');
const ipvsFixtures = (match: RegExp): string[] =>
  readdirSync(join(fixturesDir, 'ipvs'))
    .filter((f) => match.test(f))
    .map((f) => read(fixturesDir, 'ipvs', f));

// --- contracts -------------------------------------------------------------------------------------

/** A value, or an LvsdError with `code`: nothing else may leave a parser. */
function onlyCoded(code: string, f: () => unknown): unknown {
  try {
    return f();
  } catch (err) {
    if (err instanceof LvsdError && err.code === code) return undefined;
    throw new Error(`escaped the parser's contract (only ${code} may be thrown): ${String((err as Error)?.stack ?? err)}`);
  }
}

const ADDRS = ['192.0.2.10:80', '10.0.0.11:80', '[2001:db8::1]:443', '[::1]:53', '0.0.0.0:0', '255.255.255.255:65535', '300.1.1.1:80', '1.2.3.4:99999', '[fe80::1%eth0]:80', '1.2.3.4', 'C000020A:0050', '[2001:0db8:0000:0000:0000:0000:0000:0035]:0035', '0000000C'];
const IPVS_WORDS = ['-A', '-a', '-E', '-e', '-D', '-d', '-t', '-u', '-f', '--sctp-service', '-s', 'wlc', 'rr', 'sh', 'mh', '-b', 'sh-port,sh-fallback', '-r', '-g', '-m', '-i', '-w', '1', '0', '-1', '65536', '-p', '300', '-M', '255.255.255.0', '--pe', 'sip', '-x', '-y', '--tun-type', 'gue', '--tun-port', '--tun-nocsum', '-R', '-C', ...ADDRS, 'TCP', 'UDP', 'FWM', 'SCTP', '->', 'Route', 'Masq', 'Tunnel', 'Local', 'persistent', 'Prot', 'LocalAddress:Port', 'Scheduler', 'Flags', 'RemoteAddress:Port', 'Forward', 'Weight', 'ActiveConn', 'InActConn', 'Uthreshold', 'Lthreshold', 'PersistConn', 'Conns', 'InPkts', 'OutPkts', 'InBytes', 'OutBytes', 'CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS', '12K', '3M', '1G', '18446744073709551615', '1e3', 'NaN'];

const ipvsTarget = (seeds: readonly string[], parse: (text: string) => unknown): FuzzTarget => ({
  arbitrary: fc.oneof({ weight: 4, arbitrary: mutated(seeds) }, { weight: 3, arbitrary: wordLines(IPVS_WORDS) }, { weight: 1, arbitrary: rawText }),
  check: (input) => void onlyCoded('LVSD_IPVS_PARSE', () => parse(input as string)),
});

// --- control protocol ------------------------------------------------------------------------------

const KEYS = ['v', 'cmd', 'state', 'service', 'real', 'host', 'role', 'client', 'uid', 'user', 'pid', 'toString', 'valueOf', '__proto__', 'constructor', 'length'];
const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(1, 0, -1, 2, 1e300, -0, 'list', 'set', 'sync-role', 'drain', 'maint', 'ready', 'master', 'config', 'web', '10.0.0.1:80', '', null, true, false),
    fc.string({ maxLength: 10 }),
    fc.double(),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('value'), { maxKeys: 5 }),
  ),
})).value;
/** Values whose conversion to a string runs (or fails in) code of the sender's choosing. */
const hostileValue = fc.oneof(jsonValue, fc.constantFrom<unknown>({ toString: 1 }, { toString: 1, valueOf: 2 }, { valueOf: {} }, [{ toString: 1 }], [[]], {}, []));
const requestObject = fc.record(
  { v: fc.oneof(fc.constant(1), jsonValue), cmd: fc.oneof(fc.constantFrom('list', 'set', 'sync-role'), jsonValue), state: jsonValue, service: hostileValue, real: hostileValue, host: hostileValue, role: hostileValue, client: fc.oneof(fc.record({ uid: fc.oneof(fc.integer(), jsonValue), user: hostileValue, pid: hostileValue }, { requiredKeys: [] }), jsonValue) },
  { requiredKeys: [] },
);
const controlLine = fc.oneof(
  requestObject.map((o) => `${JSON.stringify(o)}\n`),
  jsonValue.map((v) => `${JSON.stringify(v)}\n`),
  fc.tuple(rawText, fc.boolean()).map(([t, nl]) => (nl ? `${t}\n` : t)),
  mutated(['{"v":1,"cmd":"list"}\n', '{"v":1,"cmd":"set","state":"drain","service":"web","real":"10.0.0.1:80","client":{"uid":0,"user":"root","pid":1}}\n', '{"v":1,"cmd":"sync-role","role":"backup"}\n']),
);

// --- state records ---------------------------------------------------------------------------------

const recordValue = fc.oneof(
  fc.constantFrom(0, -1, 1.5, 1e300, -1e20, 8.64e15, 8.64e15 + 1, 1765000000000, 'master', 'backup', 'both', 'none', 'drain', 'maint', 'service', 'real', 'host', 4, 6, '10.0.0.11', '2001:db8::1', 'web', null, [], {}),
  fc.string({ maxLength: 20 }),
  fc.double(),
  fc.integer(),
);
const adminRecord = fc.record({
  version: fc.oneof(fc.constant(1), recordValue),
  entries: fc.array(
    fc.record(
      {
        target: fc.oneof(
          fc.record({ kind: fc.constantFrom('service', 'real', 'host'), service: recordValue, real: fc.oneof(fc.record({ host: recordValue, family: recordValue, port: recordValue }, { requiredKeys: [] }), recordValue) }, { requiredKeys: ['kind'] }),
          recordValue,
        ),
        state: recordValue,
        by: recordValue,
        since: recordValue,
      },
      { requiredKeys: [] },
    ),
    { maxLength: 4 },
  ),
});
const syncRecord = fc.record({
  version: fc.oneof(fc.constant(1), recordValue),
  runtime: fc.oneof(fc.constant(null), fc.record({ role: recordValue, by: recordValue, since: recordValue }, { requiredKeys: [] }), recordValue),
  started: fc.oneof(fc.array(fc.oneof(fc.constantFrom('master', 'backup'), recordValue), { maxLength: 4 }), recordValue),
});
const ownedRecord = fc.record({ version: fc.oneof(fc.constant(1), recordValue), services: fc.oneof(fc.array(recordValue, { maxLength: 5 }), recordValue) });
const VALID_RECORDS = [
  '{"version":1,"entries":[{"target":{"kind":"real","service":"web","real":{"host":"10.0.0.11","family":4,"port":80}},"state":"drain","by":"socket uid 0 (root)","since":1765000000000}]}',
  '{"version":1,"runtime":{"role":"master","by":"ocf","since":1765000000000},"started":["master"]}',
  '{"version":1,"services":["tcp:192.0.2.10:80","fwmark:1:v4"]}',
];
const recordText = (shape: fc.Arbitrary<unknown>): fc.Arbitrary<string> => fc.oneof({ weight: 3, arbitrary: shape.map((o) => JSON.stringify(o)) }, { weight: 2, arbitrary: mutated(VALID_RECORDS) }, { weight: 1, arbitrary: rawText });

const scratch = mkdtempSync(join(tmpdir(), 'lvsd-fuzz-'));
process.once('exit', () => rmSync(scratch, { recursive: true, force: true }));

const recordTarget = (shape: fc.Arbitrary<unknown>, readRecord: (path: string) => Promise<unknown>): FuzzTarget => ({
  arbitrary: recordText(shape),
  async check(input) {
    const path = join(scratch, 'record.json');
    writeFileSync(path, input as string);
    try {
      await readRecord(path);
    } catch (err) {
      if (err instanceof StateRecordError && err.corrupt) return;
      throw new Error(`escaped the reader's contract (only a corrupt-record StateRecordError): ${String((err as Error)?.stack ?? err)}`);
    }
  },
});

// --- configuration -------------------------------------------------------------------------------

const SERVICE_KEYS = ['name', 'address', 'fwmark', 'protocol', 'scheduler', 'persistence', 'timeout', 'netmask', 'forwarding', 'quiescent', 'check', 'type', 'interval', 'rise', 'fall', 'port', 'path', 'host', 'expect_status', 'expect_body', 'query', 'query_type', 'command', 'reals', 'weight', 'sorry', 'quorum', 'hysteresis', 'slow_start', 'checks', 'agent', 'notify', 'listen', 'defaults', 'state_dir', 'sync_daemon', 'role', 'interface', 'syncid', 'announce', 'vips', 'maintenance_dir', 'control_socket', 'log_level', 'drain_timeout', 'resync_interval', '__proto__', 'constructor', 'toString', '<<', 'headers', 'dialogue', 'urls', 'expect', 'send'];
const yamlScalar = fc.oneof(
  fc.constantFrom('192.0.2.10:80', '[2001:db8::1]:80', '10.0.0.11', 'tcp', 'udp', 'http', 'dns', 'misc', 'none', 'gate', 'masq', 'ipip', 'wlc', '2s', '500ms', '1m', '500h', '0s', '-1s', 1, 0, -1, 65536, 1e300, true, null, '/healthz', ['/bin/true'], '200-399', '.*', '(', 'A', 'x'.repeat(300)),
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double(),
);
const yamlValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, yamlScalar, fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(fc.constantFrom(...SERVICE_KEYS), tie('v'), { maxKeys: 6 })),
})).v;
const shippedServices = readdirSync(join(repoRoot, 'conf.d')).map((f) => read(repoRoot, 'conf.d', f));
const shippedGlobals = [read(repoRoot, 'examples', 'demo', 'lvsd.yaml'), read(repoRoot, 'packaging', 'common', 'lvsd.yaml')];
const yamlText = (seeds: readonly string[]): fc.Arbitrary<string> =>
  fc.oneof({ weight: 4, arbitrary: mutated(seeds) }, { weight: 3, arbitrary: yamlValue.map((v) => stringify(v)) }, { weight: 1, arbitrary: rawText });

const configDir = join(scratch, 'config');
mkdirSync(join(configDir, 'conf.d'), { recursive: true });
const configTarget: FuzzTarget = {
  arbitrary: fc.record({ global: fc.option(yamlText(shippedGlobals), { nil: null }), service: yamlText(shippedServices) }),
  async check(input) {
    const { global, service } = input as { global: string | null; service: string };
    // The real load path: files on disk, read by loadConfig as `lvsd run` and check-config do.
    if (global !== null) writeFileSync(join(configDir, 'lvsd.yaml'), global);
    else rmSync(join(configDir, 'lvsd.yaml'), { force: true });
    writeFileSync(join(configDir, 'conf.d', 'fuzz.yaml'), service);
    const r = await loadConfig(configDir);
    if (r.ok) return;
    assert.ok(r.issues.length > 0, 'a refused configuration names at least one issue');
    for (const i of r.issues) {
      assert.ok(i.file.startsWith(configDir), `an issue in a file of the config: ${i.file}`);
      assert.ok(Number.isInteger(i.line) && i.line >= 0 && Number.isInteger(i.col) && i.col >= 0, `positioned: ${JSON.stringify(i)}`);
      assert.ok(typeof i.message === 'string' && i.message.length > 0, 'a message');
    }
  },
};

// --- the registry ----------------------------------------------------------------------------------

export const TARGETS: Readonly<Record<string, FuzzTarget>> = {
  'ipvsadm -Sn': ipvsTarget(ipvsFixtures(/^save/), parseSave),
  'ipvsadm -Ln (listing, counters, thresholds)': ipvsTarget(ipvsFixtures(/^list-(?!stats|rate)/), (t) => {
    parseListing(t);
    onlyCoded('LVSD_IPVS_PARSE', () => parseCounters(t));
    onlyCoded('LVSD_IPVS_PARSE', () => parseThresholds(t));
  }),
  'ipvsadm -Ln --stats/--rate': ipvsTarget(ipvsFixtures(/^list-(stats|rate)/), parseStatsListing),
  'ipvsadm -L --daemon': ipvsTarget(readdirSync(join(fixturesDir, 'ipvs', 'daemon')).filter((f) => f.endsWith('.txt')).map((f) => read(fixturesDir, 'ipvs', 'daemon', f)), parseDaemonListing),
  '/proc/net/ip_vs': ipvsTarget(
    [
      'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\nTCP  C000020A:0050 wlc \n  -> 0A00000C:0050      Route   0      0          4         \n  -> 0A00000B:0050      Masq    1      3          12        \nUDP  [2001:0db8:0000:0000:0000:0000:0000:0035]:0035 rr \n  -> [2001:0db8:0000:0000:0000:0000:0000:0011]:0035      Route   1      0          7         \nFWM  0000000C wlc persistent 300 FFFFFFFF\n  -> 0A000015:0000      Route   1      2          0         \n',
    ],
    parseProcIpVs,
  ),
  'control request line': {
    arbitrary: controlLine,
    check(input) {
      const d = decodeRequest(input as string);
      assert.ok(['incomplete', 'refused', 'request'].includes(d.kind));
      if (d.kind === 'request') {
        assert.equal(d.request.v, 1);
        assert.equal(typeof d.by, 'string');
      }
    },
  },
  'state record admin.json': recordTarget(adminRecord, readAdminFile),
  'state record sync-daemon.json': recordTarget(syncRecord, readSyncDaemonFile),
  'state record owned.json': recordTarget(ownedRecord, readOwnedFile),
  'config load (lvsd.yaml + a conf.d file)': configTarget,
};
