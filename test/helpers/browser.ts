/**
 * A real headless browser for page tests: Debian's `chromium` (or the one
 * KUBEMU_CHROMIUM names) driven by playwright-core. No browser download.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.KUBEMU_CHROMIUM ?? '/usr/bin/chromium';

/** Where tests leave what a person may want to look at (screenshots): test-results/ at the repository root. */
export const ARTIFACTS = join(new URL('../..', import.meta.url).pathname, 'test-results');

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install chromium (or set KUBEMU_CHROMIUM)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  // --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}
