/**
 * Resource snapshots of the current process, and CPU/memory deltas between two of them.
 * @module
 */
import type { Snapshot } from './ipc.js';

/** Takes a snapshot; with `gc`, collects garbage first (needs `node --expose-gc`). */
export function takeSnapshot(gc = false): Snapshot {
  if (gc && typeof globalThis.gc === 'function') {
    globalThis.gc();
    globalThis.gc();
  }
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  return {
    cpuUser: cpu.user,
    cpuSystem: cpu.system,
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    external: memory.external,
  };
}

/** CPU time (user + system, microseconds) spent between two snapshots. */
export function cpuMicros(before: Snapshot, after: Snapshot): number {
  return after.cpuUser - before.cpuUser + (after.cpuSystem - before.cpuSystem);
}
