/**
 * Boilerplate of a server child process: start the server under test, report its port,
 * answer resource probes, and exit when the orchestrator goes away or says so.
 * @module
 */
import { isProbeRequest, sendToParent, type ProbeReply } from './ipc.js';
import { takeSnapshot } from './snapshot.js';

/** A started server under test. */
export interface StartedServer {
  /** Port it listens on (127.0.0.1). */
  port: number;
  /** Stops it. */
  close(): Promise<void>;
}

async function shutdown(server: StartedServer | undefined, code: number): Promise<never> {
  const timer = setTimeout(() => process.exit(code), 1000);
  timer.unref();
  try {
    await server?.close();
  } catch {
    // Exiting anyway.
  }
  process.exit(code);
}

/** Runs `start` and serves probes until the parent disconnects or sends SIGTERM. */
export function runServerChild(start: () => Promise<StartedServer>): void {
  let server: StartedServer | undefined;
  process.on('disconnect', () => void shutdown(server, 0));
  process.on('SIGTERM', () => void shutdown(server, 0));
  process.on('message', (message: unknown) => {
    if (!isProbeRequest(message)) return;
    const reply: ProbeReply = { t: 'probed', id: message.id, snapshot: takeSnapshot(message.gc) };
    void sendToParent(reply).catch(() => undefined);
  });
  start()
    .then(async (started) => {
      server = started;
      await sendToParent({ t: 'ready', port: started.port });
    })
    .catch(async (error: unknown) => {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      console.error(message);
      await sendToParent({ t: 'error', message }).catch(() => undefined);
      await shutdown(server, 1);
    });
}
