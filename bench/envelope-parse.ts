/**
 * What a subscriber pays to read one fan-out batch, per message, in CPU time: the bare
 * payloads one JSON text a line, wsmesh GROUP_MESSAGE frames (the same payloads inside
 * `[8, target, route, act, data]`, one a line), a wsmesh GROUP_MESSAGES pack
 * (`[18, target, route, act, [data, ...]]`) and one array holding every payload of the batch,
 * as the `ws-batched` limit packs its fan-out. No sockets: JSON parsing only, so the figures
 * say how much of the fan-out distance to the limit is the frame itself.
 *
 * ```sh
 * npx tsx bench/envelope-parse.ts            # 20 messages of ~100 bytes a batch
 * npx tsx bench/envelope-parse.ts --batch 100 --bytes 1000
 * ```
 * @module
 */
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '20' },
    bytes: { type: 'string', default: '100' },
    batches: { type: 'string', default: '50000' },
  },
});
const batch = Number(values.batch);
const bytes = Number(values.bytes);
const batches = Number(values.batches);
const pad = 'x'.repeat(Math.max(0, bytes - 20));
const payload = (index: number): { seq: number; pad: string } => ({ seq: 100_000 + index, pad });
const indexes = Array.from({ length: batch }, (_, index) => index);

const forms: Record<string, { text: string; read: (text: string) => number }> = {
  'bare payload lines': {
    text: indexes.map((index) => JSON.stringify(payload(index))).join('\n'),
    read: (text) => {
      let sum = 0;
      for (const line of text.split('\n')) sum += (JSON.parse(line) as { seq: number }).seq;
      return sum;
    },
  },
  'GROUP_MESSAGE lines (wsmesh)': {
    text: indexes.map((index) => JSON.stringify([8, 'g', 'm', null, payload(index)])).join('\n'),
    read: (text) => {
      let sum = 0;
      for (const line of text.split('\n')) {
        sum += (JSON.parse(line) as [number, string, string, null, { seq: number }])[4].seq;
      }
      return sum;
    },
  },
  'GROUP_MESSAGES pack (wsmesh)': {
    text: JSON.stringify([18, 'g', 'm', null, indexes.map(payload)]),
    read: (text) => {
      let sum = 0;
      const pack = JSON.parse(text) as [number, string, string, null, { seq: number }[]];
      for (const value of pack[4]) sum += value.seq;
      return sum;
    },
  },
  'one array of the payloads (the limit)': {
    text: JSON.stringify(indexes.map(payload)),
    read: (text) => {
      let sum = 0;
      for (const value of JSON.parse(text) as { seq: number }[]) sum += value.seq;
      return sum;
    },
  },
};

/** CPU nanoseconds per message over `batches` batches (the median of 5 runs). */
function measure(form: { text: string; read: (text: string) => number }): number {
  const runs: number[] = [];
  let sink = 0;
  for (let run = 0; run < 6; run++) {
    const before = process.cpuUsage();
    for (let index = 0; index < batches; index++) sink += form.read(form.text);
    const used = process.cpuUsage(before);
    // The first run warms the compiler up and is not counted.
    if (run > 0) runs.push(((used.user + used.system) * 1000) / (batches * batch));
  }
  if (sink === 0) throw new Error('nothing was read');
  runs.sort((a, b) => a - b);
  return runs[2] ?? Number.NaN;
}

const results = Object.entries(forms).map(([name, form]) => [name, measure(form)] as const);
const base = results[0]?.[1] ?? Number.NaN;
console.log(`${batch} messages of ~${bytes} bytes a batch, CPU ns per message (median of 5):`);
for (const [name, ns] of results) {
  console.log(`  ${name.padEnd(38)} ${ns.toFixed(0).padStart(6)} ns  ${(ns / base).toFixed(2)}x`);
}
