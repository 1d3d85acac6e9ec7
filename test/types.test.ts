/**
 * The published types as a user's compiler sees them (issue 18, point 4). The declarations
 * are built into a scratch `node_modules/wsmesh` next to wsmesh's runtime dependencies and
 * `@types/node`, but not `@types/ws`; consumer projects (test/fixtures/types) are compiled
 * against them with `skipLibCheck` off, with and without `exactOptionalPropertyTypes`, by
 * TypeScript 5 (always) and TypeScript 7 (`tsgo`, from `@typescript/native-preview`, when
 * installed; or the binary named by `WSMESH_TSGO`). The fixtures hold `@ts-expect-error` lines
 * that fail the compile if the types get looser. Then, with the compiler API:
 * - every type the public API mentions can be imported by name from its entry;
 * - every property of the option interfaces has an `@default` tag;
 * - internals (`@internal`) are not in the declarations.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixtures = join(root, 'test/fixtures/types');
const tsc = join(root, 'node_modules/typescript/bin/tsc');

/** TypeScript 7's compiler, when available. */
function findTsgo(): string | undefined {
  const fromEnv = process.env.WSMESH_TSGO;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const local = join(root, 'node_modules/.bin/tsgo');
  return existsSync(local) ? local : undefined;
}

let scratch = '';

/** Runs a compiler on a project; returns its output, or fails the test with it. */
function compile(compiler: string, project: string): void {
  const command = compiler.endsWith('.js') || compiler === tsc ? process.execPath : compiler;
  const args = command === process.execPath ? [compiler, '-p', project] : ['-p', project];
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 600_000 });
  const output = `${result.stdout}${result.stderr}`;
  assert.equal(result.status, 0, `${compiler} -p ${project} failed:\n${output}`);
}

/** Writes a consumer project compiling `files` (from the fixtures) with `options`. */
function project(name: string, files: string[], options: Record<string, unknown>): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  for (const file of files) cpSync(join(fixtures, file), join(dir, file));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  const compilerOptions = {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    ...options,
  };
  const path = join(dir, 'tsconfig.json');
  writeFileSync(path, JSON.stringify({ compilerOptions, files }, null, 2));
  return path;
}

before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'wsmesh-types-'));
  const pkg = join(scratch, 'node_modules/wsmesh');
  const built = spawnSync(
    process.execPath,
    [
      tsc,
      '-p',
      join(root, 'tsconfig.build.json'),
      '--emitDeclarationOnly',
      '--declarationMap',
      'false',
      '--outDir',
      join(pkg, 'dist'),
    ],
    { encoding: 'utf8', timeout: 600_000 },
  );
  assert.equal(built.status, 0, `declarations did not build:\n${built.stdout}${built.stderr}`);
  cpSync(join(root, 'package.json'), join(pkg, 'package.json'));
  // What an install brings: wsmesh's dependencies (ws without types) and, chosen by the
  // user, @types/node. Not @types/ws.
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  for (const name of [...Object.keys(manifest.dependencies), '@types/node']) {
    const target = join(scratch, 'node_modules', name);
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(join(root, 'node_modules', name), target, 'dir');
  }
});

