/**
 * The examples as a reader runs them (`npx tsx examples/<name>.ts`, from the repository root,
 * where tsconfig.json's `paths` maps `wsmesh` to the source, so nothing needs building): each
 * one ends by itself with exit code 0 and prints what it says. Among them, the Express 5 and
 * Fastify 5 recipes: a WebSocket request at `/ws` of the framework's own port, a framework
 * route next to it, and the operations pages under the endpoint's path (`/ws/metrics`).
 * Examples import `wsmesh`, never the repository's source, so copied code runs unchanged.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLES = join(ROOT, 'examples');

/** Runs an example to its end (killed by PID after `timeoutMs`). */
function runExample(
  name: string,
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join('examples', name)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not end within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('examples', { concurrency: 2 }, () => {
  for (const [name, framework] of [
    ['express.ts', 'express'],
    ['fastify.ts', 'fastify'],
  ] as const) {
    test(`${name}: WebSocket at /ws, a ${framework} route, /ws/metrics, then it ends`, async () => {
      const result = await runExample(name);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        result.stdout,
        [
          'websocket reply: 5',
          `${framework} route: {"hello":"from ${framework}"}`,
          'GET /ws/metrics: 200 true',
          'stopped',
          '',
        ].join('\n'),
      );
    });
  }

  for (const [name, pattern] of [
    ['rpc-basic.ts', /foo/],
    ['rpc-namespaces.ts', /ERR_NO_ROUTE: No function "public_func" in namespace "private"/],
    ['rpc-cluster.ts', /./],
  ] as const) {
    test(`${name} ends by itself`, async () => {
      const result = await runExample(name);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, pattern);
    });
  }

  test('every example imports the package, not the repository source', () => {
    const files = [
      ...readdirSync(EXAMPLES).filter((name) => name.endsWith('.ts')),
      ...readdirSync(join(EXAMPLES, 'demo-web'))
        .filter((name) => name.endsWith('.ts'))
        .map((name) => join('demo-web', name)),
    ];
    assert.ok(files.length >= 8);
    for (const file of files) {
      const source = readFileSync(join(EXAMPLES, file), 'utf8');
      assert.doesNotMatch(source, /from '(\.\.\/)+src\//, file);
      assert.doesNotMatch(source, /FastAPI|server\.py|client\.py/, file);
    }
  });
});
