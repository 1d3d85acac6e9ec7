/**
 * Describing a JavaScript function for RPC: its kind, parameter names and arity, read from
 * the function itself so users share plain functions without annotations.
 * @module
 */
import type { FunctionInfo } from '../protocol/frames.js';

const GeneratorFunction = Object.getPrototypeOf(function* () {}).constructor as unknown;
const AsyncGeneratorFunction = Object.getPrototypeOf(async function* () {}).constructor as unknown;

/** Any function that can be shared. */
export type AnyFunction = (...args: never[]) => unknown;

/** True for `function*` and `async function*`. */
export function isGeneratorFunction(fn: AnyFunction): boolean {
  const constructor = Object.getPrototypeOf(fn)?.constructor as unknown;
  return constructor === GeneratorFunction || constructor === AsyncGeneratorFunction;
}

/** Splits a parameter list at top-level commas (defaults may contain commas). */
function splitParams(source: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = '';
  let current = '';
  for (let index = 0; index < source.length; index++) {
    const char = source[index] as string;
    if (quote !== '') {
      current += char;
      if (char === '\\') {
        current += source[index + 1] ?? '';
        index++;
      } else if (char === quote) quote = '';
      continue;
    }
    if (char === '"' || char === "'" || char === '`') quote = char;
    else if ('([{'.includes(char)) depth++;
    else if (')]}'.includes(char)) depth--;
    else if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
      continue;
    }
    current += char;
  }
  if (current.trim() !== '') parts.push(current);
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}

/** The parameter list source of a function, or undefined when it cannot be found. */
function paramSource(fn: AnyFunction): string | undefined {
  const source = Function.prototype.toString.call(fn).replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
  const open = source.indexOf('(');
  const arrow = source.indexOf('=>');
  if (arrow !== -1 && (open === -1 || arrow < open)) {
    // `x => ...` or `async x => ...`
    return source
      .slice(0, arrow)
      .replace(/^async\s+/, '')
      .trim();
  }
  if (open === -1) return undefined;
  let depth = 0;
  for (let index = open; index < source.length; index++) {
    const char = source[index];
    if (char === '(') depth++;
    else if (char === ')') {
      depth--;
      if (depth === 0) return source.slice(open + 1, index);
    }
  }
  return undefined;
}

/** Describes `fn` under `name`. */
export function describeFunction(name: string, fn: AnyFunction): FunctionInfo {
  const source = paramSource(fn);
  const raw = source === undefined ? [] : splitParams(source);
  const params = raw.map((param) => {
    const rest = param.startsWith('...');
    const bare = (rest ? param.slice(3) : param).split('=')[0]?.trim() ?? '';
    return rest ? `...${bare}` : bare;
  });
  const hasRest = params.some((param) => param.startsWith('...'));
  return {
    name,
    params,
    arity: fn.length,
    maxArgs: hasRest || source === undefined ? null : params.length,
    kind: isGeneratorFunction(fn) ? 'generator' : 'function',
  };
}
