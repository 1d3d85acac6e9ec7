/**
 * The `wsmesh` command, run as child processes (`node --import tsx src/cli/main.ts`, no build
 * needed): `start` (from flags, environment and a config file, with a functions module, the
 * dashboard and metrics), `call`, `publish`, `inspect`, `--help`, exit codes for bad flags
 * and unreachable nodes, graceful shutdown on SIGTERM (clients told with 1001, clone links
 * closed), `--workers` (meshed worker processes, stopped with their parent), and `--static`
 * (a folder, the browser client and /wsmesh.json on the node's http server; paths never
 * leave the folder).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hasModuleSyntax, packageType } from '../src/cli/load-module.js';
import { main } from '../src/cli/run.js';
import {
  BUNDLE_MISSING,
  createStaticSite,
  isBundleBuilt,
  meshUrls,
  pathSegments,
} from '../src/cli/static-files.js';
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

/** What a raw HTTP request got (the path is sent exactly as given, not normalized). */
interface HttpResult {
  status: number;
  type: string | undefined;
  length: string | undefined;
  location: string | undefined;
  body: string;
}

function rawGet(port: number, path: string, method = 'GET'): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          type: response.headers['content-type'],
          length: response.headers['content-length'],
          location: response.headers.location,
          body,
        }),
      );
    });
    req.once('error', reject);
    req.end();
  });
}

