/**
 * The `wsmesh` command, run as child processes (`node --import tsx src/cli/main.ts`, no build
 * needed): `start` (from flags, environment and a config file, with a functions module, the
 * dashboard and metrics), `call`, `publish`, `inspect`, `--help`, exit codes for bad flags
 * and unreachable nodes, graceful shutdown on SIGTERM (clients told with 1001, clone links
 * closed), and `--workers` (meshed worker processes, stopped with their parent).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli/run.js';
import { Client } from '../src/client/client.js';
import { startClone, type Clone } from './clone-helpers.js';
import { getFreePort, waitFor, within } from './helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const TOKEN = 'cli-dashboard-token';

/** Environment of every CLI run: no WSMESH_* from the developer's shell. */
function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith('WSMESH_')) env[key] = value;
  return { ...env, ...extra };
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion (killed by PID after `timeoutMs`). */
function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      cwd: ROOT,
      env: cliEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `wsmesh ${args.join(' ')} did not end within ${timeoutMs} ms\n${stdout}\n${stderr}`,
        ),
      );
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running `wsmesh start`. */
interface CliNode {
  child: ChildProcess;
  /** Everything printed so far. */
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** Sends `signal` (by PID) and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const started: CliNode[] = [];

function startCli(args: string[], env: Record<string, string> = {}): CliNode {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'start', ...args], {
    cwd: ROOT,
    env: cliEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const node: CliNode = {
    child,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return within(exited, 15_000, 'wsmesh start exit');
    },
  };
  started.push(node);
  return node;
}

/** Waits until the output matches `pattern`; returns the match. */
/** Polls `condition` until it returns a value (not undefined). */
async function until<T>(
  condition: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  label: string,
  intervalMs = 20,
): Promise<T> {
  const value = await waitFor(condition, timeoutMs, label, intervalMs);
  if (value === undefined) throw new Error(`no value: ${label}`);
  return value;
}

async function waitOutput(
  node: CliNode,
  pattern: RegExp,
  timeoutMs = 45_000,
): Promise<RegExpMatchArray> {
  return until(
    () => {
      if (node.child.exitCode !== null)
        throw new Error(`wsmesh start exited early:\n${node.output()}`);
      return node.output().match(pattern) ?? undefined;
    },
    timeoutMs,
    `output ${pattern}`,
    20,
  );
}

/** Runs the command line through `main` in this process (for cases that never listen). */
async function runInProcess(args: string[], env: Record<string, string> = {}): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const code = await main(
    args,
    {
      out: (line) => {
        stdout += `${line}\n`;
      },
      err: (line) => {
        stderr += `${line}\n`;
      },
      env,
    },
    MAIN,
  );
  return { code, stdout, stderr };
}

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsmesh-cli-'));
  writeFileSync(
    join(dir, 'math.mjs'),
    [
      'export function add(a, b) { return a + b; }',
      "export function fail() { throw new Error('no'); }",
      'export async function* count(n) { for (let i = 0; i < n; i++) yield i; }',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'node.json'),
    JSON.stringify({
      id: 'cli-node',
      namespace: 'math',
      functions: 'math.mjs',
      dashboard: true,
      metrics: true,
    }),
  );
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ prot: 1 }));
});

