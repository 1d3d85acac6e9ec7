/**
 * Prints the functions with the most self time in a V8 CPU profile (as written by
 * `npm run bench -- --cpu-prof`): `npx tsx bench/profile-top.ts <file.cpuprofile> [count]`.
 * @module
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './lib/children.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function isProfile(value: unknown): value is Profile {
  if (typeof value !== 'object' || value === null) return false;
  const { nodes, samples, timeDeltas } = value as Record<string, unknown>;
  return Array.isArray(nodes) && Array.isArray(samples) && Array.isArray(timeDeltas);
}

function where(url: string, line: number): string {
  if (url === '') return '';
  const path = url.startsWith('file://') ? relative(REPO_ROOT, fileURLToPath(url)) : url;
  return `${path}:${line + 1}`;
}

function main(): void {
  const [file, countArg] = process.argv.slice(2);
  if (file === undefined) {
    console.error('Usage: npx tsx bench/profile-top.ts <file.cpuprofile> [count]');
    process.exit(2);
  }
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!isProfile(parsed)) throw new Error(`${file} is not a V8 CPU profile`);
  const labels = new Map<number, string>();
  for (const node of parsed.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    labels.set(
      node.id,
      `${functionName === '' ? '(anonymous)' : functionName} ${where(url, lineNumber)}`,
    );
  }
  const selfTime = new Map<string, number>();
  let total = 0;
  parsed.samples.forEach((id, index) => {
    const delta = parsed.timeDeltas[index] ?? 0;
    const label = labels.get(id) ?? '(unknown)';
    selfTime.set(label, (selfTime.get(label) ?? 0) + delta);
    total += delta;
  });
  const count = Number(countArg ?? 25);
  const rows = [...selfTime.entries()].sort((a, b) => b[1] - a[1]).slice(0, count);
  console.log(`total ${(total / 1000).toFixed(0)} ms sampled`);
  for (const [label, micros] of rows) {
    const share = total === 0 ? 0 : (micros / total) * 100;
    console.log(
      `${share.toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(1).padStart(8)} ms  ${label}`,
    );
  }
}

main();
