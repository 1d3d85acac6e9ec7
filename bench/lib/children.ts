/**
 * Child processes of the orchestrator: spawned with tsx, tracked by PID, always killed at
 * the end (also on errors, Ctrl-C and normal exit).
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Root of the repository (children run from there so `--import tsx` resolves). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const live = new Set<ChildProcess>();

/**
 * Spawns `node [flags] --import tsx <script> <json argument>` with an IPC channel; with
 * `fileLimit`, through `sh -c 'ulimit -n <limit>; exec ...'` (which raises the limit only as
 * far as the hard limit, or beyond when run as root; the child checks what it got).
 */
export function spawnChild(
  script: string,
  argument: unknown,
  nodeFlags: string[] = [],
  fileLimit?: number,
): ChildProcess {
  const args = [...nodeFlags, '--import', 'tsx', script, JSON.stringify(argument)];
  const options = { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] as const };
  const child =
    fileLimit === undefined
      ? spawn(process.execPath, args, { ...options, stdio: [...options.stdio] })
      : spawn(
          'sh',
          ['-c', `ulimit -n ${fileLimit} 2>/dev/null; exec "$0" "$@"`, process.execPath, ...args],
          { ...options, stdio: [...options.stdio] },
        );
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.on('error', (error) => {
    // Spawn failures and sends on a closed channel; the trial notices through exit/timeouts.
    console.error(`child ${String(child.pid)} (${script}): ${error.message}`);
  });
  return child;
}

/** Tracks a process spawned elsewhere (nats-server), so it is killed with the children. */
export function trackProcess(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.on('error', (error) => {
    console.error(`process ${String(child.pid)}: ${error.message}`);
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(exited(child)), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Asks a child to stop (SIGTERM), then kills it (SIGKILL) if it is still there after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 1500): Promise<void> {
  if (exited(child)) return;
  child.kill('SIGTERM');
  if (await waitExit(child, graceMs)) return;
  child.kill('SIGKILL');
  await waitExit(child, 2000);
}

/** Kills every child still alive, synchronously (for exit handlers). */
export function killAllChildren(): void {
  for (const child of live) {
    if (!exited(child)) child.kill('SIGKILL');
  }
  live.clear();
}

/** PIDs of children still tracked (for diagnostics). */
export function liveChildPids(): number[] {
  return [...live].flatMap((child) => (child.pid === undefined ? [] : [child.pid]));
}

/** Makes sure children die with the orchestrator, whatever ends it. */
export function installExitHandlers(): void {
  process.on('exit', killAllChildren);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      killAllChildren();
      process.exit(130);
    });
  }
}

/**
 * Resolves with the first message from `child` accepted by `pick`. Rejects when the child
 * reports an error, exits first, or nothing comes within `timeoutMs`.
 */
export function waitForMessage<T>(
  child: ChildProcess,
  pick: (message: unknown) => T | undefined,
  timeoutMs: number,
  what: string,
  onOther?: (message: unknown) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (message: unknown): void => {
      const picked = pick(message);
      if (picked !== undefined) {
        cleanup();
        resolve(picked);
        return;
      }
      if (typeof message === 'object' && message !== null && 't' in message) {
        const record = message as { t: unknown; message?: unknown };
        if (record.t === 'error') {
          cleanup();
          reject(new Error(`${what}: child failed: ${String(record.message)}`));
          return;
        }
      }
      onOther?.(message);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      cleanup();
      reject(new Error(`${what}: child exited (code ${String(code)}, signal ${String(signal)})`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what}: nothing within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}
