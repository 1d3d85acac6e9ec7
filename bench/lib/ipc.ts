/**
 * Messages exchanged over the IPC channel between the orchestrator and its children, with
 * the guards that check them on arrival.
 * @module
 */

/** Resource usage of one process at one instant. */
export interface Snapshot {
  /** `process.cpuUsage().user`, microseconds. */
  cpuUser: number;
  /** `process.cpuUsage().system`, microseconds. */
  cpuSystem: number;
  /** Resident set size, bytes. */
  rss: number;
  /** V8 heap in use, bytes. */
  heapUsed: number;
  /** Memory of C++ objects bound to JS objects, including Buffers, bytes. */
  external: number;
}

/** Figures a load generator reports for one trial, by metric key. */
export type Metrics = Record<string, number>;

/** A child is up (servers report their port). */
export interface ReadyMessage {
  t: 'ready';
  port: number;
  /** More ports of the same server (the connections curve: past one port's ephemeral range). */
  extraPorts?: number[];
}

/** A loader asks for a server snapshot / the orchestrator asks the server for one. */
export interface ProbeRequest {
  t: 'probe';
  id: number;
  /** Run a full garbage collection first (for memory figures). */
  gc: boolean;
}

/** Answer to a {@link ProbeRequest}. */
export interface ProbeReply {
  t: 'probed';
  id: number;
  snapshot: Snapshot;
}

/** A loader's final figures. */
export interface ResultMessage {
  t: 'result';
  metrics: Metrics;
}

/**
 * The orchestrator tells every server of a cluster that all of them started; a server
 * answers {@link SettledMessage} once the cluster is formed (wsmesh: every clone linked to
 * every other), so the load starts on a finished cluster.
 */
export interface SettleRequest {
  t: 'settle';
}

/** Answer to a {@link SettleRequest}. */
export interface SettledMessage {
  t: 'settled';
}

/** A child failed. */
export interface ErrorMessage {
  t: 'error';
  message: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** Checks a snapshot received over IPC. */
export function isSnapshot(value: unknown): value is Snapshot {
  return (
    isRecord(value) &&
    isFiniteNumber(value.cpuUser) &&
    isFiniteNumber(value.cpuSystem) &&
    isFiniteNumber(value.rss) &&
    isFiniteNumber(value.heapUsed) &&
    isFiniteNumber(value.external)
  );
}

/** Checks a ready message. */
export function isReady(value: unknown): value is ReadyMessage {
  return isRecord(value) && value.t === 'ready' && isFiniteNumber(value.port);
}

/** Checks a settle request. */
export function isSettleRequest(value: unknown): value is SettleRequest {
  return isRecord(value) && value.t === 'settle';
}

/** Checks a settled message. */
export function isSettled(value: unknown): value is SettledMessage {
  return isRecord(value) && value.t === 'settled';
}

/** Checks a probe request. */
export function isProbeRequest(value: unknown): value is ProbeRequest {
  return (
    isRecord(value) &&
    value.t === 'probe' &&
    isFiniteNumber(value.id) &&
    typeof value.gc === 'boolean'
  );
}

/** Checks a probe reply. */
export function isProbeReply(value: unknown): value is ProbeReply {
  return (
    isRecord(value) &&
    value.t === 'probed' &&
    isFiniteNumber(value.id) &&
    isSnapshot(value.snapshot)
  );
}

/** Checks a result message; metrics may be NaN only as null (JSON), which is rejected. */
export function isResult(value: unknown): value is ResultMessage {
  if (!isRecord(value) || value.t !== 'result' || !isRecord(value.metrics)) return false;
  return Object.values(value.metrics).every(isFiniteNumber);
}

/** Checks an error message. */
export function isErrorMessage(value: unknown): value is ErrorMessage {
  return isRecord(value) && value.t === 'error' && typeof value.message === 'string';
}

/** Sends `message` to the parent process; resolves once handed to the channel. */
export function sendToParent(message: object): Promise<void> {
  return new Promise((resolve, reject) => {
    if (process.send === undefined) {
      reject(new Error('This process has no IPC channel: run it through bench/run.ts'));
      return;
    }
    process.send(message, undefined, {}, (error: Error | null) => {
      if (error === null) resolve();
      else reject(error);
    });
  });
}
