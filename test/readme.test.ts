/**
 * The README as a reader uses it: its runnable snippets (request/response, authentication and
 * limits, RPC) run as written, on free ports instead of the fixed ones, print what their
 * comments say and end by themselves (nothing left running); and its bundle size claim
 * matches the browser client that `npm run bundle` builds (within 1 kB).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bundleBrowserClient } from '../scripts/bundle.js';
import { getFreePort, LIBRARY_ENTRY, runScript } from './helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The first ```ts block after the heading `## <title>`. */
function snippet(title: string): string {
  const at = README.indexOf(`\n## ${title}\n`);
  assert.ok(at >= 0, `README has a "${title}" section`);
  const match = /```ts\n([\s\S]*?)```/.exec(README.slice(at));
  assert.ok(match?.[1] !== undefined, `"${title}" has a TypeScript snippet`);
  return match[1];
}

/** The snippet with the package import pointed at the source and `port` made free. */
async function runnable(source: string, port: number): Promise<string> {
  const free = await getFreePort();
  return source
    .replaceAll("from 'wsmesh'", `from '${LIBRARY_ENTRY}'`)
    .replaceAll(String(port), String(free));
}

describe('README', { concurrency: true }, () => {
  for (const [title, port, expected] of [
    ['Request/response', 3000, '5\n'],
    ['Authentication and limits', 3000, "{ user: 'alice' }\n"],
    ['RPC', 8220, '5\n3\n2\n1\n'],
  ] as const) {
    test(`the ${title} snippet runs, prints what it says and exits by itself`, async () => {
      const result = await runScript(await runnable(snippet(title), port), { timeoutMs: 20_000 });
      assert.equal(result.timedOut, false, `it ended by itself\n${result.stdout}${result.stderr}`);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, expected);
    });
  }

  test('the browser bundle is as large as the README says', async () => {
    const claim = /about (\d+(?:\.\d+)?) kB minified and gzipped/.exec(README)?.[1];
    assert.ok(claim !== undefined, 'the README states the size');
    const files = await bundleBrowserClient({ write: false });
    const gzip = files.filter((file) => file.eager).reduce((sum, f) => sum + f.gzipBytes, 0);
    const kB = gzip / 1000;
    assert.ok(Math.abs(kB - Number(claim)) <= 1, `README: about ${claim} kB, bundle: ${kB} kB`);
  });
});
