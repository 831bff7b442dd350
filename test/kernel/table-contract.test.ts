// The table contract (test/helpers/table-contract.ts) against the real kernel IPVS with the real
// ipvsadm: the same literal scenarios the unit tier runs against MemoryTable. No daemon and no
// traffic; each scenario deletes exactly the services it names (never -C), also when it fails.

import { describe, it } from 'node:test';
import { run, skipOutsideVm } from './lib/exec.js';
import { TABLE_SCENARIOS, checkScenario, linesOf } from '../helpers/table-contract.js';
import type { TableEngine } from '../helpers/table-contract.js';

const kernel: TableEngine = {
  async restore(lines) {
    const r = await run('ipvsadm', ['-R'], { input: `${lines.join('\n')}\n`, allowFail: true });
    return { errors: r.stderr.split('\n').filter((l) => l !== ''), status: r.code };
  },
  async save() {
    return (await run('ipvsadm', ['-Sn'])).stdout;
  },
};

/** Delete what is left of the scenario's services (a failed step may leave some). */
async function cleanUp(services: readonly string[]): Promise<void> {
  const save = await kernel.save();
  const deletes = services.filter((s) => linesOf(save, [s]).some((l) => l.startsWith('-A ')));
  if (deletes.length > 0) await run('ipvsadm', ['-R'], { input: `${deletes.map((s) => `-D ${s}`).join('\n')}\n`, allowFail: true });
}

describe('IPVS table contract: the kernel', { skip: skipOutsideVm }, () => {
  for (const scenario of TABLE_SCENARIOS) {
    it(scenario.name, { timeout: 120_000 }, async () => {
      await cleanUp(scenario.services);
      try {
        await checkScenario(kernel, scenario);
      } finally {
        await cleanUp(scenario.services);
      }
    });
  }
});
