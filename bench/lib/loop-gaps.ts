// Preloaded into a daemon a benchmark starts (`node --import build/bench/lib/loop-gaps.js`): a 5 ms
// ticker inside the daemon's own event loop; every gap between two ticks longer than 15 ms (a turn
// that held the loop, or the process kept off the CPU) is appended to the file named by
// LVSD_BENCH_LOOP_GAPS as "END_EPOCH_MS GAP_MS CPU_MS". The benchmark reads the gaps that fall in a
// command's window. Unlike a /healthz round trip, this leaves out the client's own lateness.

import { appendFile } from 'node:fs';

const file = process.env.LVSD_BENCH_LOOP_GAPS;
export const TICK_MS = 5;
const RECORD_OVER_MS = 15;

if (file) {
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  const tick = (): void => {
    const now = performance.now();
    const gap = now - last;
    const cpu = process.cpuUsage(lastCpu);
    last = now;
    lastCpu = process.cpuUsage();
    // The CPU the process used in the gap (all its threads): a long gap with little CPU was the
    // machine's load (waiting for a core), not lvsd's work.
    // Appended off the loop (libuv's pool): a synchronous append is itself a stall on a busy disk.
    if (gap > RECORD_OVER_MS) appendFile(file, `${Date.now()} ${gap.toFixed(1)} ${((cpu.user + cpu.system) / 1000).toFixed(1)}\n`, () => undefined);
    setTimeout(tick, TICK_MS).unref();
  };
  setTimeout(tick, TICK_MS).unref();
}
