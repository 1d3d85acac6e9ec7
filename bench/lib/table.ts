/**
 * Markdown tables of a scenario's summary: median (min-max) per metric and ratios of
 * medians against raw `ws`.
 * @module
 */
import type { Summary } from './aggregate.js';
import { BASELINE, contenderLabel, LIMIT, type ContenderName } from './contenders.js';
import type { TableSpec } from './scenarios.js';

function formatNumber(value: number, digits: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function formatRatio(value: number, base: number): string {
  if (!Number.isFinite(value) || !Number.isFinite(base) || base === 0) return 'n/a';
  return `${(value / base).toFixed(2)}x`;
}

/**
 * One markdown table for `spec`, a row per contender. Ratio columns compare medians with the
 * table's baseline (raw ws unless it says otherwise) and, where the batched raw ws (the
 * limit) has a row, with it too.
 */
export function renderTable(
  spec: TableSpec,
  summary: Summary,
  contenders: readonly ContenderName[],
  rounds: number,
): string {
  const rows = contenders.filter(
    (contender) => spec.contenders === undefined || spec.contenders.includes(contender),
  );
  const withLimit = (spec.baseline ?? BASELINE) !== LIMIT && rows.includes(LIMIT);
  const header = ['contender'];
  for (const metric of spec.metrics) {
    header.push(metric.label);
    if (metric.ratio !== undefined) header.push(metric.ratio);
    if (metric.ratio !== undefined && withLimit) header.push('vs limit');
  }
  const lines = [
    `### ${spec.title}`,
    '',
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, index) => (index === 0 ? '---' : '---:')).join(' | ')} |`,
  ];
  const baseline = summary[spec.baseline ?? BASELINE];
  const limit = summary[LIMIT];
  for (const contender of rows) {
    const spreads = summary[contender];
    const cells = [contenderLabel(contender)];
    for (const metric of spec.metrics) {
      const value = spreads?.[metric.key];
      if (value === undefined) cells.push(spreads === undefined ? 'failed' : 'n/a');
      else {
        const range =
          value.values.length > 1
            ? ` (${formatNumber(value.min, metric.digits)}-${formatNumber(value.max, metric.digits)})`
            : '';
        cells.push(`${formatNumber(value.median, metric.digits)}${range}`);
      }
      if (metric.ratio !== undefined) {
        const base = baseline?.[metric.key]?.median ?? Number.NaN;
        cells.push(formatRatio(value?.median ?? Number.NaN, base));
      }
      if (metric.ratio !== undefined && withLimit) {
        const base = limit?.[metric.key]?.median ?? Number.NaN;
        cells.push(formatRatio(value?.median ?? Number.NaN, base));
      }
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  lines.push('', `Median of ${rounds} round(s), (min-max) across rounds; ratios are of medians.`);
  return lines.join('\n');
}
