import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, InvalidArgumentError, NoRouteError } from '../errors.js';
import { MessageContext, type IncomingMessage } from './message.js';
import { NOT_ROUTED, Router, noRouteError, type RouteHandler } from './router.js';

function context(
  route: string | null,
  act: string | null = null,
  data: unknown = null,
): MessageContext {
  const mes: IncomingMessage = { kind: 'message', route, act, data, awaitRes: true };
  return new MessageContext(mes, JSON.stringify([2, 1, route, act, data]));
}

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A handler that logs its name and returns `value`. */
function logging(log: string[], name: string, value?: unknown): RouteHandler<MessageContext> {
  return () => {
    log.push(name);
    return value;
  };
}

describe('Router: middlewares', () => {
  test('run in order, before every route, whatever the order of registration', () => {
    const router = new Router<MessageContext>();
    const log: string[] = [];
    router.addRoute({ route: 'r', handler: logging(log, 'route', 'done') });
    router.use(logging(log, 'mw1'));
    router.use(logging(log, 'mw2'));
    assert.equal(router.dispatch(context('r')), 'done');
    assert.deepEqual(log, ['mw1', 'mw2', 'route']);
  });

  test('stop() ends processing and the middleware return value is the reply', () => {
    const router = new Router<MessageContext>();
    const log: string[] = [];
    router.use(({ mes, stop }) => {
      log.push('guard');
      if (mes.route === 'private') {
        stop();
        return { refused: true };
      }
      return 'ignored';
    });
    router.use(logging(log, 'second'));
    router.addRoute({ handler: logging(log, 'route', 'routed') });
    assert.deepEqual(router.dispatch(context('private')), { refused: true });
    assert.deepEqual(log, ['guard']);
    log.length = 0;
    assert.equal(
      router.dispatch(context('public')),
      'routed',
      'a middleware value without stop() is not the reply',
    );
    assert.deepEqual(log, ['guard', 'second', 'route']);
  });

  test('stop() works when destructured, also without returning a value', () => {
    const router = new Router<MessageContext>();
    let reached = false;
    router.use(({ stop }) => {
      const halt = stop;
      halt();
    });
    router.addRoute({
      handler: () => {
        reached = true;
        return 'no';
      },
    });
    const ctx = context('r');
    assert.equal(router.dispatch(ctx), undefined);
    assert.equal(ctx.stopped, true);
    assert.equal(reached, false);
    assert.equal(ctx.stop, ctx.stop, 'the same function every time');
  });

  test('async middlewares are awaited in order; an async stop() ends processing', async () => {
    const router = new Router<MessageContext>();
    const log: string[] = [];
    router.use(async () => {
      await tick();
      log.push('async1');
    });
    router.use(() => {
      log.push('sync2');
    });
    router.use(async ({ mes, stop }) => {
      await tick();
      log.push('async3');
      if (mes.act === 'stop') {
        stop();
        return 'stopped-async';
      }
      return undefined;
    });
    router.addRoute({ route: 'r', handler: logging(log, 'route', 'from-route') });
    const result = router.dispatch(context('r'));
    assert.ok(result instanceof Promise);
    assert.deepEqual(log, []);
    assert.equal(await result, 'from-route');
    assert.deepEqual(log, ['async1', 'sync2', 'async3', 'route']);
    log.length = 0;
    assert.equal(await router.dispatch(context('r', 'stop')), 'stopped-async');
    assert.deepEqual(log, ['async1', 'sync2', 'async3']);
  });

  test('a throwing middleware throws out of dispatch; a rejecting one rejects', async () => {
    const router = new Router<MessageContext>();
    router.use(({ mes }) => {
      if (mes.route === 'sync') throw new TypeError('sync failure');
    });
    router.use(async ({ mes }) => {
      if (mes.route === 'async') throw new RangeError('async failure');
    });
    let routed = 0;
    router.addRoute({
      handler: () => {
        routed++;
        return 1;
      },
    });
    assert.throws(() => router.dispatch(context('sync')), TypeError);
    await assert.rejects(Promise.resolve(router.dispatch(context('async'))), RangeError);
    assert.equal(routed, 0);
  });

  test('dispatchMiddlewares runs middlewares only', async () => {
    const router = new Router<MessageContext>();
    let routed = false;
    router.use(({ mes, stop }) => {
      if (mes.route === 'deny') {
        stop();
        return 'denied';
      }
      return 'not a reply';
    });
    router.addRoute({
      handler: () => {
        routed = true;
      },
    });
    assert.equal(router.dispatchMiddlewares(context('ok')), undefined);
    assert.equal(router.dispatchMiddlewares(context('deny')), 'denied');
    router.use(async () => {
      await tick();
    });
    assert.equal(await router.dispatchMiddlewares(context('ok')), undefined);
    assert.equal(routed, false);
  });
});

