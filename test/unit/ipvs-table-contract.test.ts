// The table contract (test/helpers/table-contract.ts) against MemoryTable: the same literal scenarios
// the kernel tier runs against the real kernel IPVS (test/kernel/table-contract.test.ts).

import { describe, it } from 'node:test';
import { MemoryTable } from '../../src/ipvs/memory-table.js';
import { TABLE_SCENARIOS, checkScenario } from '../helpers/table-contract.js';
import type { TableEngine } from '../helpers/table-contract.js';

function memoryEngine(): TableEngine {
  const table = new MemoryTable();
  return {
    restore: (lines) => Promise.resolve(table.restore(lines)),
    save: () => Promise.resolve(table.save()),
  };
}

describe('IPVS table contract: MemoryTable', () => {
  for (const scenario of TABLE_SCENARIOS) {
    it(scenario.name, () => checkScenario(memoryEngine(), scenario));
  }
});
