import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FunctionInfo, LinkRoute } from '../protocol/frames.js';
import { sameAdvert, sameInfo, sameRoutes, type LearnedRoute } from './server-link.js';

function info(name: string, changes: Partial<FunctionInfo> = {}): FunctionInfo {
  return { name, params: ['a', 'b'], arity: 2, maxArgs: 2, kind: 'function', ...changes };
}

function table(entries: [string, FunctionInfo, string[]][]): Map<string, LearnedRoute> {
  return new Map(entries.map(([name, description, path]) => [name, { info: description, path }]));
}

describe('route comparison (server links)', () => {
  test('sameInfo compares every field of a description', () => {
    assert.ok(sameInfo(info('f'), info('f')));
    assert.ok(!sameInfo(info('f'), info('g')));
    assert.ok(!sameInfo(info('f'), info('f', { kind: 'generator' })));
    assert.ok(!sameInfo(info('f'), info('f', { arity: 1 })));
    assert.ok(!sameInfo(info('f'), info('f', { maxArgs: null })));
    assert.ok(!sameInfo(info('f'), info('f', { params: ['a', 'c'] })));
    assert.ok(!sameInfo(info('f'), info('f', { params: ['a'] })));
  });

  test('sameRoutes: same names, descriptions and paths, in any order', () => {
    const one = table([
      ['f', info('f'), ['B', 'A']],
      ['g', info('g'), ['B']],
    ]);
    const reordered = table([
      ['g', info('g'), ['B']],
      ['f', info('f'), ['B', 'A']],
    ]);
    assert.ok(sameRoutes(one, reordered));
    assert.ok(sameRoutes(undefined, new Map()));
    assert.ok(!sameRoutes(undefined, one));
    assert.ok(!sameRoutes(one, table([['f', info('f'), ['B', 'A']]])));
    assert.ok(
      !sameRoutes(
        one,
        table([
          ['f', info('f'), ['B', 'C', 'A']],
          ['g', info('g'), ['B']],
        ]),
      ),
      'a longer path',
    );
    assert.ok(
      !sameRoutes(
        one,
        table([
          ['f', info('f', { arity: 1 }), ['B', 'A']],
          ['g', info('g'), ['B']],
        ]),
      ),
      'another description',
    );
  });

  test('sameAdvert: the same routes in the same order; nothing sent differs from empty', () => {
    const routes: LinkRoute[] = [
      ['f', info('f'), ['C', 'B']],
      ['g', info('g'), ['C']],
    ];
    const copy: LinkRoute[] = routes.map(([name, description, path]) => [
      name,
      { ...description, params: [...description.params] },
      [...path],
    ]);
    assert.ok(sameAdvert(routes, copy));
    assert.ok(sameAdvert([], []));
    assert.ok(!sameAdvert(undefined, []), 'a first (empty) advert is still sent');
    assert.ok(!sameAdvert(routes, copy.slice(1)));
    assert.ok(!sameAdvert(routes, [routes[0] as LinkRoute, ['g', info('g'), ['C', 'X']]]));
    assert.ok(!sameAdvert(routes, [routes[0] as LinkRoute, ['h', info('h'), ['C']]]));
  });
});