after(() => {
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

const nodeFiles = ['typed-messages.ts', 'public-api.ts'];
const browserFiles = ['browser.ts'];

/** The consumer projects: Node (with @types/node) and browser (DOM only), both strictness modes. */
function projects(): string[] {
  const paths: string[] = [];
  for (const exact of [false, true]) {
    const suffix = exact ? 'exact' : 'loose';
    paths.push(
      project(`node-${suffix}`, nodeFiles, {
        types: ['node'],
        lib: ['ES2022'],
        exactOptionalPropertyTypes: exact,
      }),
      project(`browser-${suffix}`, browserFiles, {
        types: [],
        lib: ['ES2022', 'DOM'],
        exactOptionalPropertyTypes: exact,
      }),
    );
  }
  return paths;
}

describe('the published declarations compile in consumer projects', () => {
  test('TypeScript 5 (tsc), with and without exactOptionalPropertyTypes, no @types/ws', () => {
    for (const path of projects()) compile(tsc, path);
  });

  test('TypeScript 7 (tsgo), with and without exactOptionalPropertyTypes', (t) => {
    const tsgo = findTsgo();
    if (tsgo === undefined) {
      t.skip(
        'tsgo not installed: add the devDependency @typescript/native-preview (or set WSMESH_TSGO)',
      );
      return;
    }
    for (const path of projects()) compile(tsgo, path);
  });
});

describe('the public surface', () => {
  /** A program over the Node consumer, with its checker. */
  function consumer(): { program: ts.Program; checker: ts.TypeChecker; entry: ts.Symbol } {
    const path = project('api', nodeFiles, { types: ['node'], lib: ['ES2022'] });
    const config = ts.getParsedCommandLineOfConfigFile(
      path,
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: () => undefined,
      },
    );
    assert.ok(config !== undefined);
    const program = ts.createProgram(config.fileNames, config.options);
    const checker = program.getTypeChecker();
    const index = program
      .getSourceFiles()
      .find((file) => file.fileName.endsWith('/node_modules/wsmesh/dist/index.d.ts'));
    assert.ok(index !== undefined, 'wsmesh/dist/index.d.ts is in the program');
    const entry = checker.getSymbolAtLocation(index);
    assert.ok(entry !== undefined);
    return { program, checker, entry };
  }

  test('no declaration reachable from the entries needs ws types', () => {
    const { program } = consumer();
    const files = program.getSourceFiles().map((file) => file.fileName);
    assert.ok(!files.some((file) => file.includes('/@types/ws/')), 'no @types/ws');
    assert.ok(!files.some((file) => /\/node_modules\/ws\//.test(file)), 'no ws declarations');
    const importingWs = program
      .getSourceFiles()
      .filter((file) => file.fileName.includes('/node_modules/wsmesh/'))
      .filter((file) => /from ['"]ws['"]|import\(['"]ws['"]\)/.test(file.text))
      .map((file) => file.fileName.replace(/^.*\/node_modules\//, ''));
    assert.deepEqual(importingWs, [], 'declarations in the program that import ws');
  });

  test('every type the public API mentions can be imported by name', () => {
    const { checker, entry } = consumer();
    const exported = new Set(checker.getExportsOfModule(entry).map((symbol) => symbol.name));
    const missing = new Map<string, string>();
    // Local helper aliases inside a declaration, not types a user writes.
    const helpers = new Set(['AnyFn']);
    const seen = new Set<ts.Type>();
    const fromWsmesh = (symbol: ts.Symbol | undefined): boolean =>
      symbol?.declarations?.some((declaration) =>
        declaration.getSourceFile().fileName.includes('/node_modules/wsmesh/dist/'),
      ) === true;
    const isPublic = (symbol: ts.Symbol): boolean =>
      !(symbol.declarations ?? []).some(
        (declaration) =>
          (ts.getCombinedModifierFlags(declaration) &
            (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !==
          0,
      );
    const visit = (type: ts.Type, path: string): void => {
      if (seen.has(type)) return;
      seen.add(type);
      const named = type.aliasSymbol ?? type.getSymbol();
      if (
        named !== undefined &&
        fromWsmesh(named) &&
        !named.name.startsWith('__') &&
        (named.flags &
          (ts.SymbolFlags.TypeParameter | ts.SymbolFlags.Method | ts.SymbolFlags.Property)) ===
          0 &&
        !exported.has(named.name) &&
        !helpers.has(named.name)
      ) {
        missing.set(named.name, path);
      }
      for (const argument of type.aliasTypeArguments ?? []) visit(argument, path);
      if (type.isUnionOrIntersection()) for (const part of type.types) visit(part, path);
      if ((type.flags & ts.TypeFlags.Object) === 0) return;
      if ((type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference) {
        for (const argument of checker.getTypeArguments(type as ts.TypeReference)) {
          visit(argument, path);
        }
      }
      // Only wsmesh's own object types are walked into (not Node's or the language's).
      if (named !== undefined && !fromWsmesh(named) && !named.name.startsWith('__')) return;
      for (const property of checker.getPropertiesOfType(type)) {
        if (!isPublic(property) || property.name.startsWith('#')) continue;
        const declaration = property.valueDeclaration ?? property.declarations?.[0];
        if (declaration === undefined) continue;
        visit(checker.getTypeOfSymbolAtLocation(property, declaration), `${path}.${property.name}`);
      }
      for (const kind of [ts.SignatureKind.Call, ts.SignatureKind.Construct]) {
        for (const signature of checker.getSignaturesOfType(type, kind)) {
          for (const parameter of signature.parameters) {
            const declaration = parameter.valueDeclaration;
            if (declaration !== undefined) {
              visit(
                checker.getTypeOfSymbolAtLocation(parameter, declaration),
                `${path}(${parameter.name})`,
              );
            }
          }
          visit(signature.getReturnType(), `${path}()`);
        }
      }
    };
    for (const symbol of checker.getExportsOfModule(entry)) {
      const target =
        (symbol.flags & ts.SymbolFlags.Alias) !== 0 ? checker.getAliasedSymbol(symbol) : symbol;
      const declaration = target.declarations?.[0];
      if (declaration === undefined) continue;
      if ((target.flags & (ts.SymbolFlags.Value | ts.SymbolFlags.Class)) !== 0) {
        visit(checker.getTypeOfSymbolAtLocation(target, declaration), symbol.name);
      }
      if ((target.flags & ts.SymbolFlags.Type) !== 0) {
        visit(checker.getDeclaredTypeOfSymbol(target), symbol.name);
      }
    }
    assert.deepEqual(
      [...missing].map(([name, where]) => `${name} (at ${where})`),
      [],
      'types the API mentions but the entry does not export',
    );
  });

  test('every option has an @default tag', () => {
    const { checker, entry } = consumer();
    const exports = new Map(
      checker.getExportsOfModule(entry).map((symbol) => [symbol.name, symbol]),
    );
    const missing: string[] = [];
    for (const name of [
      'ServerOptions',
      'ClientOptions',
      'RpcProxyOptions',
      'StartOptions',
      'SendMessageOptions',
      'GroupMessageOptions',
      'GroupsSendOptions',
      'TlsOptions',
    ]) {
      const symbol = exports.get(name);
      assert.ok(symbol !== undefined, `${name} is exported`);
      const target =
        (symbol.flags & ts.SymbolFlags.Alias) !== 0 ? checker.getAliasedSymbol(symbol) : symbol;
      for (const property of checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(target))) {
        if ((property.flags & ts.SymbolFlags.Optional) === 0) continue;
        if (!property.getJsDocTags(checker).some((tag) => tag.name === 'default')) {
          missing.push(`${name}.${property.name}`);
        }
      }
    }
    assert.deepEqual(missing, []);
  });
});
