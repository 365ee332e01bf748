/** Where the browser tests save screenshots: $UI_SCREENSHOT_DIR, else test-output/screenshots/ (git-ignored). */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

export function screenshotPath(name: string): string {
  const dir = process.env.UI_SCREENSHOT_DIR ?? join(ROOT, 'test-output', 'screenshots');
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}
