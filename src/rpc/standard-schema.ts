/**
 * The Standard Schema interface (standardschema.dev), version 1: zod, valibot, arktype and
 * others implement it, so `params` accepts any of them without an adapter.
 * @module
 */
import { ValidationError } from '../errors.js';

/** One validation problem. */
export interface StandardSchemaIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/** Result of `validate`. */
export type StandardSchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardSchemaIssue> };

/** A schema implementing Standard Schema v1. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (
      value: unknown,
    ) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** True for an object implementing Standard Schema v1. */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if (typeof value !== 'object' && typeof value !== 'function') return false;
  if (value === null) return false;
  const standard = (value as { '~standard'?: { version?: unknown; validate?: unknown } })[
    '~standard'
  ];
  return (
    typeof standard === 'object' &&
    standard !== null &&
    standard.version === 1 &&
    typeof standard.validate === 'function'
  );
}

function describeIssues(
  issues: ReadonlyArray<StandardSchemaIssue>,
): { message: string; path: string[] }[] {
  return issues.map((issue) => ({
    message: issue.message,
    path: (issue.path ?? []).map((part) => String(typeof part === 'object' ? part.key : part)),
  }));
}

/**
 * Validates the argument list with `schema`; resolves with the (possibly transformed)
 * arguments or rejects with {@link ValidationError} whose `data.issues` lists the problems.
 */
export async function validateArgs(schema: StandardSchemaV1, args: unknown[]): Promise<unknown[]> {
  const result = await schema['~standard'].validate(args);
  if (result.issues !== undefined) {
    const issues = describeIssues(result.issues);
    throw new ValidationError(
      `Invalid arguments: ${issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ` : '') + issue.message).join('; ')}`,
      { issues },
    );
  }
  return Array.isArray(result.value) ? result.value : args;
}
