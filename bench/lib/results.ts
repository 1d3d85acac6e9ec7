/**
 * Writes a run's results as JSON under bench/results/.
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Summary, TrialRecord } from './aggregate.js';
import { REPO_ROOT } from './children.js';
import type { CliOptions } from './cli.js';
import type { Environment } from './environment.js';

/** Everything about one scenario in a run. */
export interface ScenarioResult {
  title: string;
  config: object;
  trials: TrialRecord[];
  summary: Summary;
  /** 1-minute load average before and after the scenario. */
  loadBefore: number;
  loadAfter: number;
}

/** The JSON document of one run. */
export interface RunResult {
  startedAt: string;
  finishedAt: string;
  command: string;
  options: CliOptions;
  environment: Environment;
  scenarios: Record<string, ScenarioResult>;
}

/** Writes `result`; returns the file path. */
export function writeResults(result: RunResult): string {
  const directory = join(REPO_ROOT, 'bench', 'results');
  mkdirSync(directory, { recursive: true });
  const stamp = result.startedAt.replace(/[:.]/g, '-');
  const path = join(directory, `${stamp}.json`);
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}