/** A folder to serve, with a secret next to it (outside) and tricky entries inside. */
function makeSite(base: string): string {
  const site = join(base, 'site');
  mkdirSync(join(site, 'sub'), { recursive: true });
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>static test</title>');
  writeFileSync(join(site, 'app.js'), 'export const answer = 42;\n');
  writeFileSync(join(site, 'style.css'), 'body { color: red; }\n');
  writeFileSync(join(site, 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(site, 'sub', 'index.html'), 'sub page');
  writeFileSync(join(site, '.env'), 'HIDDEN=1');
  writeFileSync(join(base, 'secret.txt'), 'TOP-SECRET');
  symlinkSync(join(base, 'secret.txt'), join(site, 'link.txt'));
  return site;
}

/** Every way out of the folder, each refused without the secret. */
const TRAVERSALS: [string, number][] = [
  ['/../secret.txt', 403],
  ['/sub/../../secret.txt', 403],
  ['/%2e%2e/secret.txt', 403],
  ['/%2E%2E%2fsecret.txt', 403],
  ['/..%2fsecret.txt', 403],
  ['/sub/..%2f..%2fsecret.txt', 403],
  ['/..%5csecret.txt', 400],
  ['/secret.txt%00.html', 400],
  ['/%zz', 400],
  ['/.env', 404],
  ['/link.txt', 404],
];

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
  writeFileSync(join(dir, 'bad-static.json'), JSON.stringify({ static: 'no-such-folder' }));
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
      [['start', '--bogus'], /^wsmesh: unknown option --bogus for "wsmesh start"\n/],
      [['start', '--port', 'abc'], /port must be an integer/],
      [['call', 'ws://127.0.0.1:1', 'math', 'add', 'not-json'], /argument 1 is not JSON/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['start', '--clone', 'nope'], /is not id=ws:\/\/host:port/],
      [
        ['start', '--prot', '3000'],
        /unknown option --prot for "wsmesh start" \(did you mean --port\?\)/,
      ],
      [['start', '--port'], /^wsmesh: --port needs a value: --port <value>\n/],
      [
        ['start', '--dashboard=yes'],
        /^wsmesh: --dashboard takes no value: write --dashboard alone/,
      ],
      [['call', '-x'], /unknown option -x for "wsmesh call"\n/],
      [['start', '--secret', 's3cret'], /secrets are read from WSMESH_SECRET/],
      [['inspect', '--token'], /--token needs a value/],
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
      [['start', '--static', join(dir, 'nope')], /--static .*nope: no such directory/],
      [['start', '--static', join(dir, 'math.mjs')], /--static .*math\.mjs: not a directory/],
      [['start', '--config', join(dir, 'bad-static.json')], /"static" no-such-folder: no such/],
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
      assert.doesNotMatch(result.stderr, /To specify a positional argument/, "not Node's raw text");
    });
  });

  test('--functions: ES module syntax is told apart from CommonJS, package types are found', () => {
    assert.equal(hasModuleSyntax('export function add(a, b) { return a + b; }'), true);
    assert.equal(hasModuleSyntax("import { x } from 'y';\nexport default x;"), true);
    assert.equal(hasModuleSyntax('console.log(import.meta.url);'), true);
    assert.equal(hasModuleSyntax('await Promise.resolve(1);'), true);
    assert.equal(hasModuleSyntax('exports.add = (a, b) => a + b;\nreturn;'), false);
    assert.equal(hasModuleSyntax('const x = ;'), false, 'a plain syntax error is not ESM');
    const project = join(dir, 'typed-project');
    mkdirSync(join(project, 'lib'), { recursive: true });
    writeFileSync(join(project, 'package.json'), JSON.stringify({ type: 'commonjs' }));
    assert.equal(packageType(join(project, 'lib', 'math.js')), 'commonjs');
    assert.equal(packageType(join(ROOT, 'src', 'index.ts')), 'module');
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
      // The cluster secret is not a dashboard token, and inspect does not offer it as one.
      const missing = await runInProcess(['inspect', url], { WSMESH_SECRET: TOKEN });
      assert.equal(missing.code, 4);
      assert.match(missing.stderr, /the dashboard token is missing: set WSMESH_DASHBOARD_TOKEN/);
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

  test('the dashboard gets a token of its own, printed once, never the secret, in no url', async () => {
    const secret = 'cluster-secret-value';
    const node = startCli(['--port', '0', '--id', 'tok', '--dashboard', '--metrics'], {
      WSMESH_SECRET: secret,
    });
    await waitOutput(node, /Ctrl\+C stops the node/);
    const output = node.output();
    const page = /dashboard {2}(\S+)/.exec(output)?.[1] ?? '';
    const token = /token {6}(\S+) {2}\(dashboard login, shown once/.exec(output)?.[1] ?? '';
    assert.match(page, /^http:\/\/127\.0\.0\.1:\d+\/_wsmesh$/, 'the url carries no credential');
    assert.ok(token.length >= 32, `a generated token: ${output}`);
    assert.notEqual(token, secret);
    assert.ok(!output.includes(secret), 'the secret is never printed');
    assert.equal(output.split(token).length - 1, 1, 'the token is printed once');
    for (const line of output.split('\n'))
      assert.ok(!/https?:\/\/\S*[?&]token=/.test(line), `no token in a url: ${line}`);
    const api = `${page}/api/state`;
    const withToken = await fetch(api, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(withToken.status, 200);
    const withSecret = await fetch(api, { headers: { Authorization: `Bearer ${secret}` } });
    assert.equal(withSecret.status, 401, 'the secret opens nothing over HTTP');
    const inspected = await runInProcess(['inspect', page.replace(/\/_wsmesh$/, '')], {
      WSMESH_DASHBOARD_TOKEN: token,
    });
    assert.equal(inspected.code, 0, inspected.stderr);
    assert.equal(await node.stop('SIGTERM'), 0, node.output());
  });

  test('--workers 2: two meshed processes, stopped with their parent; a killed one is reported', async () => {
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
    // Worker 2 killed from outside: the parent says by which signal, and keeps worker 1.
    const secondState = await runInProcess(['inspect', second, '--json'], {
      WSMESH_DASHBOARD_TOKEN: TOKEN,
    });
    const secondPid = (JSON.parse(secondState.stdout) as { node: { pid: number } }).node.pid;
    assert.ok(secondPid > 0 && secondPid !== workerPid);
    process.kill(secondPid, 'SIGKILL');
    await waitOutput(node, /wsmesh: worker wk-2 was killed by SIGKILL\n/);
    assert.equal(await node.stop('SIGTERM'), 0, node.output());
    assert.match(node.output(), /wsmesh node wk-1 stopped/);
    assert.doesNotMatch(node.output(), /exited \(code null\)/);
    assert.throws(() => process.kill(workerPid, 0), /ESRCH/);
  });

  test('--static with --workers 2: files, types, 404, no way out, /wsmesh.json lists both', async () => {
    const site = makeSite(join(dir, 'served'));
    const missing = await runCli(['start', '--static', join(dir, 'no-such-folder')]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /--static .*no-such-folder: no such directory/);

    const node = startCli(['--workers', '2', '--port', '0', '--id', 'st', '--static', site], {});
    const ready = await waitOutput(node, /2 workers ready: st-1 (ws:\/\/\S+), st-2 (ws:\/\/\S+)/);
    const [first = '', second = ''] = [ready[1], ready[2]];
    const port = Number(new URL(first).port);
    // The pages line follows the ready line, maybe in a later chunk of the pipe.
    await waitOutput(node, new RegExp(`pages {6}http://127\\.0\\.0\\.1:${port}/ http://`));

    const index = await rawGet(port, '/');
    assert.equal(index.status, 200);
    assert.equal(index.type, 'text/html; charset=utf-8');
    assert.match(index.body, /static test/);
    for (const [path, type] of [
      ['/app.js', 'text/javascript; charset=utf-8'],
      ['/style.css', 'text/css; charset=utf-8'],
      ['/logo.svg', 'image/svg+xml'],
      ['/sub/', 'text/html; charset=utf-8'],
      ['/app.js?v=2', 'text/javascript; charset=utf-8'],
    ] as const) {
      const result = await rawGet(port, path);
      assert.equal(result.status, 200, path);
      assert.equal(result.type, type, path);
    }
    const head = await rawGet(port, '/app.js', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.length, String('export const answer = 42;\n'.length));
    assert.equal(head.body, '');
    assert.equal((await rawGet(port, '/nope.html')).status, 404);
    assert.equal((await rawGet(port, '/', 'POST')).status, 405);
    for (const [path, status] of TRAVERSALS) {
      const result = await rawGet(port, path);
      assert.equal(result.status, status, path);
      assert.ok(!result.body.includes('TOP-SECRET') && !result.body.includes('HIDDEN'), path);
    }

    // The browser client, from the package's dist/ (npm run bundle).
    const bundle = await rawGet(port, '/wsmesh-client.js');
    if (isBundleBuilt()) {
      assert.equal(bundle.status, 200);
      assert.equal(bundle.type, 'text/javascript; charset=utf-8');
      assert.match(bundle.body, /WebClient/);
    } else {
      assert.equal(bundle.status, 404);
      assert.match(bundle.body, /npm run bundle/);
    }

    // Each worker lists itself first, then the other once they are linked.
    for (const [own, other, id] of [
      [first, second, 'st-1'],
      [second, first, 'st-2'],
    ] as const) {
      const mesh = await until(
        async () => {
          const response = await fetch(`${own.replace('ws:', 'http:')}/wsmesh.json`);
          const body = (await response.json()) as { id: string; urls: string[] };
          return body.urls.length === 2 ? body : undefined;
        },
        15_000,
        `${id} lists its clone`,
        100,
      );
      assert.deepEqual(mesh, { id, urls: [own, other] });
    }
    // The WebSocket endpoint is on the same port.
    const published = await runInProcess(['publish', first, 'lobby', '1']);
    assert.equal(published.code, 0, published.stderr);
    assert.equal(await node.stop('SIGTERM'), 0, node.output());
  });

  test('the static site in process: bundle present or missing, chunks, mesh urls', async () => {
    const base = join(dir, 'in-process');
    const site = makeSite(base);
    const bundleDir = join(base, 'bundle');
    mkdirSync(join(bundleDir, 'chunks'), { recursive: true });
    writeFileSync(join(bundleDir, 'chunks', 'msgpack-X.js'), 'export const m = 1;');
    const https: HttpServer[] = [];
    const serve = async (bundle: string): Promise<number> => {
      const handler = createStaticSite({
        root: site,
        bundleDir: bundle,
        mesh: () => ({ id: 'n1', urls: ['ws://127.0.0.1:1'] }),
      });
      const http = createServer((request, response) => handler.handle(request, response));
      https.push(http);
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      const address = http.address();
      return typeof address === 'object' && address !== null ? address.port : 0;
    };
    try {
      const port = await serve(bundleDir);
      // No entry yet: the hint, for the entry and its chunks.
      for (const path of ['/wsmesh-client.js', '/chunks/msgpack-X.js']) {
        const result = await rawGet(port, path);
        assert.equal(result.status, 404, path);
        assert.equal(result.body, BUNDLE_MISSING);
      }
      writeFileSync(join(bundleDir, 'wsmesh-client.js'), 'export class WebClient {}');
      const entry = await rawGet(port, '/wsmesh-client.js');
      assert.equal(entry.status, 200);
      assert.equal(entry.type, 'text/javascript; charset=utf-8');
      assert.equal((await rawGet(port, '/chunks/msgpack-X.js')).status, 200);
      assert.equal((await rawGet(port, '/chunks/missing.js')).status, 404);
      assert.equal((await rawGet(port, '/chunks/..%2f..%2fsecret.txt')).status, 403);
      const mesh = await rawGet(port, '/wsmesh.json');
      assert.equal(mesh.type, 'application/json; charset=utf-8');
      assert.deepEqual(JSON.parse(mesh.body), { id: 'n1', urls: ['ws://127.0.0.1:1'] });
      const redirect = await rawGet(port, '//sub');
      assert.equal(redirect.status, 301, 'a folder without its slash is redirected');
      assert.equal(redirect.location, '/sub/', 'to a path, never to //host');
      for (const [path, status] of TRAVERSALS)
        assert.equal((await rawGet(port, path)).status, status);
    } finally {
      for (const http of https) await new Promise((resolve) => http.close(resolve));
    }
    assert.deepEqual(pathSegments('/a/b%20c/?x=1'), ['a', 'b c']);
    assert.deepEqual(
      meshUrls('ws://a', [
        {
          id: 'c',
          url: 'ws://c',
          state: 'routed',
          latencyMs: null,
          relayFramesOut: 0,
          relayFramesIn: 0,
        },
        {
          id: 'd',
          url: 'ws://d',
          state: 'unreachable',
          latencyMs: null,
          relayFramesOut: 0,
          relayFramesIn: 0,
        },
        {
          id: 'b',
          url: 'ws://b',
          state: 'linked',
          latencyMs: 1,
          relayFramesOut: 0,
          relayFramesIn: 0,
        },
        { id: 'e', url: null, state: 'linked', latencyMs: 1, relayFramesOut: 0, relayFramesIn: 0 },
      ]),
      ['ws://a', 'ws://b'],
      'only linked clones: a routed one was only heard of',
    );
  });
});
