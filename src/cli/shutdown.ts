/**
 * Waiting for the signal to stop: SIGINT (Ctrl+C), SIGTERM, or the parent going away when the
 * process has an IPC channel to it (a worker, or a `wsmesh start` that a program spawned with
 * `stdio: [..., 'ipc']`, as `npm start` does: the node does not outlive the program). The same
 * signal again while stopping ends the process at once with exit code 1. Only the same one:
 * Ctrl+C in a terminal reaches `--workers` children directly and their parent then forwards
 * SIGTERM, which must not cut their graceful stop short.
 * @module
 */

/** Resolves with the reason once the process is asked to stop. */
export function stopRequested(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (reason: string): void => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      process.off('disconnect', onDisconnect);
      // From now on, the same signal once more means "stop now"; the other one is ignored.
      const force = (): void => process.exit(1);
      const ignore = (): void => undefined;
      process.once('SIGINT', reason === 'SIGINT' ? force : ignore);
      process.once('SIGTERM', reason === 'SIGTERM' ? force : ignore);
      resolve(reason);
    };
    const onInt = (): void => stop('SIGINT');
    const onTerm = (): void => stop('SIGTERM');
    const onDisconnect = (): void => stop('parent exited');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    if (process.channel !== undefined) process.once('disconnect', onDisconnect);
  });
}
