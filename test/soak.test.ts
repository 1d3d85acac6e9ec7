/**
 * A 20-second soak: 4 clones in their own processes, 2,000 clients publishing and calling.
 * Nothing is lost or duplicated, no call fails, memory stays bounded. The long version is
 * `npm run soak -- --minutes N`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describe as summarize, runSoak } from '../scripts/soak/run.js';

test(
  '20 s soak of a 4-clone mesh with 2,000 clients: no loss, no duplicate, bounded memory',
  { timeout: 180_000 },
  async () => {
    const result = await runSoak({
      clones: 4,
      clients: 2000,
      groups: 20,
      period: 10_000,
      seconds: 20,
    });
    console.log(
      summarize(result)
        .split('\n')
        .map((line) => `    ${line}`)
        .join('\n'),
    );
    assert.ok(result.published > 0);
    assert.equal(result.publishErrors, 0);
    assert.equal(result.gaps, 0);
    assert.equal(result.duplicates, 0);
    assert.equal(result.delivered, result.expected);
    assert.equal(result.callErrors, 0);
    assert.equal(result.calls, result.published);
    for (const [id, points] of Object.entries(result.rss)) {
      const peak = Math.max(...points.map(([, mib]) => mib));
      assert.ok(peak < 512, `${id} peaked at ${peak.toFixed(0)} MiB`);
    }
  },
);
