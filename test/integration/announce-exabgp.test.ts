// announce with the exabgp backend, end to end with Debian's own daemons on loopback: `lvsd run
// --dry-run` (IPVS simulated, announce real) feeds a real ExaBGP through `lvsd exabgp-bridge`, and
// ExaBGP peers with a real BIRD whose routing table the test reads with birdc. BIRD learns the
// VIP/32 after the first results, loses it when the reals fail, gets it back after the hold-down,
// gets it again from an ExaBGP that restarted, and loses it when lvsd stops. 192.0.2.10 is only a
// prefix in BGP messages between two loopback daemons; BIRD has no kernel protocol, so no host
// route changes. Every wait is a bounded poll of birdc or of lvsd's log lines.

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ExabgpBackend } from '../../src/announce/exabgp-backend.js';
import { createLogger } from '../../src/log.js';
import { after, before, describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import { configDir, eventually, freePort, lvsdCommand, startDaemon, tcpListener } from '../helpers/daemon-process.js';
import type { ConfigDir, DaemonProcess, TcpListener } from '../helpers/daemon-process.js';
import { startBird, startExabgp } from '../helpers/bgp-speakers.js';
import type { Bird, Exabgp } from '../helpers/bgp-speakers.js';

const VIP = '192.0.2.10';
const PREFIX = `${VIP}/32`;

describe('announce: exabgp backend with a real ExaBGP and a real BIRD', () => {
  let cfg: ConfigDir;
  let daemon: DaemonProcess;
  let bird: Bird;
  let exabgp: Exabgp;
  let realPort: number;
  let bgpPort: number;
  let real: TcpListener | null = null;
  let socket: string;
  let group: string;

  const dump = async (): Promise<string> =>
    `\nbird routes:\n${await bird.routes().catch(String)}\nbird protocols:\n${await bird.protocols().catch(String)}\nexabgp:\n${exabgp?.log() ?? ''}`;
  /** Poll BIRD until it has (or has not) the VIP's route. */
  const birdHas = (want: boolean, what: string): Promise<true> =>
    eventually(async () => ((await bird.routes()).includes(PREFIX) === want ? true : undefined), what, 60_000).catch(async (err: unknown) => {
      throw new Error(`${String(err)}${await dump()}`);
    });
  const mark = (): number => daemon.logs.length;
  const after_ = (since: number, match: (l: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>> =>
    daemon.waitForLog((l) => daemon.logs.indexOf(l) >= since && match(l), what);
  const startSpeaker = (): Promise<Exabgp> => startExabgp(bgpPort, [process.execPath, ...lvsdCommand(['exabgp-bridge', '--socket', socket])]);

  before(async () => {
    realPort = await freePort();
    bgpPort = await freePort();
    real = await tcpListener(realPort);
    const web = `name: web\naddress: ${VIP}:80\nforwarding: masq\ncheck: { type: tcp, interval: 200ms, timeout: 150ms, rise: 1, fall: 1 }\nreals:\n  - address: 127.0.0.1:${realPort}\n`;
    // socket_group: the test's own group (root on CI), as an operator gives Debian's "exabgp".
    group = (await readFile('/etc/group', 'utf8')).split('\n').map((l) => l.split(':')).find((f) => f[2] === String(process.getgid!()))?.[0] ?? 'root';
    cfg = await configDir({ 'web.yaml': web }, `announce:\n  backend: exabgp\n  hold_down: 2s\n  socket_group: ${group}\n`);
    socket = join(cfg.dir, 'exabgp.sock');
    bird = await startBird(bgpPort);
    daemon = startDaemon(cfg.dir, ['--dry-run']);
    await daemon.waitForLog((l) => l.event === 'exabgp_socket_ready' && l.socket === socket, 'the exabgp socket (default: next to control_socket)');
    exabgp = await startSpeaker();
  });

  it('the socket is 0660 and belongs to socket_group', async () => {
    const st = await stat(socket);
    assert.equal(st.mode & 0o777, 0o660);
    assert.equal(st.gid, process.getgid!());
  });

  after(async () => {
    await daemon?.stop();
    await exabgp?.stop();
    await bird?.stop();
    if (real) await real.close();
    await exabgp?.remove();
    await bird?.remove();
    await cfg?.remove();
  });

  it('BIRD learns VIP/32 from ExaBGP after lvsd\'s first results', async () => {
    const line = await daemon.waitForLog((l) => l.event === 'vip_announced' && l.vip === VIP, 'VIP announced');
    assert.equal(line.reason, 'first_results');
    await daemon.waitForLog((l) => l.event === 'exabgp_bridge_connected', 'the bridge connected');
    await birdHas(true, `BIRD has ${PREFIX}`);
    const routes = await bird.routes();
    assert.match(routes, /BGP\.next_hop: 127\.0\.0\.1/);
    assert.match(routes, /BGP\.as_path: 65001/);
    // ExaBGP acknowledged the announce (done), relayed back by the bridge.
    await eventually(async () => {
      const status = (await (await fetch(`http://${cfg.listen}/status`)).json()) as { announce: { backend: { ok: boolean; detail: { acks_done: number; bridges: number } } } };
      return status.announce.backend.detail.acks_done >= 1 && status.announce.backend.ok && status.announce.backend.detail.bridges === 1 ? true : undefined;
    }, 'an ack from ExaBGP in /status');
  });

  it('the reals fail: withdrawn (quorum_lost) and BIRD loses the route', async () => {
    const since = mark();
    await real!.close();
    real = null;
    const line = await after_(since, (l) => l.event === 'vip_withdrawn' && l.vip === VIP, 'VIP withdrawn');
    assert.equal(line.reason, 'quorum_lost');
    await birdHas(false, `BIRD without ${PREFIX}`);
  });

  it('back: announced again only after the hold-down (hold_down_done), BIRD has it again', async () => {
    const since = mark();
    real = await tcpListener(realPort);
    const hold = await after_(since, (l) => l.event === 'vip_hold_down' && l.vip === VIP, 'hold-down started');
    assert.equal(hold.reason, 'quorum_back');
    const back = await after_(since, (l) => l.event === 'vip_announced' && l.vip === VIP, 'VIP announced again');
    assert.equal(back.reason, 'hold_down_done');
    // The announce line went to ExaBGP with that change, not when health came back.
    const sent = await after_(since, (l) => l.event === 'exabgp_command' && l.command === `announce route ${PREFIX} next-hop self`, 'the announce line sent');
    assert.ok(daemon.logs.indexOf(sent) > daemon.logs.indexOf(back), 'announce sent only after hold_down_done');
    await birdHas(true, `BIRD has ${PREFIX} again`);
  });

  it('ExaBGP restarts: the new bridge gets the whole state and BIRD has the route again', async () => {
    await exabgp.stop();
    await birdHas(false, 'BIRD without the route while ExaBGP is down (session gone)');
    const since = mark();
    exabgp = await startSpeaker();
    await after_(since, (l) => l.event === 'exabgp_bridge_connected', 'the new bridge connected');
    await birdHas(true, `BIRD has ${PREFIX} from the restarted ExaBGP`);
  });

  it('a reload adds a VIP (announced at its first healthy pass) and removing it withdraws it (removed_from_config)', async () => {
    const other = `name: other\naddress: 192.0.2.20:80\nforwarding: masq\ncheck: { type: tcp, interval: 200ms, timeout: 150ms, rise: 1, fall: 1 }\nreals:\n  - address: 127.0.0.1:${realPort}\n`;
    let since = mark();
    await writeFile(join(cfg.dir, 'conf.d', 'other.yaml'), other);
    daemon.child.kill('SIGHUP');
    const added = await after_(since, (l) => l.event === 'vip_announced' && l.vip === '192.0.2.20', 'the new VIP announced');
    assert.equal(added.reason, 'first_results');
    await eventually(async () => ((await bird.routes()).includes('192.0.2.20/32') ? true : undefined), 'BIRD has 192.0.2.20/32');
    since = mark();
    await rm(join(cfg.dir, 'conf.d', 'other.yaml'));
    daemon.child.kill('SIGHUP');
    const removed = await after_(since, (l) => l.event === 'vip_withdrawn' && l.vip === '192.0.2.20', 'the dropped VIP withdrawn');
    assert.equal(removed.reason, 'removed_from_config');
    await eventually(async () => (!(await bird.routes()).includes('192.0.2.20/32') ? true : undefined), 'BIRD without 192.0.2.20/32');
    assert.ok((await bird.routes()).includes(PREFIX), 'the other VIP stays announced');
  });

  it('lvsd stops (SIGTERM): withdrawn (stopping), BIRD loses the route while the BGP session stays up', async () => {
    const since = mark();
    assert.equal(await daemon.stop(), 0);
    const line = daemon.logs.slice(since).find((l) => l.event === 'vip_withdrawn' && l.vip === VIP);
    assert.equal(line?.reason, 'stopping');
    await birdHas(false, `BIRD without ${PREFIX} after lvsd stopped`);
    // The route went because lvsd withdrew it, not because ExaBGP or its session went away.
    assert.match(await bird.protocols(), /director\s+BGP\s+---\s+up\s+\S+\s+Established/);
    assert.equal(exabgp.child.exitCode, null, 'ExaBGP (and the bridge it runs) still running');
  });

  it('lvsd starts again: the bridge, retrying all along, reconnects and BIRD has the route after the first results', async () => {
    daemon = startDaemon(cfg.dir, ['--dry-run']);
    const line = await daemon.waitForLog((l) => l.event === 'vip_announced' && l.vip === VIP, 'VIP announced by the new lvsd');
    assert.equal(line.reason, 'first_results');
    await daemon.waitForLog((l) => l.event === 'exabgp_bridge_connected', 'the running bridge reconnected');
    await birdHas(true, `BIRD has ${PREFIX} from the new lvsd`);
  });
});

describe('exabgp backend socket, as a bridge sees it', () => {
  it('0600 without socket_group; whole state on connect; an error ack is logged and counted, done clears it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lvsd-exa-sock-'));
    const path = join(dir, 'exabgp.sock');
    const logged: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l.trim()) logged.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const errors: string[] = [];
    const backend = new ExabgpBackend({ socket: path, logger: createLogger('debug', sink), onError: (kind) => errors.push(kind) });
    const known = new Map<string, 4 | 6>([['192.0.2.10', 4], ['2001:db8::10', 6]]);
    await backend.start(known);
    try {
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      backend.set(new Map([['192.0.2.10', 4]]), known);
      const client = connect(path);
      client.setEncoding('utf8');
      let got = '';
      client.on('data', (c: string) => (got += c));
      await eventually(async () => (got.split('\n').length >= 3 ? true : undefined), 'the whole state on connect');
      assert.deepEqual(got.trim().split('\n'), ['announce route 192.0.2.10/32 next-hop self', 'withdraw route 2001:db8::10/128']);
      client.write('done\nerror\n');
      await eventually(async () => (errors.length === 1 ? true : undefined), 'the error ack counted');
      assert.deepEqual(errors, ['ack_error']);
      const line = logged.find((l) => l.event === 'exabgp_ack_error');
      assert.equal(line?.command, 'withdraw route 2001:db8::10/128');
      assert.equal(backend.status().ok, false);
      backend.set(new Map(), known);
      client.write('done\n');
      await eventually(async () => (backend.status().ok ? true : undefined), 'a done ack clears the error');
      client.destroy();
    } finally {
      await backend.close(false);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lvsd exabgp-bridge relays both ways and exits 0 when its stdin closes (ExaBGP stopping)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lvsd-exa-bridge-'));
    const path = join(dir, 'exabgp.sock');
    const backend = new ExabgpBackend({ socket: path, logger: createLogger('silent'), onError: () => {} });
    // The bridge starts first: it retries until lvsd's socket exists.
    const bridge = spawn(process.execPath, lvsdCommand(['exabgp-bridge', '--socket', path]), { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    bridge.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    let err = '';
    bridge.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    const exited = new Promise<number | null>((resolve) => bridge.once('exit', (code) => resolve(code)));
    try {
      await eventually(async () => (err.includes('cannot reach lvsd') ? true : undefined), 'the bridge retrying');
      await backend.start(new Map([['192.0.2.10', 4]]));
      await eventually(async () => (backend.status().detail['bridges'] === 1 ? true : undefined), 'the bridge connected');
      backend.set(new Map([['192.0.2.10', 4]]), new Map([['192.0.2.10', 4]]));
      await eventually(async () => (out === 'announce route 192.0.2.10/32 next-hop self\n' ? true : undefined), `the line on the bridge's stdout (got ${JSON.stringify(out)})`);
      bridge.stdin.write('done\n');
      await eventually(async () => (backend.status().detail['acks_done'] === 1 ? true : undefined), 'the ack back in lvsd');
      bridge.stdin.end();
      assert.equal(await exited, 0);
    } finally {
      bridge.kill('SIGKILL');
      await backend.close(false);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
