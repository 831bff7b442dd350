// The status page of a running daemon (--dry-run) in headless Chromium: one real up, one down,
// coloured rows, readable on a phone; screenshots go to test-output/ for a human to look at.

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StatusDocument } from '../../src/observe/status-document.js';
import { launchBrowser } from '../helpers/browser.js';
import type { Browser } from '../helpers/browser.js';
import { configDir, eventually, freePort, startDaemon, tcpListener } from '../helpers/daemon-process.js';
import type { ConfigDir, DaemonProcess } from '../helpers/daemon-process.js';
import { testOutputDir } from '../helpers/paths.js';

describe('status page in Chromium', () => {
  let cfg: ConfigDir;
  let daemon: DaemonProcess;
  let up: Awaited<ReturnType<typeof tcpListener>>;
  let downPort: number;
  let browser: Browser;
  let base: string;

  before(async () => {
    up = await tcpListener();
    downPort = await freePort();
    const vip = await freePort();
    const check = 'check: { type: tcp, interval: 500ms, timeout: 300ms, rise: 1, fall: 1 }';
    cfg = await configDir({
      '10-web.yaml': `name: web\naddress: 127.0.0.1:${vip}\nprotocol: tcp\nscheduler: wrr\nforwarding: masq\n${check}\nreals:\n  - address: 127.0.0.1:${up.port}\n    weight: 10\n  - address: 127.0.0.1:${downPort}\n    weight: 5\nsorry:\n  - address: 127.0.0.1:${vip + 1}\n`,
      '20-api.yaml': `name: api\naddress: 127.0.0.1:${vip + 2}\nprotocol: tcp\nscheduler: rr\nforwarding: masq\n${check}\nreals:\n  - address: 127.0.0.1:${up.port}\n`,
    });
    base = `http://${cfg.listen}`;
    daemon = startDaemon(cfg.dir, ['--dry-run']);
    // The known state: both first results in and applied to the (in-memory) kernel table.
    await eventually(async () => {
      const doc = (await (await fetch(`${base}/status`)).json()) as StatusDocument;
      const reals = doc.services[0]?.reals ?? [];
      return reals[0]?.health === 'up' && reals[0].weight.kernel === 10 && reals[1]?.health === 'down' ? doc : undefined;
    }, 'one real up and applied, one down');
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await daemon?.stop();
    await up?.close();
    await cfg?.remove();
  });

  it('renders the known state as coloured rows and saves a screenshot', async () => {
    const page = await browser.context.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    const res = await page.goto(`${base}/`);
    assert.equal(res?.status(), 200);
    assert.match(await page.title(), /^lvsd on /);

    const upRow = page.locator(`tr[data-real="127.0.0.1:${up.port}"]`).first();
    const downRow = page.locator(`tr[data-real="127.0.0.1:${downPort}"]`);
    assert.equal(await upRow.getAttribute('data-state'), 'up');
    assert.equal(await downRow.getAttribute('data-state'), 'down');
    assert.match(await upRow.innerText(), /\bup\b/i);
    assert.match(await upRow.innerText(), /10 \/ 10/);
    assert.match(await downRow.innerText(), /\bdown\b/i);
    assert.match(await downRow.innerText(), /5 \/ –/);
    assert.match(await downRow.innerText(), new RegExp(`TCP connect 127\\.0\\.0\\.1:${downPort}.*refused`, 'i'));

    // Coloured rows: the state colours of the stylesheet, as the browser computed them.
    const bg = (sel: string): Promise<string> => page.locator(sel).first().evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.equal(await bg(`tr[data-real="127.0.0.1:${up.port}"]`), 'rgb(232, 245, 236)');
    assert.equal(await bg(`tr[data-real="127.0.0.1:${downPort}"]`), 'rgb(253, 236, 234)');
    assert.equal(await page.locator('tr[data-state="standby"]').count(), 1);

    const sections = await page.locator('section.service h2').allInnerTexts();
    assert.equal(sections.length, 2);
    assert.match(sections[0]!, /^web\s.*1\/2 healthy/s);
    assert.match(sections[1]!, /^api\s.*1\/1 healthy/s);
    assert.equal(await page.locator('#healthz').innerText(), 'healthy');
    assert.equal(await page.locator('meta[http-equiv="refresh"]').getAttribute('content'), '5');

    // Nothing but the page itself was fetched (no external assets), and nothing failed.
    assert.deepEqual(requests, [`${base}/`]);
    assert.deepEqual(errors, []);

    await mkdir(testOutputDir, { recursive: true });
    await page.screenshot({ path: join(testOutputDir, 'status-page.png'), fullPage: true });
    await page.close();
  });

  it('stays readable on a phone: rows become cards, nothing scrolls sideways', async () => {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/`);
    assert.equal(await page.locator('thead').first().isVisible(), false);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(overflow, 0);
    // Each cell carries its column name when the header row is hidden.
    const label = await page.locator(`tr[data-real="127.0.0.1:${downPort}"] td`).nth(1).evaluate((el) => getComputedStyle(el, '::before').content);
    assert.equal(label, '"State"');
    await page.screenshot({ path: join(testOutputDir, 'status-page-phone.png'), fullPage: true });
    await page.close();
  });
});
