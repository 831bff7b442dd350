// config/global-peek.ts reads `listen` and `control_socket` of a plain lvsd.yaml line by line, so
// that status and drain start without the YAML parser. Whenever it answers, its answer must be
// YAML's: generated files (plain lines, quotes, comments, numbers and nulls, anchors, flow and block
// values, indented continuations, duplicates, document markers) are read both ways. A file the
// line reader declines goes to the parser, so declining is always allowed; answering wrongly is not.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse } from 'yaml';
import { peekPlain } from '../../src/config/global-peek.js';
import { repoRoot } from '../helpers/paths.js';

/** What the commands use: the value when YAML reads a string there, else nothing (the default). */
function viaYaml(text: string, key: string): string | undefined | 'YAML refuses' {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch {
    return 'YAML refuses';
  }
  const v = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)[key] : undefined;
  return typeof v === 'string' ? v : undefined;
}

const values = fc.constantFrom(
  '127.0.0.1:9716', '"127.0.0.1:9716"', "'127.0.0.1:9716'", '[::1]:9716', '"[::1]:9716"', '/run/lvsd/control.sock',
  'control.sock', 'state', '9716', '0x10', '0o7', '1e3', '.5', '-1', '.inf', '.NaN', '~', 'null', 'Null', 'true', 'FALSE', 'yes',
  '', 'a #comment', '"a #b"', '"a\\"b"', "'it''s'", '*anchor', '&anchor x', '!!str 5', '|', '>-', '{a: 1}', '[1, 2]', '[1,', '{a',
  'x: y', 'a:b', 'a#b', '"unclosed', "'unclosed", '1.2.3.4', '10.0.0.1:80 # listen here', 'a b', '@x', '`x`', '%x', 'é',
);
const keys = fc.constantFrom('listen', 'control_socket', 'state_dir', 'log_level', 'defaults', 'Listen', 'listen_', '"listen"', 'listen ');
const line = fc.oneof(
  fc.tuple(keys, values).map(([k, v]) => (v === '' ? `${k}:` : `${k}: ${v}`)),
  fc.tuple(keys, values).map(([k, v]) => `${k}:${v}`),
  fc.tuple(keys, values).map(([k, v]) => `  ${k}: ${v}`),
  fc.constantFrom('', '# a comment', '  # indented comment', '---', '...', '- item', '  - item', '? listen', ': x', '\tlisten: x', 'defaults:', '  check: { type: tcp }', '    interval: 2s', '  :9716', '  continued', '%YAML 1.2', '<<: *anchor', 'listen: &a 127.0.0.1:1', 'x: *a'),
);
const file = fc.tuple(fc.array(line, { maxLength: 8 }), fc.constantFrom('', '\n')).map(([ls, end]) => ls.join('\n') + end);

describe('lvsd.yaml peek agrees with YAML', () => {
  for (const key of ['listen', 'control_socket']) {
    it(`${key}: whenever the line reader answers, YAML reads the same`, () => {
      fc.assert(
        fc.property(file, (text) => {
          const plain = peekPlain(text, key);
          const yaml = viaYaml(text, key);
          if (plain === null || yaml === 'YAML refuses') return;
          assert.equal(plain.value, yaml, JSON.stringify(text));
        }),
        { numRuns: 3000 },
      );
    });
  }

  it('answers for the plain files it is for, and declines what it cannot read line by line', () => {
    assert.deepEqual(peekPlain('listen: 127.0.0.1:9716\ncontrol_socket: control.sock # here\n', 'listen'), { value: '127.0.0.1:9716' });
    assert.deepEqual(peekPlain('listen: 127.0.0.1:9716\ncontrol_socket: control.sock # here\n', 'control_socket'), { value: 'control.sock' });
    assert.deepEqual(peekPlain('listen: "[::1]:9716"\n', 'listen'), { value: '[::1]:9716' });
    assert.deepEqual(peekPlain('defaults:\n  check: { type: tcp }\n', 'listen'), { value: undefined });
    assert.equal(peekPlain('listen: 9716\n', 'listen'), null);
    assert.equal(peekPlain('listen: [::1]:9716\n', 'listen'), null);
    assert.equal(peekPlain('listen: 127.0.0.1\n  :9716\n', 'listen'), null);
    assert.equal(peekPlain('listen: a\nlisten: b\n', 'listen'), null);
    assert.equal(peekPlain('listen: *a\n', 'listen'), null);
  });

  it('reads the shipped lvsd.yaml files line by line (status and drain stay fast with them)', () => {
    for (const path of ['packaging/common/lvsd.yaml', 'examples/demo/lvsd.yaml']) {
      const text = readFileSync(join(repoRoot, path), 'utf8');
      for (const key of ['listen', 'control_socket']) {
        const plain = peekPlain(text, key);
        assert.notEqual(plain, null, `${path} ${key}`);
        assert.equal(plain!.value, viaYaml(text, key), `${path} ${key}`);
      }
    }
  });
});
