/**
 * BENCHMARKS.md and bench/results/headline.svg from a run: the machine, versions and command,
 * every table as printed, and a bar chart of each contender's headline figure relative to raw
 * `ws`, so readers can look rather than read.
 * @module
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { contenderLabel, type ContenderName } from './contenders.js';
import { REPO_ROOT } from './children.js';
import type { RunResult } from './results.js';

/** Figures shown in the plot: scenario, metric key, label, and whether higher is better. */
const HEADLINES: [string, string, string][] = [
  ['s1', 'pipe.callsPerSec', 'S1 calls/s, 100 in flight'],
  ['s1', 'pipe.serverCpuUs', 'S1 server CPU per call (lower is better)'],
  ['s2', 'deliveriesPerSec', 'S2 deliveries/s, 500 subscribers'],
  ['s2', 'serverCpuUs', 'S2 server CPU per delivery (lower is better)'],
  ['s3', 'deliveriesPerSec', 'S3 deliveries/s, 2 servers (vs raw ws relay)'],
  ['s3', 'serverCpuUs', 'S3 server CPU per delivery, both servers (lower is better)'],
  ['s3x4', 'deliveriesPerSec', 'S3 deliveries/s, 4 servers (vs raw ws relay)'],
  ['s3x4', 'serverCpuUs', 'S3 server CPU per delivery, all 4 servers (lower is better)'],
  ['s4', 'rssKbPerConn', 'S4 RSS per idle connection (lower is better)'],
];

function plot(result: RunResult): string | undefined {
  const rows: { label: string; bars: { contender: ContenderName; ratio: number }[] }[] = [];
  for (const [scenario, key, label] of HEADLINES) {
    const summary = result.scenarios[scenario]?.summary;
    const base = summary?.ws?.[key]?.median;
    if (summary === undefined || base === undefined || base === 0) continue;
    const bars = result.options.contenders.flatMap((contender) => {
      const median = summary[contender]?.[key]?.median;
      return median === undefined ? [] : [{ contender, ratio: median / base }];
    });
    rows.push({ label, bars });
  }
  if (rows.length === 0) return undefined;
  const colors: Record<string, string> = {
    ws: '#7f7f7f',
    'ws-batched': '#4d4d4d',
    nats: '#9467bd',
    'nats-ws': '#c5b0d5',
    'wsmesh-nats': '#aec7e8',
    wsmesh: '#1f77b4',
    'wsmesh-rpc': '#17becf',
    'socket.io': '#d62728',
    'rpc-websockets': '#2ca02c',
  };
  const barHeight = 14;
  const left = 290;
  const scale = 180;
  let y = 30;
  const parts: string[] = [];
  for (const row of rows) {
    parts.push(`<text x="10" y="${y + 10}" font-size="12" font-weight="bold">${row.label}</text>`);
    y += 16;
    for (const bar of row.bars) {
      const width = Math.max(1, Math.min(3, bar.ratio) * scale);
      parts.push(
        `<text x="20" y="${y + 11}" font-size="11">${contenderLabel(bar.contender)}</text>`,
        `<rect x="${left}" y="${y}" width="${width.toFixed(1)}" height="${barHeight}" fill="${colors[bar.contender] ?? '#000'}"/>`,
        `<text x="${(left + width + 4).toFixed(1)}" y="${y + 11}" font-size="11">${bar.ratio.toFixed(2)}x</text>`,
      );
      y += barHeight + 4;
    }
    y += 10;
  }
  parts.push(
    `<line x1="${left + scale}" y1="20" x2="${left + scale}" y2="${y}" stroke="#999" stroke-dasharray="3,3"/>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${left + 3 * scale + 60}" height="${y + 10}" font-family="sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="16" font-size="13">Relative to raw ws (dashed line = 1.00x), medians of ${result.options.rounds} rounds</text>
${parts.join('\n')}
</svg>
`;
}

const CURVES_START = '<!-- curves:start (npm run bench -- --curves) -->';
const CURVES_END = '<!-- curves:end -->';
const BENCHMARKS = join(REPO_ROOT, 'BENCHMARKS.md');

/** The cost curves' section of BENCHMARKS.md as it is now (markers included), or ''. */
function currentCurves(): string {
  if (!existsSync(BENCHMARKS)) return '';
  const text = readFileSync(BENCHMARKS, 'utf8');
  const start = text.indexOf(CURVES_START);
  const end = text.indexOf(CURVES_END);
  return start >= 0 && end > start ? text.slice(start, end + CURVES_END.length) : '';
}

/**
 * Replaces the cost curves' section of BENCHMARKS.md (appends it when there is none); the
 * scenario tables around it stay. Returns the path.
 */
export function writeCurvesSection(markdown: string): string {
  const section = `${CURVES_START}

## Cost curves

${markdown.trim()}

${CURVES_END}`;
  const text = existsSync(BENCHMARKS) ? readFileSync(BENCHMARKS, 'utf8') : '# Benchmarks\n';
  const old = currentCurves();
  const next =
    old === ''
      ? `${text.trimEnd()}

${section}
`
      : text.replace(old, () => section);
  writeFileSync(BENCHMARKS, next);
  return BENCHMARKS;
}

/** Writes BENCHMARKS.md (and the plot) at the repository root, keeping the cost curves. Returns the path. */
export function writeReport(result: RunResult, tables: string[]): string {
  const { environment: env } = result;
  const svg = plot(result);
  if (svg !== undefined) writeFileSync(join(REPO_ROOT, 'bench', 'results', 'headline.svg'), svg);
  const lines = [
    '# Benchmarks',
    '',
    'Generated by `npm run bench` from a real run; do not edit by hand. Ratios compare medians',
    'within this one run, which is what matters on a shared machine: absolute figures move with',
    'the load of the machine, ratios much less.',
    '',
    `- Run: ${result.startedAt} to ${result.finishedAt}, \`${result.command}\``,
    `- Machine: ${env.cpuCount} x ${env.cpuModel}, ${env.totalMemMb} MiB, ${env.platform}, Node ${env.node}`,
    `- Versions: ${Object.entries(env.versions)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}`,
    `- Load average before each scenario: ${Object.values(result.scenarios)
      .map((scenario) => `${scenario.title}: ${scenario.loadBefore}`)
      .join('; ')}`,
    '',
    svg === undefined ? '' : '![headline figures](bench/results/headline.svg)\n',
    'How it works, and what each contender does: [bench/README.md](bench/README.md).',
    '',
    ...tables,
  ];
  const curves = currentCurves();
  const text = `${lines.join('\n').replace(/\n{3,}/g, '\n\n')}\n`;
  writeFileSync(BENCHMARKS, curves === '' ? text : `${text}\n${curves}\n`);
  return BENCHMARKS;
}
