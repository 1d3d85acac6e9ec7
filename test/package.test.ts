/**
 * The package as a user gets it: `npm pack` (which runs `prepack`: the build and the browser
 * bundle; the package has no install-time scripts), then a scratch project that installs the tarball and:
 * - type-checks a Node TypeScript file importing `wsmesh` and `wsmesh/client`, compiles it
 *   and runs it: the README's request/response example (on port 0), and the same with
 *   `wsmesh/client`, which resolves to the Node entry on Node;
 * - the same from CommonJS (a folder with `"type": "commonjs"`): a TypeScript file compiled
 *   to `require()` calls, and plain JavaScript calling `require('wsmesh')` and
 *   `require('wsmesh/client')` (Node >= 20.19 requires the ESM build);
 * - type-checks a browser TypeScript file importing `wsmesh/client` with the DOM library and
 *   no Node types (`skipLibCheck` off: the browser declarations need nothing from Node);
 * - bundles that file for the browser with esbuild (the `browser` condition), with no
 *   externals: nothing from Node, and msgpackr only in a chunk loaded on demand.
 *
 * Only wsmesh's own dependencies (ws, msgpackr) and @types/node come from the registry
 * (`--prefer-offline`: npm's cache first). Skipped outside CI when `npm` is not on the PATH.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command; rejects with its output if it fails or outlasts `timeoutMs`. */
function run(command: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const result = { code, stdout, stderr };
      if (code === 0) resolve(result);
      else
        reject(
          new Error(
            `${command} ${args.join(' ')} exited with ${String(code)}\n${stdout}\n${stderr}`,
          ),
        );
    });
  });
}

