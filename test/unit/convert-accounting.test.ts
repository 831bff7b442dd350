// Every directive of every input is mapped, warned or noted: counted file by file over the samples
// Debian's ldirectord and keepalived packages install (scripts/setup-system.sh) and over inputs
// that use each keyword lvsd convert knows. A directive nobody accounted for names itself.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { accountFile, accountText } from '../helpers/convert-accounting.js';
import type { KNode } from '../../src/convert/keepalived-parse.js';
import { dropped, mark, treeRecords } from '../../src/convert/ledger.js';

const LDIRECTORD_SAMPLE = '/usr/share/doc/ldirectord/examples/ldirectord.cf';
const KEEPALIVED_SAMPLES = '/usr/share/doc/keepalived/samples';

const samples = (): string[] => [
  LDIRECTORD_SAMPLE,
  ...(existsSync(KEEPALIVED_SAMPLES) ? readdirSync(KEEPALIVED_SAMPLES).filter((n) => n.startsWith('keepalived.conf')).map((n) => join(KEEPALIVED_SAMPLES, n)) : []),
];

test('the package samples are installed (scripts/setup-system.sh)', () => {
  assert.ok(existsSync(LDIRECTORD_SAMPLE));
  assert.ok(samples().length > 20);
});

for (const file of samples()) {
  test(`every directive of ${file} is mapped, warned or noted`, async (t) => {
    const a = await accountFile(file);
    assert.ok(a.result.ok, a.result.ok ? '' : JSON.stringify(a.result.errors));
    assert.ok(a.directives.length > 0, 'directives were counted');
    assert.deepEqual(a.dropped, [], 'dropped without a word');
    t.diagnostic(`${a.directives.length} directives: ${JSON.stringify(a.tally)}`);
  });
}

const KEEPALIVED_ALL = `
! every virtual_server, real_server and checker keyword of keepalived.conf(5) 2.x that convert handles
global_defs {
  router_id LVS_1
}
$PORT=80
virtual_server_group G {
  192.0.2.20-21 80
  fwmark 9
}
virtual_server 192.0.2.10 $PORT {
  delay_loop 5
  lb_algo wrr
  lb_kind NAT
  persistence_timeout 60
  persistence_granularity 255.255.255.0
  protocol TCP
  quorum 1
  hysteresis 0
  alpha
  omega
  warmup 2
  virtualhost www.example.org
  connect_timeout 3
  retry 2
  delay_before_retry 2
  ha_suspend
  sorry_server 10.0.0.99 80
  sorry_server_inhibit
  sorry_server_lvs_method NAT
  inhibit_on_failure
  smtp_alert
  real_server 10.0.0.1 80 {
    weight 2
    uthreshold 100
    lthreshold 10
    notify_up /bin/true
    notify_down /bin/true
    HTTP_GET {
      url {
        path /health
        status_code 200
        digest 9b3a0c85a887a256d6939da88aabd8cd
        regex "ok"
      }
      connect_timeout 2
      connect_port 8080
      retry 1
    }
  }
  real_server 10.0.0.2 80 {
    MISC_CHECK {
      misc_path "/bin/true x"
      misc_timeout 3
      misc_dynamic
    }
    TCP_CHECK {
      connect_timeout 2
      bindto 10.0.0.200
    }
  }
}
virtual_server group G {
  lb_kind DR
  real_server 10.0.0.3 80 {
    DNS_CHECK {
      type A
      name example.org
    }
  }
}
vrrp_instance V {
  interface eth0
  virtual_router_id 1
}
`;

const LDIRECTORD_ALL = `checktimeout=3
checkinterval=5
autoreload=yes
quiescent=no
fallback=127.0.0.1:80
emailalert="ops@example.org"
virtual=192.0.2.10:80
\treal=10.0.0.1:80 gate 2
\treal=10.0.0.2->10.0.0.3:80 masq
\tservice=http
\trequest="/health"
\treceive="ok"
\tvirtualhost=www.example.org
\tscheduler=wlc
\tpersistent=60
\tnetmask=255.255.255.0
\tprotocol=tcp
\tchecktype=negotiate
\tfailurecount=2
\tservicename=Web
\tcomment=front
virtual=7
\treal=10.0.0.5 gate
\tchecktype=external
\tcheckcommand="/bin/true"
\tnegotiatetimeout=10
`;

for (const [name, text, file] of [['keepalived', KEEPALIVED_ALL, 'all.conf'], ['ldirectord', LDIRECTORD_ALL, 'all.cf']] as const) {
  test(`${name}: every directive of an input using each known keyword is accounted for`, async (t) => {
    const a = await accountText(file, text, name);
    assert.ok(a.result.ok, a.result.ok ? '' : JSON.stringify(a.result.errors));
    assert.deepEqual(a.dropped, []);
    assert.ok(a.tally.mapped > 20 && a.tally.warned > 0 && a.tally.noted > 0, JSON.stringify(a.tally));
    t.diagnostic(JSON.stringify(a.tally));
  });
}

test('the ledger: a statement nobody marked is dropped; a block noted as a whole covers what it holds', () => {
  const leaf = (keyword: string, line: number): KNode => ({ keyword, args: [], children: null, file: 'f', line, col: 1 });
  const converted: KNode = { keyword: 'virtual_server', args: [], children: [leaf('lb_algo', 2), leaf('typo_keyword', 3)], file: 'f', line: 1, col: 1 };
  mark(converted, 'mapped');
  mark(converted.children![0]!, 'mapped');
  assert.deepEqual(dropped(treeRecords([converted])), ['f:3:1: typo_keyword']);
  const noted: KNode = { keyword: 'vrrp_instance', args: [], children: [leaf('interface', 5)], file: 'f', line: 4, col: 1 };
  mark(noted, 'noted');
  assert.deepEqual(treeRecords([noted]).map((r) => r.outcome), ['noted', 'noted']);
  mark(converted.children![1]!, 'warned');
  mark(converted.children![1]!, 'mapped');
  assert.deepEqual(dropped(treeRecords([converted])), []);
  assert.equal(treeRecords([converted])[2]!.outcome, 'warned', 'a warning is not downgraded by a later read');
});
