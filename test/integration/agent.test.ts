// Agent checks (HAProxy agent-check) through `lvsd run --dry-run`: an agent server on loopback
// answers what the test tells it; its replies drive the real's kernel weight (N%), its admin
// state (drain, as the `agent` admin source in /status) and its traffic (down), while the health
// check stays up throughout.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { configDir, freePort, startDaemon, tcpListener } from '../helpers/daemon-process.js';
import type { ConfigDir, DaemonProcess } from '../helpers/daemon-process.js';

describe('agent checks', () => {
  let cfg: ConfigDir;
  let daemon: DaemonProcess;
  let real: { port: number; close(): Promise<void> };
  let agentServer: Server;
  let reply = 'up ready 100%\n';
  let sent = '';
  let realKey: string;

  before(async () => {
    real = await tcpListener();
    realKey = `127.0.0.1:${real.port}`;
    // Answers once it has read the send string, as an agent that takes a command does.
    agentServer = createServer((c) => {
      c.once('data', (d) => {
        sent = d.toString();
        c.end(reply);
      });
      c.on('error', () => undefined);
    });
    const agentPort = await new Promise<number>((resolve) => agentServer.listen(0, '127.0.0.1', () => resolve((agentServer.address() as { port: number }).port)));
    cfg = await configDir({
      'web.yaml': [
        'name: web',
        `address: 127.0.0.1:${await freePort()}`,
        'forwarding: masq',
        'check: { type: tcp, interval: 200ms, timeout: 150ms, rise: 1, fall: 1 }',
        `agent: { port: ${agentPort}, interval: 200ms, send: "status\\n" }`,
        `reals: [{ address: "${realKey}", weight: 40 }]`,
        '',
      ].join('\n'),
    });
    daemon = startDaemon(cfg.dir, ['--dry-run']);
  });

  after(async () => {
    await daemon?.stop();
    await real?.close();
    await new Promise<void>((r) => agentServer.close(() => r()));
    await cfg?.remove();
  });

  /** The daemon applied a line giving the real this weight (or deleting it: null). */
  const applied = (weight: number | null, since: number) =>
    daemon.waitForLog(
      (l) =>
        daemon.logs.indexOf(l) >= since &&
        l.msg === 'applying IPVS changes' &&
        (l.lines as string[]).some((x) => x.includes(`-r ${realKey}`) && (weight === null ? x.startsWith('-d ') : x.endsWith(` -w ${weight}`))),
      weight === null ? 'real deleted' : `weight ${weight}`,
    );

  const agentSays = async (text: string, to: string): Promise<number> => {
    const mark = daemon.logs.length;
    reply = `${text}\n`;
    await daemon.waitForLog((l) => daemon.logs.indexOf(l) >= mark && l.event === 'agent_change' && l.to === to, `agent ${to}`);
    return mark;
  };

  test('the real comes in at its full weight; the agent got its send string', async () => {
    // The first agent poll is spread over its interval, so it may come before or after the first pass.
    await daemon.waitForLog((l) => l.event === 'agent_change' && l.to === 'up ready 100%', 'first agent reply');
    assert.equal(sent, 'status\n');
    await applied(40, 0);
  });

  test('"50%" halves the kernel weight', async () => {
    const mark = await agentSays('50%', 'up ready 50%');
    await applied(20, mark);
  });

  test('"drain" is the agent admin source: weight 0, in the table, shown in /status', async () => {
    const mark = await agentSays('drain', 'up drain 50%');
    await applied(0, mark);
    const status = (await (await fetch(`http://${cfg.listen}/status`)).json()) as {
      services: { reals: { real: string; admin: { state: string; because: string[] }; agent: { state: string } | null }[] }[];
    };
    const r = status.services[0]!.reals[0]!;
    assert.equal(r.admin.state, 'drain');
    assert.match(r.admin.because.join(' '), /drain by agent \(agent 127\.0\.0\.1:\d+\)/);
    assert.equal(r.agent?.state, 'up drain 50%');
  });

  test('"ready 100%" brings it back to its weight', async () => {
    const mark = await agentSays('ready 100%', 'up ready 100%');
    await applied(40, mark);
  });

  test('"down" takes it out although its health check is up; "up" brings it back', async () => {
    let mark = await agentSays('down # deploying', 'down ready 100%');
    await applied(null, mark);
    const health = daemon.logs.filter((l) => l.event === 'health_transition' && l.real === realKey);
    assert.deepEqual(health.map((l) => l.to), ['up'], 'the health check never went down');
    mark = await agentSays('up', 'up ready 100%');
    await applied(40, mark);
  });
});
