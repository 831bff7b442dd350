// lvsd convert on every file of the corpus (test/corpus/ and Debian's shipped samples): nothing is
// dropped silently. Every directive of the input is mapped into the output, warned about or noted
// (the convert ledger), and a refused file is refused with a position inside it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { committedCorpus, debianCorpus } from '../helpers/corpus.js';
import { convert, dropped, tally } from '../../src/convert/index.js';

const committed = committedCorpus();
const files = [...committed, ...debianCorpus(committed)];

test('the corpus holds at least 40 committed files, each matching its manifest sha256', () => {
  assert.ok(committed.length >= 40, `${committed.length} committed corpus files`);
});

for (const f of files) {
  test(`convert accounts for every directive of ${f.id}`, async (t) => {
    const r = await convert(f.format, f.path, f.text);
    const lines = f.text.split('\n').length;
    if (!r.ok) {
      assert.ok(r.errors.length > 0, 'a refusal says why');
      for (const e of r.errors) {
        assert.ok(e.line >= 1 && e.line <= lines && e.col >= 1, `positioned inside the file: ${e.line}:${e.col} ${e.message}`);
      }
      t.diagnostic(`refused: ${r.errors[0]!.line}:${r.errors[0]!.col}: ${r.errors[0]!.message}`);
      return;
    }
    // Not vacuous: a file with a virtual server has directives to account for.
    assert.ok(r.directives.length > 0, 'the ledger lists the directives read');
    assert.deepEqual(dropped(r.directives), [], 'directives neither mapped, warned about nor noted');
    const n = tally(r.directives);
    t.diagnostic(`${r.directives.length} directives: ${n.mapped} mapped, ${n.warned} warned, ${n.noted} noted`);
  });
}
