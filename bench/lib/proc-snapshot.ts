/**
 * Snapshots of processes that are not Node (nats-server, redis-server), read from Linux's
 * /proc: CPU time (user and system, at the kernel's clock tick: 10 ms at 100 Hz) and RSS. They
 * have no V8 heap: heapUsed and external are 0.
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Snapshot } from './ipc.js';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

/** A snapshot of process `pid`, or undefined when /proc cannot tell (process gone, not Linux). */
export function procSnapshot(pid: number): Snapshot | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (in parentheses, which may contain spaces).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const rssPages = Number(fields[21]);
    if (![utime, stime, rssPages].every(Number.isFinite)) return undefined;
    const micros = 1_000_000 / TICKS_PER_SECOND;
    return {
      cpuUser: utime * micros,
      cpuSystem: stime * micros,
      rss: rssPages * PAGE_BYTES,
      heapUsed: 0,
      external: 0,
    };
  } catch {
    return undefined;
  }
}
