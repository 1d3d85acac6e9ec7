/**
 * Boilerplate of a load-generator child process: read its arguments, run, report the
 * figures (or the error) to the orchestrator and exit. Also asks the orchestrator for
 * snapshots of the server process (the server's CPU time around a measured window).
 * @module
 */
import { isProbeReply, sendToParent, type Metrics, type Snapshot } from './ipc.js';

let nextProbeId = 1;
const waiting = new Map<number, (snapshot: Snapshot) => void>();

process.on('message', (message: unknown) => {
  if (!isProbeReply(message)) return;
  const resolve = waiting.get(message.id);
  waiting.delete(message.id);
  resolve?.(message.snapshot);
});

/** Snapshot of the server under test, taken by the server process itself. */
export function probeServer(gc = false): Promise<Snapshot> {
  const id = nextProbeId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiting.delete(id);
      reject(new Error('No server snapshot within 10 s'));
    }, 10_000);
    waiting.set(id, (snapshot) => {
      clearTimeout(timer);
      resolve(snapshot);
    });
    sendToParent({ t: 'probe', id, gc }).catch((error: unknown) => {
      clearTimeout(timer);
      waiting.delete(id);
      reject(error instanceof Error ? error : new Error(String(error)));
    });
  });
}

/** The JSON argument the orchestrator passes as argv[2]. */
export function childArgument(): unknown {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error('Missing JSON argument');
  const parsed: unknown = JSON.parse(raw);
  return parsed;
}

/** Runs `main` and reports its metrics; exits the process afterwards in every case. */
export function runLoadChild(main: () => Promise<Metrics>): void {
  process.on('disconnect', () => process.exit(0));
  // A normal exit (not death by signal) lets --cpu-prof write its profile.
  process.on('SIGTERM', () => process.exit(0));
  main().then(
    async (metrics) => {
      await sendToParent({ t: 'result', metrics });
      process.exit(0);
    },
    async (error: unknown) => {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      await sendToParent({ t: 'error', message }).catch(() => undefined);
      process.exit(1);
    },
  );
}
