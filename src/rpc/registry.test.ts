import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode } from '../errors.js';
import { DEFAULT_NAMESPACE, FunctionRegistry } from './registry.js';
import type { StandardSchemaV1 } from './standard-schema.js';

function add(a: number, b: number): number {
  return a + b;
}

function* count(limit: number): Generator<number> {
  for (let index = 0; index < limit; index++) yield index;
}

/** Records every namespace reported by onChange. */
function watch(registry: FunctionRegistry): string[] {
  const changes: string[] = [];
  registry.onChange = (namespace) => changes.push(namespace);
  return changes;
}

/** A Standard Schema that accepts a list of numbers and doubles them. */
const doubled: StandardSchemaV1 = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate: (value) =>
      Array.isArray(value) && value.every((item) => typeof item === 'number')
        ? { value: value.map((item: number) => item * 2) }
        : { issues: [{ message: 'numbers only', path: [0] }] },
  },
};

describe('FunctionRegistry', () => {
  test('registers under the function name in DEFAULT and describes it', () => {
    const registry = new FunctionRegistry();
    assert.equal(registry.register(add), add);
    registry.register(count, { namespace: 'streams' });
    const found = registry.resolve(DEFAULT_NAMESPACE, 'add');
    assert.equal(found?.fn, add);
    assert.equal(found?.namespace, DEFAULT_NAMESPACE);
    assert.deepEqual(found?.info, {
      name: 'add',
      params: ['a', 'b'],
      arity: 2,
      maxArgs: 2,
      kind: 'function',
    });
    assert.equal(registry.resolve('streams', 'count')?.info.kind, 'generator');
    assert.equal(registry.resolve(DEFAULT_NAMESPACE, 'count'), undefined);
    assert.deepEqual(registry.namespaceNames().sort(), [DEFAULT_NAMESPACE, 'streams']);
  });

  test('the name option shares a function under another name', () => {
    const registry = new FunctionRegistry();
    registry.register(() => 1, { name: 'one', namespace: 'math' });
    assert.deepEqual(
      registry.list('math').map((entry) => entry.name),
      ['one'],
    );
  });

  test('rejects bad arguments and duplicates with stable codes', () => {
    const registry = new FunctionRegistry();
    const bad = { code: ErrorCode.INVALID_ARGUMENT };
    assert.throws(() => registry.register(42 as never), bad);
    assert.throws(() => registry.register(add, { namespace: '' }), bad);
    assert.throws(() => registry.register(add, { name: '' }), bad);
    assert.throws(() => registry.register(add, { params: {} as StandardSchemaV1 }), bad);
    registry.register(add);
    assert.throws(() => registry.register(add), { code: ErrorCode.DUPLICATE_NAME });
    registry.register(add, { namespace: 'other' });
  });

  test('a group registers in every member, and a duplicate in one member registers nowhere', () => {
    const registry = new FunctionRegistry();
    registry.createGroup('both', ['a', 'b']);
    registry.register(add, { namespace: 'both' });
    assert.equal(registry.resolve('a', 'add')?.namespace, 'a');
    assert.equal(registry.resolve('b', 'add')?.namespace, 'b');
    registry.register(count, { namespace: 'b' });
    assert.throws(() => registry.register(count, { namespace: 'both' }), {
      code: ErrorCode.DUPLICATE_NAME,
    });
    assert.equal(registry.resolve('a', 'count'), undefined, 'not half registered');
  });

  test('resolve and list on a group: first member that has the name wins', () => {
    const registry = new FunctionRegistry();
    const first = (): string => 'first';
    const second = (): string => 'second';
    registry.register(first, { namespace: 'a', name: 'f' });
    registry.register(second, { namespace: 'b', name: 'f' });
    registry.register(add, { namespace: 'b' });
    registry.createGroup('ab', ['a', 'b']);
    assert.equal(registry.resolve('ab', 'f')?.fn, first);
    assert.equal(registry.resolve('ab', 'add')?.fn, add);
    assert.equal(registry.resolve('ab', 'missing'), undefined);
    assert.equal(registry.resolve('nowhere', 'f'), undefined);
    const listed = registry.list('ab');
    assert.deepEqual(listed.map((entry) => entry.name).sort(), ['add', 'f']);
    assert.equal(listed.find((entry) => entry.name === 'f')?.fn, first);
    assert.equal(registry.isGroup('ab'), true);
    assert.equal(registry.isGroup('a'), false);
    assert.deepEqual(registry.members('ab'), ['a', 'b']);
    assert.deepEqual(registry.members('a'), ['a']);
    assert.deepEqual(registry.groupsOf('b'), ['ab']);
    assert.deepEqual(registry.groupNames(), ['ab']);
  });

  test('createGroup validates its arguments and drops repeated members', () => {
    const registry = new FunctionRegistry();
    const bad = { code: ErrorCode.INVALID_ARGUMENT };
    assert.throws(() => registry.createGroup('', ['a']), bad);
    assert.throws(() => registry.createGroup('g', []), bad);
    assert.throws(() => registry.createGroup('g', ['a', '']), bad);
    registry.register(add, { namespace: 'taken' });
    assert.throws(() => registry.createGroup('taken', ['a']), bad);
    registry.createGroup('g', ['a', 'b', 'a']);
    assert.deepEqual(registry.members('g'), ['a', 'b']);
  });

  test('unregister removes from each member and reports whether anything was removed', () => {
    const registry = new FunctionRegistry();
    registry.createGroup('both', ['a', 'b']);
    registry.register(add, { namespace: 'both' });
    const changes = watch(registry);
    assert.equal(registry.unregister('both', 'add'), true);
    assert.equal(registry.resolve('a', 'add'), undefined);
    assert.equal(registry.resolve('b', 'add'), undefined);
    assert.deepEqual(changes, ['a', 'both', 'b', 'both']);
    assert.equal(registry.unregister('both', 'add'), false);
    assert.equal(changes.length, 4, 'no change reported when nothing was removed');
  });

  test('onChange reports the namespace and the groups that contain it', () => {
    const registry = new FunctionRegistry();
    registry.createGroup('g1', ['a']);
    registry.createGroup('g2', ['a', 'b']);
    const changes = watch(registry);
    registry.register(add, { namespace: 'a' });
    assert.deepEqual(changes, ['a', 'g1', 'g2']);
  });

  test('zone joins namespaces through groups transitively; zoneKey is its smallest member', () => {
    const registry = new FunctionRegistry();
    registry.createGroup('g1', ['c', 'b']);
    assert.deepEqual([...registry.zone('c')].sort(), ['b', 'c']);
    assert.equal(registry.zoneKey('c'), 'b');
    registry.createGroup('g2', ['b', 'a']);
    registry.createGroup('g3', ['x']);
    assert.deepEqual([...registry.zone('c')].sort(), ['a', 'b', 'c']);
    assert.deepEqual([...registry.zone('g1')].sort(), ['a', 'b', 'c']);
    assert.equal(registry.zoneKey('c'), 'a', 'cache cleared when a group is created');
    assert.equal(registry.zoneKey('x'), 'x');
    assert.equal(registry.zoneKey('alone'), 'alone');
  });

  test('prepareArgs passes arguments through without a schema and validates with one', async () => {
    const registry = new FunctionRegistry();
    registry.register(add);
    registry.register(add, { namespace: 'checked', params: doubled });
    const plain = registry.resolve(DEFAULT_NAMESPACE, 'add');
    const args = [1, 2];
    assert.equal(plain?.prepareArgs(args), args, 'same array, synchronously');
    const checked = registry.resolve('checked', 'add');
    assert.deepEqual(await checked?.prepareArgs([1, 2]), [2, 4]);
    await assert.rejects(Promise.resolve(checked?.prepareArgs(['x'])), {
      code: ErrorCode.VALIDATION,
    });
  });
});