describe('Router: route matching', () => {
  function matcher(): {
    router: Router<MessageContext>;
    hits: (route: string | null, act?: string | null) => string[];
  } {
    const router = new Router<MessageContext>();
    const log: string[] = [];
    router.addRoute({ handler: logging(log, 'all') });
    router.addRoute({ route: 'chat', handler: logging(log, 'chat/*') });
    router.addRoute({ route: 'chat', act: 'send', handler: logging(log, 'chat/send') });
    router.addRoute({ act: 'send', handler: logging(log, '*/send') });
    router.addRoute({ route: 'news', act: 'read', handler: logging(log, 'news/read') });
    return {
      router,
      hits: (route, act = null) => {
        log.length = 0;
        router.dispatch(context(route, act));
        return [...log];
      },
    };
  }

  test('no route = every message; route only = any act; route + act = exact; act only = any route', () => {
    const { hits } = matcher();
    assert.deepEqual(hits('chat', 'send'), ['all', 'chat/*', 'chat/send', '*/send']);
    assert.deepEqual(hits('chat', 'edit'), ['all', 'chat/*']);
    assert.deepEqual(hits('chat'), ['all', 'chat/*']);
    assert.deepEqual(hits('mail', 'send'), ['all', '*/send']);
    assert.deepEqual(hits('news', 'read'), ['all', 'news/read']);
    assert.deepEqual(hits('news', 'send'), ['all', '*/send']);
    assert.deepEqual(hits(null, 'send'), ['all', '*/send']);
    assert.deepEqual(hits(null), ['all']);
  });

  test('route names are compared exactly (case, prototype names)', () => {
    const router = new Router<MessageContext>();
    router.addRoute({ route: 'Chat', handler: () => 'upper' });
    router.addRoute({ route: '__proto__', handler: () => 'proto' });
    assert.equal(router.dispatch(context('chat')), NOT_ROUTED);
    assert.equal(router.dispatch(context('Chat')), 'upper');
    assert.equal(router.dispatch(context('__proto__')), 'proto');
    assert.equal(router.dispatch(context('constructor')), NOT_ROUTED);
    assert.equal(router.dispatch(context('toString')), NOT_ROUTED);
  });

  test('the first value other than undefined wins, in registration order', () => {
    const router = new Router<MessageContext>();
    const log: string[] = [];
    router.addRoute({ route: 'r', handler: logging(log, 'first') });
    router.addRoute({ route: 'r', handler: logging(log, 'second', 0) });
    router.addRoute({ route: 'r', handler: logging(log, 'third', 'late') });
    assert.equal(router.dispatch(context('r')), 0, 'falsy values count as replies');
    assert.deepEqual(log, ['first', 'second']);
    const nulls = new Router<MessageContext>();
    nulls.addRoute({ handler: () => null });
    nulls.addRoute({ handler: () => 'never' });
    assert.equal(nulls.dispatch(context('x')), null);
  });

  test('a matched route that returns undefined replies undefined, not NOT_ROUTED', () => {
    const router = new Router<MessageContext>();
    router.addRoute({ route: 'r', handler: () => undefined });
    assert.equal(router.dispatch(context('r')), undefined);
    assert.equal(router.dispatch(context('other')), NOT_ROUTED);
  });

  test('stop() in a handler ends the route chain', () => {
    const router = new Router<MessageContext>();
    const log: string[] = [];
    router.addRoute({
      handler: ({ stop }) => {
        log.push('stopper');
        stop();
      },
    });
    router.addRoute({ handler: logging(log, 'after', 'x') });
    assert.equal(router.dispatch(context('r')), undefined);
    assert.deepEqual(log, ['stopper']);
  });

  test('async handlers: undefined falls through to the next match, a value wins', async () => {
    const router = new Router<MessageContext>();
    const log: string[] = [];
    router.addRoute({
      route: 'r',
      handler: async () => {
        await tick();
        log.push('async-undefined');
        return undefined;
      },
    });
    router.addRoute({ route: 'r', act: 'other', handler: logging(log, 'wrong-act', 'no') });
    router.addRoute({ route: 'r', handler: logging(log, 'sync-undefined') });
    router.addRoute({
      route: 'r',
      handler: async ({ data }) => {
        await tick();
        log.push('async-value');
        return { doubled: (data as number) * 2 };
      },
    });
    router.addRoute({ route: 'r', handler: logging(log, 'never', 'no') });
    assert.deepEqual(await router.dispatch(context('r', null, 21)), { doubled: 42 });
    assert.deepEqual(log, ['async-undefined', 'sync-undefined', 'async-value']);
  });

  test('async handlers that all resolve undefined still count as routed', async () => {
    const router = new Router<MessageContext>();
    router.addRoute({ route: 'r', handler: async () => undefined });
    assert.equal(await router.dispatch(context('r')), undefined);
  });

  test('an async stop() with a value ends the chain', async () => {
    const router = new Router<MessageContext>();
    router.addRoute({
      handler: async ({ stop }) => {
        await tick();
        stop();
        return 'stopped';
      },
    });
    router.addRoute({ handler: () => 'never' });
    assert.equal(await router.dispatch(context('r')), 'stopped');
  });

  test('thenables are awaited', async () => {
    const router = new Router<MessageContext>();
    const thenable = {
      then(resolve: (value: unknown) => void): void {
        resolve('from thenable');
      },
    };
    router.addRoute({ handler: () => thenable });
    assert.equal(await router.dispatch(context('r')), 'from thenable');
  });

  test('a throwing or rejecting handler propagates', async () => {
    const router = new Router<MessageContext>();
    router.addRoute({
      route: 'sync',
      handler: () => {
        throw new Error('sync boom');
      },
    });
    router.addRoute({
      route: 'async',
      handler: async () => {
        throw new Error('async boom');
      },
    });
    assert.throws(() => router.dispatch(context('sync')), /sync boom/);
    await assert.rejects(Promise.resolve(router.dispatch(context('async'))), /async boom/);
  });

  test('NOT_ROUTED when nothing matches, including an empty router', () => {
    const router = new Router<MessageContext>();
    assert.equal(router.dispatch(context('r')), NOT_ROUTED);
    router.addRoute({ route: 'a', act: 'x', handler: () => 1 });
    assert.equal(router.dispatch(context('a', 'y')), NOT_ROUTED);
    assert.equal(router.dispatch(context('a')), NOT_ROUTED);
    assert.equal(router.dispatch(context('b', 'x')), NOT_ROUTED);
  });

  test('routes added after a dispatch are seen (the match cache is invalidated)', () => {
    const router = new Router<MessageContext>();
    assert.equal(router.dispatch(context('late')), NOT_ROUTED);
    router.addRoute({ route: 'late', handler: () => 'now routed' });
    assert.equal(router.dispatch(context('late')), 'now routed');
    router.addRoute({ handler: () => 'catch-all' });
    assert.equal(router.dispatch(context('other')), 'catch-all');
  });
});

