/**
 * A small SVG line chart of one curve: the variable on a log-scale x axis, the cost per unit
 * on a linear y axis from 0, one line per contender.
 * @module
 */
import { contenderLabel, type ContenderName } from './contenders.js';

/** One line of the chart. */
export interface Series {
  contender: ContenderName;
  points: [number, number][];
}

const COLORS = ['#1f77b4', '#4d4d4d', '#d62728', '#2ca02c'];
const WIDTH = 520;
const HEIGHT = 260;
const LEFT = 60;
const RIGHT = 20;
const TOP = 44;
const BOTTOM = 40;

function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((s) => s * magnitude >= value) ?? 10;
  return step * magnitude;
}

function label(value: number): string {
  if (value >= 1024 && value % 1024 === 0) return `${value / 1024} Ki`;
  if (value >= 1000) return `${value / 1000}k`;
  return Number(value.toPrecision(3)).toString();
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The chart, or undefined when there is nothing to draw. */
export function curvePlot(
  title: string,
  xLabel: string,
  yLabel: string,
  series: readonly Series[],
): string | undefined {
  const all = series.flatMap((line) => line.points).filter(([x, y]) => x > 0 && Number.isFinite(y));
  if (all.length === 0) return undefined;
  const xs = all.map(([x]) => x);
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const yMax = niceMax(Math.max(...all.map(([, y]) => y)));
  const span = Math.log10(xMax) - Math.log10(xMin) || 1;
  const px = (x: number): number =>
    LEFT + ((Math.log10(x) - Math.log10(xMin)) / span) * (WIDTH - LEFT - RIGHT);
  const py = (y: number): number =>
    HEIGHT - BOTTOM - (Math.max(y, 0) / yMax) * (HEIGHT - TOP - BOTTOM);
  const parts: string[] = [
    `<line x1="${LEFT}" y1="${HEIGHT - BOTTOM}" x2="${WIDTH - RIGHT}" y2="${HEIGHT - BOTTOM}" stroke="#333"/>`,
    `<line x1="${LEFT}" y1="${TOP}" x2="${LEFT}" y2="${HEIGHT - BOTTOM}" stroke="#333"/>`,
  ];
  for (const y of [0, yMax / 2, yMax]) {
    parts.push(
      `<text x="${LEFT - 4}" y="${py(y).toFixed(1)}" font-size="10" text-anchor="end">${label(y)}</text>`,
    );
  }
  for (const x of [...new Set(xs)].sort((a, b) => a - b)) {
    parts.push(
      `<text x="${px(x).toFixed(1)}" y="${HEIGHT - BOTTOM + 14}" font-size="10" text-anchor="middle">${label(x)}</text>`,
    );
  }
  series.forEach((line, index) => {
    const color = COLORS[index % COLORS.length] ?? '#000';
    const points = line.points.filter(([x, y]) => x > 0 && Number.isFinite(y));
    const path = points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const [x, y] of points) {
      parts.push(
        `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${color}"/>`,
      );
    }
    parts.push(
      `<text x="${WIDTH - RIGHT}" y="${TOP + 12 * index}" font-size="11" text-anchor="end" fill="${color}">${escape(contenderLabel(line.contender))}</text>`,
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="16" font-size="12" font-weight="bold">${escape(title)}</text>
<text x="10" y="32" font-size="11">${escape(yLabel)}</text>
<text x="${(LEFT + WIDTH - RIGHT) / 2}" y="${HEIGHT - 8}" font-size="11" text-anchor="middle">${escape(xLabel)} (log scale)</text>
${parts.join('\n')}
</svg>
`;
}
