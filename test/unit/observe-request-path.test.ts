// requestPath: the exact path of a request-target, or null (400) for what cannot be answered.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestPath } from '../../src/observe/http-server.js';

test('request-targets map to their raw path or to null', () => {
  const cases: [string, string | null][] = [
    ['/', '/'],
    ['/status?x=1', '/status'],
    ['/metrics#frag', '/metrics'],
    ['/../status', '/../status'],
    ['/%73tatus', '/%73tatus'],
    ['http://127.0.0.1:9716/healthz', '/healthz'],
    ['http://[::1]:9716', '/'],
    ['HTTP://h/status?q', '/status'],
    ['http://[', null],
    ['http://[::1', null],
    ['http://%zz', null],
    ['https://:80', null],
    ['*', null],
    ['example.com:80', null],
    ['', null],
    ['ftp://h/status', null],
  ];
  for (const [target, path] of cases) assert.equal(requestPath(target), path, JSON.stringify(target));
});