describe('Router: dispatchMessage (route and act given by the caller)', () => {
  test('a route added between two messages of one route runs for the second', () => {
    const router = new Router<MessageContext>();
    const log: string[] = [];
    router.addRoute({ route: 'm', handler: logging(log, 'first') });
    assert.equal(router.dispatchMessage(context('m'), 'm', null), undefined);
    router.addRoute({ route: 'm', handler: logging(log, 'second', 'done') });
    assert.equal(router.dispatchMessage(context('m'), 'm', null), 'done');
    router.addRoute({ handler: logging(log, 'all') });
    assert.equal(router.dispatchMessage(context('n'), 'n', null), undefined);
    assert.deepEqual(log, ['first', 'first', 'second', 'all']);
  });

  test('the only route of a name with an act matches that act only', () => {
    const router = new Router<MessageContext>();
    router.addRoute({ route: 'm', act: 'x', handler: () => 'x' });
    assert.equal(router.dispatchMessage(context('m', 'x'), 'm', 'x'), 'x');
    assert.equal(router.dispatchMessage(context('m', 'y'), 'm', 'y'), NOT_ROUTED);
    assert.equal(router.dispatchMessage(context('m', 'x'), 'm', 'x'), 'x');
  });

  test('one route for any act: its value, a promise of it, undefined as routed', async () => {
    const router = new Router<MessageContext>();
    router.addRoute({ route: 'm', handler: ({ data }) => (data === 'none' ? undefined : data) });
    assert.equal(router.dispatchMessage(context('m', null, 1), 'm', null), 1);
    assert.equal(router.dispatchMessage(context('m', 'x', 2), 'm', 'x'), 2);
    assert.equal(router.dispatchMessage(context('m', null, 'none'), 'm', null), undefined);
    const resolved = router.dispatchMessage(context('m', null, Promise.resolve(3)), 'm', null);
    assert.equal(await resolved, 3);
    const empty = router.dispatchMessage(context('m', null, Promise.resolve()), 'm', null);
    assert.equal(await empty, undefined);
  });

  test('a middleware added after messages runs before the next one', () => {
    const router = new Router<MessageContext>();
    const log: string[] = [];
    router.addRoute({ route: 'm', handler: logging(log, 'route') });
    router.dispatchMessage(context('m'), 'm', null);
    router.use(() => void log.push('middleware'));
    router.dispatchMessage(context('m'), 'm', null);
    assert.deepEqual(log, ['route', 'middleware', 'route']);
  });
});

