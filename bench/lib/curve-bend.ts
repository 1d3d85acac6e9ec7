/**
 * The generated sentence on a curve's shape: whether its cost per unit stays flat, where it
 * first bends (rises past 1.5x its first value, or past 1.5x its low after a dip) or how far
 * it falls, and how far wsmesh is from the reference line.
 * @module
 */
import { contenderLabel } from './contenders.js';
import type { Series } from './curve-plot.js';

const BEND = 1.5;

function short(value: number): string {
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return Number(value.toPrecision(3)).toLocaleString('en-US');
}

/** One or two sentences about `series` (the first is wsmesh, the others references). */
export function bendSentence(label: string, series: readonly Series[]): string {
  const [main, ...references] = series;
  const points = main?.points.filter(([, y]) => Number.isFinite(y)) ?? [];
  // The first positive value is the base (a memory slope can come out at or below 0 by noise).
  const first = points.find(([, y]) => y > 0);
  const last = points[points.length - 1];
  if (main === undefined || first === undefined || last === undefined || points.length < 2) {
    return 'Not enough points to say.';
  }
  const [x0, y0] = first;
  const name = contenderLabel(main.contender);
  const counted = points.slice(points.indexOf(first));
  const bend = counted.find(([, y]) => y > y0 * BEND);
  const ys = counted.map(([, y]) => y);
  const [low, high] = [Math.min(...ys), Math.max(...ys)];
  let text: string;
  // A cost that first falls can still bend up later: measured from its lowest point.
  const dip = counted.find(([, y]) => y === low) ?? first;
  const rise = counted.slice(counted.indexOf(dip) + 1).find(([, y]) => y > low * BEND);
  if (bend !== undefined) {
    text = `${name}: ${label} bends up at ${short(bend[0])} (${short(bend[1])}, ${short(bend[1] / y0)}x its value at ${short(x0)}); at ${short(last[0])} it is ${short(last[1])}.`;
  } else if (high <= y0 * BEND && low >= y0 / BEND) {
    text = `${name}: ${label} stays flat, between ${short(low)} and ${short(high)} from ${short(x0)} to ${short(last[0])}.`;
  } else if (rise !== undefined && dip !== first) {
    text = `${name}: ${label} dips from ${short(y0)} at ${short(x0)} to ${short(low)} at ${short(dip[0])}, then bends up at ${short(rise[0])} (${short(rise[1])}, ${short(rise[1] / low)}x its low); at ${short(last[0])} it is ${short(last[1])}.`;
  } else {
    text = `${name}: ${label} falls from ${short(y0)} at ${short(x0)} to ${short(last[1])} at ${short(last[0])} (fixed costs spread over more units), never above 1.5x its first value.`;
  }
  for (const reference of references) {
    const ratios = points.flatMap(([x, y]) => {
      const ref = reference.points.find(([rx]) => rx === x)?.[1];
      return ref !== undefined && ref > 0 ? [y / ref] : [];
    });
    if (ratios.length > 0) {
      text += ` Against ${contenderLabel(reference.contender)}: ${short(Math.min(...ratios))}x to ${short(Math.max(...ratios))}x.`;
    }
  }
  return text;
}
