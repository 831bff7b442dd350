// Text log lines (issue 11: human logs in the foreground): one readable line per pino record.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseLogFormat, formatTextLine } from '../../src/log-text.js';

describe('formatTextLine', () => {
  it('puts time, level and message first, then every other field as key=value', () => {
    const json = JSON.stringify({
      level: 'warn', time: '2026-11-26T14:03:07.512Z', name: 'lvsd', event: 'health_transition',
      service: 'web', real: '10.0.0.11:80', from: 'up', to: 'down', reason: 'TCP connect: timeout after 3000 ms',
      latency_ms: 3000.4, msg: 'web 10.0.0.11:80: up -> down',
    });
    assert.equal(
      formatTextLine(json),
      '14:03:07.512 WARN  web 10.0.0.11:80: up -> down event=health_transition service=web real=10.0.0.11:80 from=up to=down reason="TCP connect: timeout after 3000 ms" latency_ms=3000.4\n',
    );
  });

  it('renders lists and objects as JSON and keeps the line single', () => {
    const line = formatTextLine(JSON.stringify({ level: 'info', time: '2026-11-26T00:00:00.000Z', msg: 'applying IPVS changes', lines: ['-a -t 1.2.3.4:80 -r 10.0.0.1:80 -m -w 1'], kinds: { 'add-real': 1 } }));
    assert.equal(line, '00:00:00.000 INFO  applying IPVS changes lines=["-a -t 1.2.3.4:80 -r 10.0.0.1:80 -m -w 1"] kinds={"add-real":1}\n');
    assert.equal(line.split('\n').length, 2);
  });

  it('passes a line that is not JSON through unchanged', () => {
    assert.equal(formatTextLine('plain words'), 'plain words\n');
  });
});

describe('chooseLogFormat', () => {
  const cases: [string | undefined, boolean, string][] = [
    [undefined, true, 'text'],
    [undefined, false, 'json'],
    ['json', true, 'json'],
    ['text', false, 'text'],
  ];
  for (const [flag, tty, want] of cases) {
    it(`--log-format ${flag ?? '(none)'} with stdout ${tty ? 'a terminal' : 'a pipe'} is ${want}`, () => {
      assert.equal(chooseLogFormat(flag, tty), want);
    });
  }
});