/** A `wsmesh start --functions <file>` of the installed bin; `url` resolves once it listens. */
function startBin(
  bin: string,
  functions: string,
  cwd: string,
): { url: Promise<string>; output(): string; stop(): Promise<void> } {
  const child = spawn(bin, ['start', '--port', '0', '--functions', `./${functions}`], {
    cwd,
    env: Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !key.startsWith('WSMESH_')),
    ),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${functions}: no start\n${output}`)), 30_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /listening on (ws:\/\/\S+)/.exec(output);
      if (match?.[1] !== undefined && output.includes('Ctrl+C stops the node')) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`wsmesh start --functions ${functions} exited:\n${output}`));
    });
  });
  url.catch(() => undefined);
  return {
    url,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The README's request/response example (port 0), then `wsmesh/client` on Node. */
const NODE_APP = `import { Server, Client } from 'wsmesh';
import {
  Client as EntryClient,
  RpcProxy,
  TimeoutError,
  WebClient,
  type ClientOptions,
} from 'wsmesh/client';

const server = new Server({ port: 0, host: '127.0.0.1' });
server.addRoute({
  route: 'math',
  act: 'add',
  handler: ({ data }) => {
    const { a, b } = data as { a: number; b: number };
    return a + b; // the return value is the reply
  },
});
server.origin(function double(n: number) {
  return n * 2;
});
await server.start();

const client = new Client({ url: \`ws://127.0.0.1:\${String(server.port)}\` });
await client.start();
const sum = await client.sendMes({
  route: 'math',
  act: 'add',
  data: { a: 2, b: 3 },
  awaitRes: true,
});
console.log(sum); // 5

// wsmesh/client resolves to the Node entry here (Node 20 has no global WebSocket).
const options: ClientOptions = { url: \`ws://127.0.0.1:\${String(server.port)}\`, silent: true };
const other: WebClient = new EntryClient(options);
await other.start();
const sum2: number = await other.sendMes<number>({
  route: 'math',
  act: 'add',
  data: { a: 4, b: 5 },
  awaitRes: true,
});
const proxy = await RpcProxy.create<{ double(n: number): number }>({ url: options.url as string });
const doubled: number = await proxy.double(21);
await proxy.close();
console.log(
  JSON.stringify({
    sum2,
    doubled,
    timeout: new TimeoutError('x').code,
    entry: import.meta.resolve('wsmesh/client').split('/').pop(),
  }),
);
await Promise.all([client.stop(), other.stop()]);
await server.stop();
`;

/**
 * The same from CommonJS (`"type": "commonjs"`): TypeScript compiles the imports to
 * `require()` calls (`module: nodenext`), which Node >= 20.19 resolves to the ESM build.
 */
const CJS_APP = `import { Server, Client } from 'wsmesh';
import { Client as EntryClient, TimeoutError } from 'wsmesh/client';

async function main(): Promise<void> {
  const server = new Server({ port: 0, host: '127.0.0.1' });
  server.addRoute({ route: 'math', act: 'add', handler: ({ data }) => (data as number[]).length });
  await server.start();
  const url = \`ws://127.0.0.1:\${String(server.port)}\`;
  const client = new Client({ url });
  const other = new EntryClient({ url });
  await Promise.all([client.start(), other.start()]);
  const replies = await Promise.all([
    client.sendMes({ route: 'math', act: 'add', data: [1, 2], awaitRes: true }),
    other.sendMes({ route: 'math', act: 'add', data: [1, 2, 3], awaitRes: true }),
  ]);
  console.log(
    JSON.stringify({
      replies,
      timeout: new TimeoutError('x').code,
      entry: require.resolve('wsmesh/client').split('/').pop(),
    }),
  );
  await Promise.all([client.stop(), other.stop()]);
  await server.stop();
}
main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
`;

/** Plain CommonJS JavaScript, as a `require()` user writes it. */
const CJS_PLAIN = `const { Server, RpcProxy } = require('wsmesh');
const client = require('wsmesh/client');
console.log(JSON.stringify([typeof Server, typeof RpcProxy.create, typeof client.Client, typeof client.WebClient]));
`;

/** Browser code: type-checked without Node types, then bundled for the browser. */
const BROWSER_APP = `import { Client, RpcProxy, WebClient, WsMeshError, type ClientOptions } from 'wsmesh/client';

type MathApi = { add(a: number, b: number): number; countdown(from: number): AsyncGenerator<number> };

const options: ClientOptions = { url: ['ws://127.0.0.1:1', 'ws://127.0.0.1:2'] };
const client: WebClient = new Client(options);
client.addRoute({ route: 'chat', handler: ({ data }) => void console.log(data) });

export async function main(): Promise<number> {
  await client.start();
  await client.subscribe({ id: 'lobby' });
  const math = await RpcProxy.create<MathApi>({ url: 'ws://127.0.0.1:1', namespace: 'math' });
  let total = await math.add(2, 3);
  for await (const n of math.countdown(3)) total += n;
  return total;
}
document.title = client.getInfo().state;
export const isWsMeshError = (error: unknown): boolean => error instanceof WsMeshError;
`;

const npmVersion = await run(npm, ['--version'], root, 20_000).then(
  (result) => result.stdout.trim(),
  () => undefined,
);
const ci = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';

test(
  'npm pack installs into a scratch project that type-checks, runs and bundles both entries',
  { timeout: 300_000, skip: npmVersion === undefined && !ci ? 'npm not on the PATH' : false },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsmesh-pack-'));
    try {
      // 1. Pack, as `npm publish` would (prepack: build and browser bundle).
      await run(npm, ['pack', '--pack-destination', dir], root);
      const tarball = readdirSync(dir).find((name) => name.endsWith('.tgz'));
      assert.ok(tarball !== undefined, 'npm pack wrote a tarball');
      const listing = await run('tar', ['tzf', join(dir, tarball)], dir);
      const files = listing.stdout.split('\n');
      for (const expected of [
        'package/dist/index.js',
        'package/dist/index.d.ts',
        'package/dist/browser.js',
        'package/dist/browser.d.ts',
        'package/dist/client-node.js',
        'package/dist/client-node.d.ts',
        'package/dist/wsmesh-client.js',
        'package/LICENSE',
      ]) {
        assert.ok(files.includes(expected), `the tarball has ${expected}`);
      }
      assert.ok(
        files.some((file) => /^package\/dist\/chunks\/msgpack-[\w-]+\.js$/.test(file)),
        'the tarball has the MessagePack chunk of the bundle',
      );
      assert.ok(
        !files.some((file) => file.endsWith('.test.js') || file.startsWith('package/src/')),
        'no tests or sources in the tarball',
      );

      // Nothing runs when a user installs it (no install-script warning).
      const packed = await run('tar', ['xzOf', join(dir, tarball), 'package/package.json'], dir);
      const scripts = (JSON.parse(packed.stdout) as { scripts?: Record<string, string> }).scripts;
      for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) {
        assert.equal(scripts?.[hook], undefined, `the package has no ${hook} script`);
      }
      assert.match(
        (await run('tar', ['xzOf', join(dir, tarball), 'package/LICENSE'], dir)).stdout,
        /^MIT License/,
      );

      // 2. A scratch project that depends on the tarball.
      const app = join(dir, 'app');
      const rootPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
        devDependencies: Record<string, string>;
      };
      const typesNode = rootPackage.devDependencies['@types/node'] ?? '^20';
      const tsxVersion = rootPackage.devDependencies['tsx'] ?? '^4';
      mkdirSync(app);
      writeFileSync(
        join(app, 'package.json'),
        JSON.stringify({
          name: 'wsmesh-scratch',
          version: '1.0.0',
          private: true,
          type: 'module',
          dependencies: { wsmesh: `file:../${tarball}` },
          devDependencies: { '@types/node': typesNode, tsx: tsxVersion },
        }),
      );
      await run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund'], app);

      // 3. Node and browser sources, type-checked in parallel.
      writeFileSync(join(app, 'app.ts'), NODE_APP);
      writeFileSync(
        join(app, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            strict: true,
            noUncheckedIndexedAccess: true,
            skipLibCheck: true,
            types: ['node'],
            outDir: 'out',
          },
          files: ['app.ts'],
        }),
      );
      // The browser file: DOM types only, no Node types, declarations checked too.
      writeFileSync(join(app, 'browser.ts'), BROWSER_APP);
      writeFileSync(
        join(app, 'tsconfig.browser.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'ESNext',
            moduleResolution: 'Bundler',
            customConditions: ['browser'],
            lib: ['ES2022', 'DOM'],
            strict: true,
            skipLibCheck: false,
            skipDefaultLibCheck: true,
            types: [],
            noEmit: true,
          },
          files: ['browser.ts'],
        }),
      );
      // CommonJS: a folder whose package.json says so, inside the same project.
      const cjs = join(app, 'cjs');
      mkdirSync(cjs);
      writeFileSync(join(cjs, 'package.json'), JSON.stringify({ type: 'commonjs' }));
      writeFileSync(join(cjs, 'app.ts'), CJS_APP);
      writeFileSync(join(cjs, 'plain.js'), CJS_PLAIN);
      writeFileSync(
        join(cjs, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            strict: true,
            skipLibCheck: true,
            types: ['node'],
            outDir: 'out',
          },
          files: ['app.ts'],
        }),
      );
      await Promise.all([
        run(process.execPath, [tsc, '-p', 'tsconfig.json'], app),
        run(process.execPath, [tsc, '-p', 'tsconfig.browser.json'], app),
        run(process.execPath, [tsc, '-p', 'tsconfig.json'], cjs),
      ]);

      // 4. Node: run the compiled README example.
      const output = await run(process.execPath, ['out/app.js'], app, 30_000);
      const lines = output.stdout.trim().split('\n');
      assert.equal(lines[0], '5', 'the README example prints 5');
      assert.deepEqual(JSON.parse(lines.at(-1) ?? '{}'), {
        sum2: 9,
        doubled: 42,
        timeout: 'ERR_TIMEOUT',
        entry: 'client-node.js',
      });

      // CommonJS: the compiled file really requires wsmesh, and both entries load.
      const compiled = readFileSync(join(cjs, 'out', 'app.js'), 'utf8');
      assert.match(compiled, /require\("wsmesh"\)/, 'TypeScript emitted require() calls');
      const cjsOutput = await run(process.execPath, ['out/app.js'], cjs, 30_000);
      assert.deepEqual(JSON.parse(cjsOutput.stdout.trim()), {
        replies: [2, 3],
        timeout: 'ERR_TIMEOUT',
        entry: 'client-node.js',
      });
      assert.doesNotMatch(cjsOutput.stderr, /Warning/, 'no warning when required');
      const plain = await run(process.execPath, ['plain.js'], cjs, 30_000);
      assert.deepEqual(JSON.parse(plain.stdout.trim()), [
        'function',
        'function',
        'function',
        'function',
      ]);

      // The CLI in the CommonJS folder: --functions with ES module syntax in a .js file (what
      // `npm init` projects get wrong), CommonJS, and TypeScript (through the project's tsx).
      writeFileSync(join(cjs, 'esm.js'), 'export function add(a, b) { return a + b; }\n');
      writeFileSync(
        join(cjs, 'common.js'),
        'exports.mul = function mul(a, b) { return a * b; };\n',
      );
      writeFileSync(
        join(cjs, 'typed.ts'),
        'interface Pair { a: number; b: number }\n' +
          'export function sub({ a, b }: Pair): number { return a - b; }\n',
      );
      const bin = join(app, 'node_modules', '.bin', 'wsmesh');
      const nodes = ['esm.js', 'common.js', 'typed.ts'].map((file) => startBin(bin, file, cjs));
      try {
        const urls = await Promise.all(nodes.map((node) => node.url));
        const results = await Promise.all([
          run(bin, ['call', urls[0] ?? '', 'DEFAULT', 'add', '2', '3'], cjs, 30_000),
          run(bin, ['call', urls[1] ?? '', 'DEFAULT', 'mul', '2', '3'], cjs, 30_000),
          run(bin, ['call', urls[2] ?? '', 'DEFAULT', 'sub', '{"a":7,"b":2}'], cjs, 30_000),
        ]);
        assert.deepEqual(
          results.map((result) => result.stdout.trim()),
          ['5', '6', '5'],
        );
        for (const node of nodes) assert.doesNotMatch(node.output(), /Warning|Error/);
      } finally {
        await Promise.all(nodes.map((node) => node.stop()));
      }

      // 5. Browser: bundle with the browser condition, no externals.
      const { metafile: meta } = await build({
        absWorkingDir: app,
        entryPoints: ['browser.ts'],
        bundle: true,
        platform: 'browser',
        format: 'esm',
        splitting: true,
        outdir: 'web',
        metafile: true,
        write: false,
        logLevel: 'silent',
      });
      const entry = meta.outputs['web/browser.js'];
      assert.ok(entry !== undefined, 'the browser bundle has an entry');
      const inputs = Object.keys(entry.inputs);
      assert.ok(
        inputs.some((input) => input.endsWith('node_modules/wsmesh/dist/browser.js')),
        'the browser condition picked dist/browser.js',
      );
      assert.deepEqual(
        inputs.filter((input) => /node_modules\/(ws|msgpackr)\//.test(input)),
        [],
        'neither ws nor msgpackr is in the code loaded up front',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
    }
  },
);
