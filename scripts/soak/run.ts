/**
 * Soak test: a 4-clone mesh (one process per clone) and a load process with thousands of
 * clients publishing to groups and calling RPC for a while. Reports throughput, call latency
 * (p50/p99), RSS of every clone over time (JSON and an SVG plot) and any loss or duplicate.
 *
 *   npx tsx scripts/soak/run.ts --seconds 300 --clients 2000 --period 5000
 *   npx tsx scripts/soak/run.ts --history 1000   # with group history: recover events, recovered
 *
 * `npm test` runs a 20-second version (test/soak.test.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** Soak settings. */
export interface SoakOptions {
  clones: number;
  clients: number;
  groups: number;
  /** ms between two publishes (and two calls) of one client. */
  period: number;
  seconds: number;
  /** Where to write JSON and SVG; undefined = nowhere. */
  outDir?: string;
  /** Group history size on every clone (docs/recovery.md); 0 or undefined = off. */
  history?: number;
}

/** What a soak run measured. */
export interface SoakResult {
  options: SoakOptions;
  elapsed: number;
  published: number;
  delivered: number;
  expected: number;
  gaps: number;
  duplicates: number;
  /** Clients' `recover` events: resumes that lost nothing, and resumes with a gap. */
  recovered: number;
  unrecovered: number;
  /** Summed over clones (`stats().history`): messages recovered and healed, kept at the end. */
  history: { recovered: number; healed: number; kept: number };
  calls: number;
  callErrors: number;
  publishErrors: number;
  p50: number;
  p99: number;
  /** Per clone: [seconds since start, RSS MiB] samples. */
  rss: Record<string, [number, number][]>;
}

/** What the soak reads of a clone's `stats()`. */
interface SoakStats {
  history?: SoakResult['history'];
}