describe('Router: arguments', () => {
  test('use() and addRoute() refuse bad arguments with InvalidArgumentError', () => {
    const router = new Router<MessageContext>();
    const bad: unknown[] = [
      null,
      'handler',
      {},
      { handler: 'no' },
      { route: '', handler: () => 1 },
      { route: 5, handler: () => 1 },
      { route: 'x'.repeat(257), handler: () => 1 },
      { act: '', handler: () => 1 },
      { route: 'r', act: {}, handler: () => 1 },
    ];
    for (const definition of bad) {
      assert.throws(
        () => router.addRoute(definition as Parameters<typeof router.addRoute>[0]),
        InvalidArgumentError,
        JSON.stringify(definition),
      );
    }
    assert.throws(() => router.use('nope' as unknown as () => void), InvalidArgumentError);
    assert.equal(router.dispatch(context('r')), NOT_ROUTED, 'nothing was registered');
  });

  test('noRouteError names the route and act', () => {
    const error = noRouteError('chat', null);
    assert.ok(error instanceof NoRouteError);
    assert.equal(error.code, ErrorCode.NO_ROUTE);
    assert.deepEqual(error.data, { route: 'chat', act: null });
    assert.match(error.message, /chat/);
  });

  test('the context exposes data, raw and the message', () => {
    const ctx = context('r', 'a', { n: 1 });
    assert.deepEqual(ctx.data, { n: 1 });
    assert.equal(ctx.raw, '[2,1,"r","a",{"n":1}]');
    assert.equal(ctx.mes.route, 'r');
    assert.equal(ctx.stopped, false);
  });
});
