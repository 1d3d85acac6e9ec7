/**
 * Edges of packs (PROTOCOL.md 2.9, "Packs") and fan-out batch chains, found in review: a packed
 * client or a chain of batches must behave as the unpacked frames would.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { Client, ClientMessageContext, MessageContext } from '../src/index.js';
import { FrameType } from '../src/protocol/frames.js';
import { fakeServer } from './fake-server.js';
import { waitFor } from './helpers.js';

const LONG = { timeout: 60_000 };

/** The datas a Client's route saw when its handler stops the client on the first one. */
async function seenUntilStop(batch: string): Promise<unknown[]> {
  const server = await fakeServer(batch);
  const client = new Client({ url: server.url, reconnect: false });
  const seen: unknown[] = [];
  let stopped: Promise<void> | undefined;
  client.on('error', () => undefined);
  client.addRoute({
    route: 'm',
    handler: ({ data }) => {
      seen.push(data);
      // Closes the connection at once: what follows in the same message is not handled.
      if (data === 1) stopped = client.stop();
    },
  });
  try {
    await client.start();
    await waitFor(() => stopped !== undefined, 5000, 'the first message');
    await stopped;
    return seen;
  } finally {
    await client.stop();
    await server.close();
  }
}

describe('a packed client handles what an unpacked one would', LONG, () => {
  test('no packed message is handled after a handler closed the connection', async () => {
    const lines = [1, 2, 3].map((data) =>
      JSON.stringify([FrameType.GROUP_MESSAGE, 'g', 'm', null, data]),
    );
    // Unpacked: the frames after the close are not handed to the routes.
    assert.deepEqual(await seenUntilStop(lines.join('\n')), [1]);
    // The same messages packed must behave the same (PROTOCOL.md 2.9: "exactly as those
    // GROUP_MESSAGE frames one after the other").
    const pack = JSON.stringify([FrameType.GROUP_MESSAGES, 'g', 'm', null, [1, 2, 3]]);
    assert.deepEqual(await seenUntilStop(`${pack}\n[9]`), [1]);
  });
});

describe('packed messages to several groups', LONG, () => {
  test('each message gets its own target array, as separate frames would', async () => {
    const pack = JSON.stringify([FrameType.GROUP_MESSAGES, ['g', 'h'], 'm', null, [1, 2]]);
    const server = await fakeServer(pack);
    const client = new Client({ url: server.url, reconnect: false });
    const groups: unknown[] = [];
    client.addRoute({
      route: 'm',
      handler: ({ mes }) => {
        groups.push([...(mes.group as string[])]);
        // A handler that changes its message must not change the next one's.
        (mes.group as string[]).pop();
      },
    });
    try {
      await client.start();
      await waitFor(() => groups.length === 2);
      assert.deepEqual(groups, [
        ['g', 'h'],
        ['g', 'h'],
      ]);
    } finally {
      await client.stop();
      await server.close();
    }
  });
});

describe('fan-out batch chains', () => {
  test('a batch continued by its own last frame ends (no endless copy of a shared array)', () => {
    // Run in a child with a small heap and a deadline: the defect grows an array forever.
    const source = new URL('../src/transport/prepared-frame.ts', import.meta.url).href;
    const code = `
      import { PreparedFrame } from ${JSON.stringify(source)};
      const join = (payloads) => payloads.join('\\n');
      const f = PreparedFrame.of('[8,"g","m",null,1]', { head: '[18,"g","m",null,[', data: '1' });
      process.stdout.write(String(f.followedBy(f, join, true).payload));`;
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--max-old-space-size=64', '--input-type=module', '-e', code],
      { timeout: 20_000, encoding: 'utf8' },
    );
    assert.equal(result.signal, null, `child ended by ${String(result.signal)} (heap or time)`);
    assert.equal(result.status, 0, result.stderr.slice(0, 500));
    assert.equal(result.stdout, '[18,"g","m",null,[1,1]]');
  });
});

/** What a Client's middleware and routes saw of `message` (one WebSocket message). */
async function contextsSeen(
  message: string,
  count: number,
): Promise<{ middleware: unknown[]; routes: unknown[] }> {
  const server = await fakeServer(message);
  const client = new Client({ url: server.url, reconnect: false });
  const middleware: unknown[] = [];
  const routes: unknown[] = [];
  client.use((context) => {
    const { mes, data } = context;
    middleware.push({
      context: context instanceof ClientMessageContext && context instanceof MessageContext,
      client: context.client === client,
      raw: typeof context.raw,
      sameMes: context.mes === mes,
      data,
      mes: { ...mes },
    });
    // A middleware may rewrite the message; the routes see what it made of it.
    mes.data = `${String(data)}!`;
  });
  client.addRoute({
    route: 'm',
    handler: ({ data, stop }) => {
      routes.push(data);
      stop();
    },
  });
  client.addRoute({ route: 'm', handler: () => routes.push('not after stop()') });
  try {
    await client.start();
    await waitFor(() => routes.length >= count, 5000, 'the messages');
    return { middleware, routes };
  } finally {
    await client.stop();
    await server.close();
  }
}

/** The routes a Client ran for `message` when its first message adds a route and a middleware. */
async function routesAddedMidway(message: string, count: number): Promise<string[]> {
  const server = await fakeServer(message);
  const client = new Client({ url: server.url, reconnect: false });
  const log: string[] = [];
  client.addRoute({
    route: 'm',
    handler: ({ data }) => {
      log.push(`first:${String(data)}`);
      if (data === 1) {
        client.addRoute({ route: 'm', handler: (late) => log.push(`late:${String(late.data)}`) });
        client.use(({ data: seen }) => {
          log.push(`middleware:${String(seen)}`);
        });
      }
    },
  });
  try {
    await client.start();
    await waitFor(() => log.filter((line) => line.startsWith('first')).length >= count);
    return log;
  } finally {
    await client.stop();
    await server.close();
  }
}

describe('the context of a packed message', LONG, () => {
  const separate = [1, 2]
    .map((data) => JSON.stringify([FrameType.GROUP_MESSAGE, ['g', 'h'], 'm', 'a', data]))
    .join('\n');
  const packed = JSON.stringify([FrameType.GROUP_MESSAGES, ['g', 'h'], 'm', 'a', [1, 2]]);

  test('is the context separate frames get: mes, data, raw, client, stop()', async () => {
    const expected = {
      middleware: [1, 2].map((data) => ({
        context: true,
        client: true,
        raw: 'string',
        sameMes: true,
        data,
        mes: { kind: 'message', route: 'm', act: 'a', data, awaitRes: false, group: ['g', 'h'] },
      })),
      routes: ['1!', '2!'],
    };
    assert.deepEqual(await contextsSeen(separate, 2), expected);
    assert.deepEqual(await contextsSeen(packed, 2), expected);
  });

  test('later messages of a pack see routes and middlewares added by earlier ones', async () => {
    const expected = [
      'first:1',
      'middleware:2',
      'first:2',
      'late:2',
      'middleware:3',
      'first:3',
      'late:3',
    ];
    const datas = [1, 2, 3];
    const lines = datas.map((data) =>
      JSON.stringify([FrameType.GROUP_MESSAGE, 'g', 'm', null, data]),
    );
    assert.deepEqual(await routesAddedMidway(lines.join('\n'), 3), expected);
    const pack = JSON.stringify([FrameType.GROUP_MESSAGES, 'g', 'm', null, datas]);
    assert.deepEqual(await routesAddedMidway(pack, 3), expected);
  });
});
