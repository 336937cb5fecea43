// Browser fixtures for the demo's tests: Debian's Chromium (never a downloaded one) driven by
// playwright-core, headless, with a fresh profile per launch; and screenshots under
// test-results/demo/.
import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from '@cascade/testing';

/** Where the browser tests find Chromium; CHROMIUM_BIN overrides it (as in infra/local/bootstrap.mjs). */
export function chromiumPath(): string {
  const path = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`Chromium not found at ${path}: install it (apt-get install chromium) or set CHROMIUM_BIN; npm test installs it`);
  }
  return path;
}

/** A headless Chromium; `chromium.launch` gives it a fresh temporary profile, removed on close. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    timeout: 60_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Background tabs must keep their timers: two pages of one test run side by side.
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows',
    ],
  });
}

export const SCREENSHOT_DIR = join(repoRoot(), 'test-results', 'demo');

/** Saves `test-results/demo/<test>-<step>.png` and returns its path. */
export async function screenshot(page: Page, test: string, step: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${test}-${step}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
