/**
 * Waiting for the signal to stop: SIGINT (Ctrl+C), SIGTERM, or the parent going away when the
 * process has an IPC channel to it (a worker, or a `wsmesh start` that a program spawned with
 * `stdio: [..., 'ipc']`, as `npm start` does: the node does not outlive the program). A second
 * signal while stopping ends the process at once with exit code 1.
 * @module
 */

/** Resolves with the reason once the process is asked to stop. */
export function stopRequested(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (reason: string): void => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      process.off('disconnect', onDisconnect);
      // From now on, one more signal means "stop now".
      const force = (): void => process.exit(1);
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
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