const here = fileURLToPath(new URL('.', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function waitMessage<T>(child: ChildProcess, type: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ${type} from child within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onMessage = (message: { type?: string }): void => {
      if (message.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message as T);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${String(code)}) before ${type}`));
    });
  });
}

function plot(rss: Record<string, [number, number][]>): string {
  const width = 640;
  const height = 240;
  const series = Object.entries(rss);
  const maxX = Math.max(1, ...series.flatMap(([, points]) => points.map(([x]) => x)));
  const maxY = Math.max(1, ...series.flatMap(([, points]) => points.map(([, y]) => y)));
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
  const lines = series.map(([id, points], index) => {
    const path = points
      .map(
        ([x, y], i) =>
          `${i === 0 ? 'M' : 'L'}${(40 + (x / maxX) * (width - 60)).toFixed(1)},${(height - 30 - (y / maxY) * (height - 50)).toFixed(1)}`,
      )
      .join(' ');
    const color = colors[index % colors.length] ?? '#000';
    return `<path d="${path}" fill="none" stroke="${color}" stroke-width="1.5"/><text x="${width - 90}" y="${20 + index * 14}" fill="${color}" font-size="11">${id}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
<text x="40" y="14" font-size="12">RSS per clone (MiB, max ${maxY.toFixed(0)}) over ${maxX.toFixed(0)} s</text>
<line x1="40" y1="${height - 30}" x2="${width - 20}" y2="${height - 30}" stroke="#999"/>
<line x1="40" y1="20" x2="40" y2="${height - 30}" stroke="#999"/>
${lines.join('\n')}
</svg>`;
}

/** Runs one soak and stops every process it started. */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const children: ChildProcess[] = [];
  const rss: Record<string, [number, number][]> = {};
  const histories = new Map<string, SoakResult['history']>();
  let sampler: ReturnType<typeof setInterval> | undefined;
  try {
    const ports = await Promise.all(Array.from({ length: options.clones }, () => freePort()));
    const urls = ports.map((port) => `ws://127.0.0.1:${port}`);
    for (let i = 0; i < options.clones; i++) {
      const peers = i === 0 ? '' : `soak-${i - 1}=${urls[i - 1] ?? ''}`;
      const child = fork(`${here}node.ts`, [], {
        execArgv: ['--import', 'tsx'],
        env: {
          ...process.env,
          SOAK_ID: `soak-${i}`,
          SOAK_PORT: String(ports[i]),
          SOAK_PEERS: peers,
          SOAK_HISTORY: String(options.history ?? 0),
        },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      children.push(child);
      await waitMessage(child, 'ready', 30_000);
    }
    const t0 = Date.now();
    sampler = setInterval(() => {
      for (const child of children.slice(0, options.clones)) child.send({ type: 'stats' });
    }, 1000);
    for (const child of children) {
      type StatsMessage = { type?: string; id?: string; rss?: number; stats?: SoakStats };
      child.on('message', (message: StatsMessage) => {
        if (message.type !== 'stats' || message.id === undefined || message.rss === undefined)
          return;
        (rss[message.id] ??= []).push([(Date.now() - t0) / 1000, message.rss / 2 ** 20]);
        const history = message.stats?.history;
        if (history !== undefined) histories.set(message.id, history);
      });
    }
    const load = fork(`${here}load.ts`, [], {
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        SOAK_URLS: urls.join(','),
        SOAK_CLIENTS: String(options.clients),
        SOAK_GROUPS: String(options.groups),
        SOAK_PERIOD: String(options.period),
        SOAK_SECONDS: String(options.seconds),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(load);
    const result = await waitMessage<Omit<SoakResult, 'options' | 'rss' | 'history'>>(
      load,
      'result',
      (options.seconds + 120) * 1000,
    );
    const history = { recovered: 0, healed: 0, kept: 0 };
    for (const node of histories.values()) {
      history.recovered += node.recovered;
      history.healed += node.healed;
      history.kept += node.kept;
    }
    const full: SoakResult = { ...result, options, rss, history };
    if (options.outDir !== undefined) {
      mkdirSync(options.outDir, { recursive: true });
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      writeFileSync(`${options.outDir}/soak-${stamp}.json`, JSON.stringify(full, null, 2));
      writeFileSync(`${options.outDir}/soak-${stamp}.svg`, plot(rss));
    }
    return full;
  } finally {
    if (sampler !== undefined) clearInterval(sampler);
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    }
  }
}

/** One-line summary. */
export function describe(result: SoakResult): string {
  const r = result;
  const peak = Math.max(0, ...Object.values(r.rss).flatMap((points) => points.map(([, y]) => y)));
  return [
    `soak: ${r.options.clones} clones, ${r.options.clients} clients, ${r.elapsed.toFixed(1)} s`,
    `publishes ${r.published} (${(r.published / r.elapsed).toFixed(0)}/s), deliveries ${r.delivered}/${r.expected} (${(r.delivered / r.elapsed).toFixed(0)}/s)`,
    `gaps ${r.gaps}, duplicates ${r.duplicates}, publish errors ${r.publishErrors}`,
    `recover events ${r.recovered} complete, ${r.unrecovered} with a gap; history: ${r.history.recovered} messages recovered, ${r.history.healed} healed, ${r.history.kept} kept`,
    `calls ${r.calls} (${(r.calls / r.elapsed).toFixed(0)}/s), errors ${r.callErrors}, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms`,
    `peak RSS per clone ${peak.toFixed(0)} MiB`,
  ].join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '60' },
      minutes: { type: 'string' },
      clients: { type: 'string', default: '2000' },
      groups: { type: 'string', default: '20' },
      period: { type: 'string', default: '5000' },
      clones: { type: 'string', default: '4' },
      history: { type: 'string', default: '0' },
    },
  });
  const seconds =
    values.minutes !== undefined ? Number(values.minutes) * 60 : Number(values.seconds);
  const result = await runSoak({
    clones: Number(values.clones),
    clients: Number(values.clients),
    groups: Number(values.groups),
    period: Number(values.period),
    seconds,
    history: Number(values.history),
    outDir: 'bench/results',
  });
  console.log(describe(result));
}
