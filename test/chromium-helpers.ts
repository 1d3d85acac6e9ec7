/**
 * Debian's Chromium for browser tests, driven by playwright-core (which downloads no
 * browser): where it is, the flags this machine needs, whether a suite must skip, and a
 * launcher that cleans its profile directory.
 *
 * - {@link chromiumSuite}: `'run'` when /usr/bin/chromium exists; otherwise `'skip'` (with a
 *   printed message), or `'fail'` under CI, where a missing browser is an error.
 * - {@link launchChromium}: a headless persistent context in a fresh profile; `close()` also
 *   removes the profile.
 * @module
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's Chromium. */
export const CHROMIUM = '/usr/bin/chromium';

/** Flags for headless Chromium on a machine with a closed network, as root. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** True when the CI variable is set (and not "false"). */
export function isCi(): boolean {
  const value = process.env['CI'];
  return value !== undefined && value !== '' && value !== 'false';
}

/** Whether a browser suite runs, skips (Chromium missing locally) or fails (missing under CI). */
export function chromiumSuite(): 'run' | 'skip' | 'fail' {
  if (existsSync(CHROMIUM)) return 'run';
  return isCi() ? 'fail' : 'skip';
}

/** A headless Chromium context; `close()` closes it and deletes its profile. */
export async function launchChromium(): Promise<{
  context: BrowserContext;
  close(): Promise<void>;
}> {
  const profile = mkdtempSync(join(tmpdir(), 'wsmesh-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  return {
    context,
    async close() {
      try {
        await context.close();
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}
