/**
 * Facts about the machine and the library versions, recorded with every result.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './children.js';

/** Machine and versions. */
export interface Environment {
  node: string;
  platform: string;
  cpuModel: string;
  cpuCount: number;
  totalMemMb: number;
  versions: Record<string, string>;
  /** `git describe --always --dirty` of the repository. */
  commit: string;
}

const PACKAGES = [
  'ws',
  'socket.io',
  'socket.io-client',
  '@socket.io/redis-adapter',
  'redis',
  'rpc-websockets',
  'tsx',
];

function versionOf(name: string): string {
  try {
    const text = readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8');
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && 'version' in parsed) {
      return String(parsed.version);
    }
  } catch {
    // Reported as unknown.
  }
  return 'unknown';
}

function gitDescribe(): string {
  const result = spawnSync('git', ['describe', '--always', '--dirty'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 5000,
  });
  return result.status === 0 ? result.stdout.trim() : 'unknown';
}

/** Describes this machine. */
export function describeEnvironment(): Environment {
  const versions: Record<string, string> = {};
  try {
    const text = readFileSync(join(REPO_ROOT, 'package.json'), 'utf8');
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && 'version' in parsed) {
      versions.wsmesh = String(parsed.version);
    }
  } catch {
    versions.wsmesh = 'unknown';
  }
  for (const name of PACKAGES) versions[name] = versionOf(name);
  return {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cpuCount: cpus().length,
    totalMemMb: Math.round(totalmem() / 1024 / 1024),
    versions,
    commit: gitDescribe(),
  };
}

/** 1-minute load average, rounded. */
export function loadAverage(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100;
}
