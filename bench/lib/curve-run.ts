/**
 * Runs the cost curves (`--curves`): one fresh trial per point and contender, a table, a
 * generated sentence on where the curve bends, the written reason, and an SVG plot each.
 * A full run of every curve (not `--quick`) writes its section of BENCHMARKS.md and the plots
 * to bench/results/curves/; other runs write to bench/results/tmp/curves/.
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './children.js';
import type { CliOptions } from './cli.js';
import { contenderLabel, type ContenderName } from './contenders.js';
import { bendSentence } from './curve-bend.js';
import { curvePlot } from './curve-plot.js';
import { CURVES, CURVE_NAMES, type CurveSpec } from './curves.js';
import { loadAverage } from './environment.js';
import { cpuProfFlags } from './profile.js';
import type { Metrics } from './ipc.js';
import { writeCurvesSection } from './report.js';
import { runTrial } from './trial.js';

/** One point of one contender. */
interface CurveRow {
  x: number;
  contender: ContenderName;
  metrics?: Metrics;
  error?: string;
}

function format(value: number | undefined, digits: number): string {
  if (value === undefined || !Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function table(spec: CurveSpec, rows: readonly CurveRow[]): string {
  const header = [spec.variable, 'contender', ...spec.columns.map((c) => c.label)];
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (i === 1 ? '---' : '---:')).join(' | ')} |`,
  ];
  for (const row of rows) {
    const cells = [format(row.x, 0), contenderLabel(row.contender)];
    for (const c of spec.columns) {
      cells.push(row.metrics === undefined ? 'failed' : format(row.metrics[c.key], c.digits));
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

async function runCurve(
  spec: CurveSpec,
  options: CliOptions,
  plotDir: string,
  plotPath: string,
): Promise<{ markdown: string; failed: boolean }> {
  const contenders = spec.contenders.filter((name) => options.contenders.includes(name));
  console.log(`\n## Curve: ${spec.title}; load average ${loadAverage()}\n`);
  const rows: CurveRow[] = [];
  const wanted = spec.points(options.quick);
  const xs = [...new Set(wanted.map((x) => spec.actual?.(x) ?? x))];
  const capped = wanted.filter((x) => !xs.includes(x));
  const cappedNote =
    capped.length === 0
      ? ''
      : `Capped by this machine (open-file limit a process can get): ${capped.map((x) => format(x, 0)).join(', ')} asked, at most ${format(Math.max(...xs), 0)} held.\n`;
  for (const x of xs) {
    for (const contender of contenders) {
      const trial = spec.trial(x, options.quick);
      try {
        // Loaders that run their own servers (clones) take memory figures after a forced GC.
        const profile = `curve-${spec.name}-${x}-${contender}`;
        const metrics = await runTrial({
          contender,
          ...trial,
          serverFlags: options.cpuProf ? cpuProfFlags(`${profile}-server`) : [],
          loaderFlags: [
            '--expose-gc',
            ...(options.cpuProf ? cpuProfFlags(`${profile}-client`) : []),
          ],
        });
        Object.assign(metrics, spec.derive?.(x, metrics));
        rows.push({ x, contender, metrics });
        const shown = spec.columns.map((c) => `${c.key}=${format(metrics[c.key], c.digits)}`);
        console.log(`[${spec.name} ${x}] ${contenderLabel(contender)}: ${shown.join(' ')}`);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        rows.push({ x, contender, error: message });
        console.log(`[${spec.name} ${x}] ${contenderLabel(contender)}: FAILED ${message}`);
      }
    }
  }
  const series = contenders.map((contender) => ({
    contender,
    points: rows.flatMap((row): [number, number][] =>
      row.contender === contender && row.metrics?.[spec.cost.key] !== undefined
        ? [[row.x, row.metrics[spec.cost.key] ?? Number.NaN]]
        : [],
    ),
  }));
  const svg = curvePlot(spec.title, spec.variable, spec.cost.label, series);
  if (svg !== undefined) writeFileSync(join(plotDir, `${spec.name}.svg`), svg);
  const rendered = table(spec, rows);
  console.log(rendered);
  const bend = bendSentence(spec.cost.label, series);
  console.log(`\n${bend}`);
  const markdown = [
    `### ${spec.title}`,
    '',
    svg === undefined ? '' : `![${spec.title}](${plotPath}/${spec.name}.svg)\n`,
    rendered,
    '',
    cappedNote,
    `**Where it bends (from this run):** ${bend}`,
    '',
    `**Why:** ${spec.why}`,
    '',
  ].join('\n');
  return { markdown, failed: rows.some((row) => row.error !== undefined) };
}

/** Runs the curves named in `options`; resolves true when every point succeeded. */
export async function runCurves(options: CliOptions): Promise<boolean> {
  const full = !options.quick && CURVE_NAMES.every((name) => options.curves.includes(name));
  const plotPath = full ? 'bench/results/curves' : 'bench/results/tmp/curves';
  const plotDir = join(REPO_ROOT, plotPath);
  mkdirSync(plotDir, { recursive: true });
  const started = new Date().toISOString();
  const sections: string[] = [];
  let ok = true;
  for (const spec of CURVES) {
    if (!options.curves.includes(spec.name)) continue;
    const { markdown, failed } = await runCurve(spec, options, plotDir, plotPath);
    sections.push(markdown);
    if (failed) ok = false;
  }
  const intro = `Run ${started} to ${new Date().toISOString()}, \`npm run bench -- ${process.argv.slice(2).join(' ')}\`; one trial per point (fresh processes), load average at the end ${loadAverage()}.\n`;
  if (full && ok) {
    console.log(`Curves written to ${writeCurvesSection([intro, ...sections].join('\n'))}`);
  } else {
    const path = join(plotDir, 'curves.md');
    writeFileSync(path, `# Cost curves\n\n${intro}\n${sections.join('\n')}`);
    console.log(
      `Curves written to ${path} (not BENCHMARKS.md: ${full ? 'a point failed' : 'quick or partial run'})`,
    );
  }
  return ok;
}
