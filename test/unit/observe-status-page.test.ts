// The status page and the `lvsd status` text for a known state: rows, states, escaping, ages.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ago, clock, escapeHtml, formatAge } from '../../src/observe/format.js';
import { PAGE_REFRESH_SECONDS, renderStatusPage } from '../../src/observe/status-page.js';
import { renderStatusText } from '../../src/observe/status-text.js';
import { WEB, fail, world } from '../helpers/observe-fixtures.js';

/** The <tr> of one real, by its data-real attribute. */
function row(html: string, real: string): string {
  const m = new RegExp(`<tr [^>]*data-real="${real.replace(/[.[\]]/g, '\\$&')}"[^>]*>.*?</tr>`, 's').exec(html);
  assert.ok(m, `no row for ${real}`);
  return m[0];
}

describe('status page', () => {
  it('renders one coloured row per real, sorry server and draining real', async () => {
    const w = world();
    const html = renderStatusPage(await w.observer.statusDocument());
    assert.match(html, /^<!doctype html>/);
    assert.match(html, new RegExp(`<meta http-equiv="refresh" content="${PAGE_REFRESH_SECONDS}">`));
    assert.match(html, /<meta name="viewport"/);
    assert.doesNotMatch(html, /<script|<link|src=|@import|url\(/i, 'no scripts, no external assets');
    assert.match(row(html, '10.0.0.1:80'), /class="real-row state-up"/);
    assert.match(row(html, '10.0.0.1:80'), /10 \/ 10/);
    assert.match(row(html, '10.0.0.1:80'), /4 \/ 11/);
    assert.match(row(html, '10.0.0.2:80'), /class="real-row state-down"/);
    assert.match(row(html, '10.0.0.2:80'), /TCP connect 10\.0\.0\.2:80: connection refused/);
    assert.match(row(html, '10.0.0.3:53'), /state-unknown/);
    assert.match(row(html, '10.0.0.3:53'), /no check result yet/);
    assert.match(row(html, '10.0.0.99:80'), /state-standby/);
    assert.match(row(html, '10.0.0.7:80'), /state-draining/);
    assert.match(html, /1\/2 healthy/);
  });

  it('escapes everything that comes from config files and remote answers', async () => {
    const w = world();
    w.result(WEB, '10.0.0.1:80', fail('body_mismatch', 'HTTP GET http://10.0.0.1:80/: body <script>alert("x")</script> & \'more\''));
    w.observer.reloaded({ ok: false, at: new Date(w.now), reason: 'file change', changed: false, issues: [{ file: '/etc/lvsd/conf.d/<b>.yaml', line: 1, col: 1, message: 'bad "value" <i>' }] });
    const html = renderStatusPage(await w.observer.statusDocument());
    assert.doesNotMatch(html, /<script|<b>|<i>/);
    assert.match(html, /body &lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt; &amp; &#39;more&#39;/);
    assert.match(html, /conf\.d\/&lt;b&gt;\.yaml/);
    assert.match(html, /was rejected/);
  });

  it('shows the daemon unhealthy with its problems', async () => {
    const w = world();
    w.now += 3_600_000; // no check for an hour
    const html = renderStatusPage(await w.observer.statusDocument());
    assert.match(html, /id="healthz">unhealthy</);
    assert.match(html, /no health check has completed for/);
  });
});

describe('status text', () => {
  it('prints a summary and one aligned table per service', async () => {
    const w = world();
    const text = renderStatusText(await w.observer.statusDocument());
    const lines = text.split('\n');
    assert.match(lines[0]!, /^lvsd \S+ on .+ \(pid \d+\), up 2s, healthy$/);
    assert.match(text, /^config {3}loaded \(initial\) 2s ago; 2 services from 0 files in \/etc\/lvsd$/m);
    assert.match(text, /^web {2}tcp 192\.0\.2\.10:80 {2}wlc {2}1\/2 healthy {2}kernel: present \(2 reals\)$/m);
    const header = lines.find((l) => l.includes('REAL'))!;
    const up = lines.find((l) => l.includes('10.0.0.1:80'))!;
    const down = lines.find((l) => l.includes('10.0.0.2:80'))!;
    // Columns line up under the header.
    for (const col of ['STATE', 'WEIGHT', 'CONNS', 'LAST CHECK', 'SINCE', 'REASON']) {
      assert.equal(up.indexOf(up.slice(header.indexOf(col)).trimStart().split(/\s{2,}/)[0]!, header.indexOf(col)), header.indexOf(col), col);
    }
    assert.match(up, /10\.0\.0\.1:80\s+up\s+10\/10\s+4\/11\s+2s ago\s+2s\s+TCP connect 10\.0\.0\.1:80: connected/);
    assert.match(down, /10\.0\.0\.2:80\s+down\s+5\/-\s+-\s+1s ago\s+1s\s+TCP connect 10\.0\.0\.2:80: connection refused$/);
    assert.match(text, /10\.0\.0\.99:80\s+sorry-standby\s+1\/-/);
    assert.match(text, /10\.0\.0\.7:80\s+draining\s+-\/0\s+0\/0/);
    assert.match(text, /10\.0\.0\.3:53\s+unknown\s+1\/-\s+-\s+-\s+1m 02s\s+no check result yet/);
  });

  it('keeps control characters of remote answers off the terminal', async () => {
    const w = world();
    w.result(WEB, '10.0.0.1:80', fail('banner_mismatch', 'TCP 10.0.0.1:80: banner "\u001b[2J\u0007evil"'));
    const text = renderStatusText(await w.observer.statusDocument());
    assert.doesNotMatch(text, /[\u001b\u0007]/);
    assert.match(text, /banner " \[2J evil"/);
  });
});

describe('format helpers', () => {
  it('ages, clocks and escapes', () => {
    assert.equal(formatAge(999), 'just now');
    assert.equal(formatAge(42_000), '42s');
    assert.equal(formatAge(185_000), '3m 05s');
    assert.equal(formatAge(7_800_000), '2h 10m');
    assert.equal(formatAge(97_200_000), '1d 3h');
    assert.equal(ago(null, '2030-01-01T00:00:00.000Z'), 'never');
    assert.equal(ago('2030-01-01T00:00:00.000Z', '2030-01-01T00:00:42.000Z'), '42s ago');
    assert.equal(clock('2030-01-01T00:00:00.123Z'), '2030-01-01 00:00:00Z');
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
