/**
 * `wsmesh start --nats <url>`: a CLI node joins the NATS backplane, so its functions are
 * callable through another node of the same NATS cluster, and it leaves when stopped.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { RpcProxy } from '../src/index.js';
import { waitFor } from './helpers.js';
import {
  natsServerAvailable,
  startNatsCluster,
  startNatsServer,
  type NatsCluster,
} from './nats-helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const skip = natsServerAvailable() ? false : 'nats-server is not installed';

describe('wsmesh start --nats', { skip }, () => {
  let nats: NatsCluster;
  before(async () => {
    nats = await startNatsCluster(2);
  });
  after(async () => {
    await nats?.stop();
  });

  test('a CLI node joins the NATS cluster and serves its functions to other nodes', async () => {
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env))
      if (!key.startsWith('WSMESH_')) env[key] = value;
    env.WSMESH_SECRET = 'cli-nats-secret';
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        MAIN,
        'start',
        '--port',
        '0',
        '--id',
        'cli-node',
        '--nats',
        nats.urls[1] as string,
        '--functions',
        join(ROOT, 'test', 'fixtures', 'rpc-functions.js'),
        '--namespace',
        'math',
      ],
      { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const { server } = await startNatsServer(nats.urls[0] as string, {
      id: 'in-process',
      serverSecret: 'cli-nats-secret',
    });
    try {
      await waitFor(() => server.clones.clones.has('cli-node'), 20_000, `CLI node seen\n${output}`);
      await waitFor(
        () => /nats {7}nats:\/\/127\.0\.0\.1:\d+/.test(output),
        5000,
        'nats line printed',
      );
      const proxy = await RpcProxy.create({
        url: `ws://127.0.0.1:${String(server.port)}/`,
        serverSecret: 'cli-nats-secret',
        namespace: 'math',
      });
      try {
        await waitFor(() => proxy.functions.some((f) => f.name === 'add'), 5000, 'add listed');
        assert.equal(await proxy.call('add', 20, 22), 42);
      } finally {
        await proxy.close();
      }
      child.kill('SIGTERM');
      await waitFor(() => !server.clones.clones.has('cli-node'), 5000, 'CLI node left');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await server.stop();
    }
  });
});