after(async () => {
  for (const node of started) {
    if (node.child.exitCode === null && node.child.signalCode === null) {
      node.child.kill('SIGKILL');
      await node.exited;
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

// Independent tests run side by side (each spawns its own processes); the started node's tests
// run in order (the last one stops it).
describe('wsmesh CLI', { concurrency: true }, () => {
  test('--help for every command; no command is a usage error', async () => {
    // Two as processes (the bin itself); the others through the same entry, in this process.
    const [top, start] = await Promise.all([runCli(['--help']), runCli(['start', '--help'])]);
    assert.equal(top.code, 0);
    assert.match(top.stdout, /Usage: wsmesh <command>/);
    assert.equal(start.code, 0);
    assert.match(start.stdout, /Usage: wsmesh start/);
    assert.match(start.stdout, /--workers <n>/);
    for (const [args, usage] of [
      [['call', '--help'], /Usage: wsmesh call/],
      [['publish', '-h'], /Usage: wsmesh publish/],
      [['inspect', '--help'], /Usage: wsmesh inspect/],
    ] as const) {
      const result = await runInProcess([...args]);
      assert.equal(result.code, 0);
      assert.match(result.stdout, usage);
    }
    assert.equal((await runInProcess([])).code, 2);
  });

  test('bad flags, arguments and config files exit with 2 and say why', async () => {
    const cases: [string[], RegExp][] = [
      [['start', '--bogus'], /Unknown option '--bogus'/],
      [['start', '--port', 'abc'], /port must be an integer/],
      [['call', 'ws://127.0.0.1:1', 'math', 'add', 'not-json'], /argument 1 is not JSON/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['start', '--clone', 'nope'], /is not id=ws:\/\/host:port/],
      [['start', '--log-level', 'loud'], /log level must be/],
      [['start', '--workers', '2', '--url', 'ws://x:1'], /--url cannot be combined with --workers/],
      [['start', '--config', join(dir, 'bad.json')], /unknown key prot/],
      [['start', '--config', join(dir, 'missing.json')], /cannot read --config/],
      [
        ['start', '--functions', join(dir, 'missing.mjs'), '--port', '0'],
        /cannot load --functions/,
      ],
      [['call', 'ws://127.0.0.1:1'], /call needs <url> <namespace> <function>/],
      [['publish', 'ws://127.0.0.1:1', 'g'], /publish needs <url> <group> <json>/],
      [['inspect', 'ftp://x'], /unsupported scheme/],
    ];
    // The first four as processes (exit code and stderr of the real command), the rest in
    // this process through the same entry (main), which is what the process runs.
    const asProcesses = await Promise.all(cases.slice(0, 4).map(([args]) => runCli(args)));
    const inProcess: Result[] = [];
    for (const [args] of cases.slice(4)) inProcess.push(await runInProcess(args));
    [...asProcesses, ...inProcess].forEach((result, index) => {
      const [args, pattern] = cases[index] ?? [[], /$/];
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, pattern, args.join(' '));
      assert.match(result.stderr, /See: wsmesh/);
    });
  });

  test('unreachable nodes exit with 3', async () => {
    const port = await getFreePort();
    const url = `ws://127.0.0.1:${port}`;
    const [call, publish, inspect] = await Promise.all([
      runCli(['call', url, 'math', 'add', '1', '2']),
      runCli(['publish', url, 'lobby', '1']),
      runCli(['inspect', url]),
    ]);
    for (const result of [call, publish, inspect]) {
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stderr, /cannot reach/);
    }
  });

  describe('a started node', { concurrency: false }, () => {
    let node: CliNode;
    let url: string;
    let clone: Clone | undefined;
    let client: Client | undefined;
    const received: unknown[] = [];
    let closeCode: number | undefined;

    before(async () => {
      node = startCli(['--config', join(dir, 'node.json'), '--port', '0'], {
        WSMESH_DASHBOARD_TOKEN: TOKEN,
      });
      const match = await waitOutput(node, /listening on (ws:\/\/\S+)/);
      url = match[1] ?? '';
      clone = await startClone('cli-peer');
      clone.server.addClone({ id: 'cli-node', url });
      await waitFor(
        () => clone?.server.clones.linkedIds().includes('cli-node'),
        10_000,
        'clone linked',
      );
      client = new Client({ url, reconnect: false, silent: true });
      client.addRoute({ route: 'chat', handler: ({ data }) => void received.push(data) });
      client.on('close', ({ code }) => {
        closeCode = code;
      });
      await within(client.start(), 5000, 'client start');
      await client.subscribe({ id: 'lobby' });
    });

    after(async () => {
      await client?.stop();
      await clone?.server.stop();
      await node?.stop('SIGKILL');
    });

    test('prints where it listens, its dashboard and metrics, and its functions', async () => {
      const output = node.output();
      assert.match(output, /wsmesh node cli-node listening on ws:\/\/127\.0\.0\.1:\d+/);
      assert.match(output, /dashboard {2}http:\/\/127\.0\.0\.1:\d+\/_wsmesh/);
      assert.match(output, /functions {2}add, count, fail in namespace "math"/);
      assert.ok(!output.includes(TOKEN), 'a given token is never printed');
      const metrics = await fetch(`${url.replace('ws:', 'http:')}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(await metrics.text(), /wsmesh_clones_linked\{node="cli-node"\} 1/);
    });

    test('call prints results as JSON, generators as lines, and fails with 1', async () => {
      const [add, fail] = await Promise.all([
        runCli(['call', url, 'math', 'add', '2', '3']),
        runCli(['call', url, 'math', 'fail']),
      ]);
      const count = await runInProcess(['call', url, 'math', 'count', '3']);
      const missing = await runInProcess(['call', url, 'math', 'nope']);
      assert.equal(add.code, 0, add.stderr);
      assert.equal(add.stdout.trim(), '5');
      assert.equal(count.code, 0, count.stderr);
      assert.deepEqual(count.stdout.trim().split('\n'), ['0', '1', '2']);
      assert.equal(fail.code, 1);
      assert.match(fail.stderr, /remote Error on cli-node: no/);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /no function "nope" in namespace "math".*add, count, fail/);
    });

    test('publish reaches the group’s subscribers', async () => {
      const result = await runCli(['publish', url, 'lobby', '{"text":"hi"}', '--route', 'chat']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /published to "lobby" through cli-node \(1 local deliveries\)/);
      await waitFor(() => received.length === 1, 5000, 'client got the message');
      assert.deepEqual(received, [{ text: 'hi' }]);
    });

    test('inspect prints the cluster; a wrong token exits with 4', async () => {
      const [ok, refused] = await Promise.all([
        runCli(['inspect', url], { WSMESH_DASHBOARD_TOKEN: TOKEN }),
        runCli(['inspect', url], { WSMESH_DASHBOARD_TOKEN: 'wrong-token' }),
      ]);
      const json = await runInProcess(['inspect', url, '--json'], {
        WSMESH_DASHBOARD_TOKEN: TOKEN,
      });
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /^node cli-node {2}ws:\/\//m);
      assert.match(ok.stdout, /clones: 1 known, 1 linked/);
      assert.match(ok.stdout, /cli-peer {2}linked/);
      assert.match(ok.stdout, /cli-node -- cli-peer {2}\(clone link/);
      assert.match(ok.stdout, /lobby {2}1 here/);
      assert.match(ok.stdout, /math\.add {2}function {2}local/);
      assert.match(ok.stdout, /math\.count {2}generator {2}local/);
      assert.equal(json.code, 0);
      const state = JSON.parse(json.stdout) as { node: { id: string } };
      assert.equal(state.node.id, 'cli-node');
      assert.equal(refused.code, 4);
      assert.match(refused.stderr, /refused the token/);
    });

    test('SIGTERM stops gracefully: clients get 1001, clone links close, exit 0', async () => {
      const code = await node.stop('SIGTERM');
      assert.equal(code, 0, node.output());
      assert.match(node.output(), /cli-node: SIGTERM, stopping/);
      assert.match(node.output(), /wsmesh node cli-node stopped/);
      await waitFor(() => closeCode !== undefined, 5000, 'client closed');
      assert.equal(closeCode, 1001);
      await waitFor(
        () => clone?.server.clones.linkedIds().includes('cli-node') === false,
        5000,
        'clone link closed',
      );
    });
  });

  test('--workers 2: two meshed processes, stopped with their parent', async () => {
    const node = startCli(
      [
        '--workers',
        '2',
        '--port',
        '0',
        '--id',
        'wk',
        '--dashboard',
        '--functions',
        join(dir, 'math.mjs'),
        '--namespace',
        'math',
      ],
      { WSMESH_DASHBOARD_TOKEN: TOKEN },
    );
    const ready = await waitOutput(node, /2 workers ready: wk-1 (ws:\/\/\S+), wk-2 (ws:\/\/\S+)/);
    const first = ready[1] ?? '';
    const second = ready[2] ?? '';
    const inspected = await until(
      async () => {
        const result = await runInProcess(['inspect', first], { WSMESH_DASHBOARD_TOKEN: TOKEN });
        return result.stdout.includes('clones: 1 known, 1 linked') ? result.stdout : undefined;
      },
      15_000,
      'workers meshed',
      100,
    );
    assert.match(inspected, /wk-2 {2}linked/);
    assert.match(inspected, /math\.add {2}function {2}local; via wk-2 \(wk-2\)/);
    const workerPid = Number(/\(pid (\d+),/.exec(inspected)?.[1]);
    assert.ok(workerPid > 0 && workerPid !== node.child.pid);
    const sum = await runInProcess(['call', second, 'math', 'add', '20', '22']);
    assert.equal(sum.stdout.trim(), '42');
    assert.equal(await node.stop('SIGTERM'), 0, node.output());
    assert.match(node.output(), /wsmesh node wk-1 stopped/);
    assert.match(node.output(), /wsmesh node wk-2 stopped/);
    assert.throws(() => process.kill(workerPid, 0), /ESRCH/);
  });
});
