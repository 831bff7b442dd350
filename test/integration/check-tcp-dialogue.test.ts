// TCP dialogue checker against a real SMTP-like server on loopback: banner, HELO, 250, QUIT; a wrong
// reply, a server that closes early, one that goes silent mid-dialogue, an IPv6 run.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { checkTcp } from '../../src/checks/tcp.js';
import type { CheckTarget } from '../../src/checks/types.js';
import type { DialogueStep, Family, TcpCheckSpec } from '../../src/config/model.js';

const never = new AbortController().signal;
const SMTP: DialogueStep[] = [
  { send: null, expect: '^220 ' },
  { send: 'HELO lvsd\r\n', expect: '^250 ' },
  { send: 'QUIT\r\n', expect: '^221 ' },
];

function target(host: string, family: Family, port: number, dialogue: DialogueStep[], timeoutMs = 2000): CheckTarget {
  const spec: TcpCheckSpec = { type: 'tcp', intervalMs: 5000, timeoutMs, rise: 1, fall: 1, port, send: null, expect: null, dialogue };
  return { address: { host, family, port }, spec, context: { serviceName: 't', vip: null, fwmark: null, protocol: 'tcp' } };
}

/** A small SMTP server; `mode` changes how it misbehaves. It records each command it received. */
class Smtp {
  mode: 'ok' | 'reject-helo' | 'close-after-banner' | 'silent-after-helo' | 'ehlo-slow' = 'ok';
  readonly commands: string[] = [];
  readonly server: Server = createServer((s: Socket) => {
    s.on('error', () => {});
    s.write('220 mail.test ESMTP\r\n');
    if (this.mode === 'close-after-banner') {
      s.end();
      return;
    }
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      let eol;
      while ((eol = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, eol);
        buf = buf.slice(eol + 2);
        this.commands.push(line);
        if (line.startsWith('EHLO') && this.mode === 'ehlo-slow') {
          // A multi-line reply whose later lines come after the client already moved on.
          s.write('250-mail.test\r\n');
          setImmediate(() => s.write('250-SIZE 1000\r\n250 HELP\r\n'));
        } else if (line.startsWith('HELO')) {
          if (this.mode === 'reject-helo') s.write('501 go away\r\n');
          else if (this.mode === 'ok') s.write('250 mail.test\r\n');
        } else if (line === 'QUIT') s.end('221 bye\r\n');
      }
    });
  });
}

for (const fam of [{ host: '127.0.0.1', family: 4 as const }, { host: '::1', family: 6 as const }]) {
  describe(`tcp dialogue over IPv${fam.family}`, () => {
    const smtp = new Smtp();
    let port = 0;
    before(async () => {
      smtp.server.listen(0, fam.host);
      await once(smtp.server, 'listening');
      port = (smtp.server.address() as { port: number }).port;
    });
    after(() => smtp.server.close());

    test('banner, HELO, 250, QUIT, 221: up, and the server saw each command once', async () => {
      smtp.mode = 'ok';
      smtp.commands.length = 0;
      const r = await checkTcp(target(fam.host, fam.family, port, SMTP), never);
      assert.equal(r.up, true, r.reason);
      assert.match(r.reason, /TCP dialogue .*: 3 step\(s\) done$/);
      assert.deepEqual(smtp.commands, ['HELO lvsd', 'QUIT']);
    });

    test('a multi-line EHLO reply finishing late does not hide the 221 from "^221" (patterns are multi-line)', async () => {
      smtp.mode = 'ehlo-slow';
      smtp.commands.length = 0;
      const steps: DialogueStep[] = [SMTP[0]!, { send: 'EHLO lvsd\r\n', expect: '^250' }, SMTP[2]!];
      const r = await checkTcp(target(fam.host, fam.family, port, steps), never);
      assert.equal(r.up, true, r.reason);
      assert.deepEqual(smtp.commands, ['EHLO lvsd', 'QUIT']);
    });

    test('a final step without expect is done once written', async () => {
      smtp.mode = 'ok';
      const r = await checkTcp(target(fam.host, fam.family, port, [SMTP[0]!, SMTP[1]!, { send: 'QUIT\r\n', expect: null }]), never);
      assert.equal(r.up, true, r.reason);
    });

    test('a wrong reply is down, naming the step', async () => {
      smtp.mode = 'reject-helo';
      const r = await checkTcp(target(fam.host, fam.family, port, SMTP), never);
      assert.deepEqual([r.up, r.code], [false, 'banner_mismatch'], r.reason);
      assert.match(r.reason, /step 2 of 3 \(send "HELO lvsd\\r\\n"\): .*"501 go away\\r\\n"/);
    });

    test('a server closing after the banner is down at step 2', async () => {
      smtp.mode = 'close-after-banner';
      const r = await checkTcp(target(fam.host, fam.family, port, SMTP), never);
      assert.equal(r.up, false);
      assert.match(r.reason, /step 2 of 3/);
    });

    test('a server that goes silent is down when the check timeout ends the dialogue', async () => {
      smtp.mode = 'silent-after-helo';
      const r = await checkTcp(target(fam.host, fam.family, port, SMTP, 300), never);
      assert.deepEqual([r.up, r.code], [false, 'timeout'], r.reason);
      assert.match(r.reason, /step 2 of 3 .*no match within 300 ms \(received nothing\)/);
    });

    test('a refused connection is down with code refused', async () => {
      const r = await checkTcp(target(fam.host, fam.family, 1, SMTP), never);
      assert.deepEqual([r.up, r.code], [false, 'refused']);
    });
  });
}
