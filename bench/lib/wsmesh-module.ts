/**
 * Loads wsmesh in a child process: the tsc build named by the orchestrator, or the sources
 * through tsx when none was named (`--from-src`).
 * @module
 */
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as WsMesh from '../../src/index.js';
import type * as WsMeshNats from '../../src/nats.js';
import { WSMESH_ENTRY_ENV } from './wsmesh-build.js';

/** The wsmesh module. */
export type WsMeshModule = typeof WsMesh;

/** Imports wsmesh. */
export async function loadWsMesh(): Promise<WsMeshModule> {
  const entry = process.env[WSMESH_ENTRY_ENV];
  if (entry === undefined || entry === '') return import('../../src/index.js');
  const loaded: unknown = await import(pathToFileURL(entry).href);
  return loaded as WsMeshModule;
}

/** The `wsmesh/nats` module. */
export type WsMeshNatsModule = typeof WsMeshNats;

/** Imports `wsmesh/nats` (from the same build as {@link loadWsMesh}). */
export async function loadWsMeshNats(): Promise<WsMeshNatsModule> {
  const entry = process.env[WSMESH_ENTRY_ENV];
  if (entry === undefined || entry === '') return import('../../src/nats.js');
  const loaded: unknown = await import(pathToFileURL(join(dirname(entry), 'nats.js')).href);
  return loaded as WsMeshNatsModule;
}
