// The built dashboard for the benchmarks that drive it (7.1, 7.2): made before any part runs, as `npm start`
// makes it (turbo's build of the web, which rebuilds when its sources or kit's changed and is a cache hit
// otherwise), so a first `npm run bench` on a fresh clone never stops minutes in for want of it.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const WEB_ENTRY = join(ROOT, 'web/build/index.js');
export const CHROMIUM = '/usr/bin/chromium';

/** Fails with what to do when Chromium, which drives the dashboard's pages, is not installed. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
}

/**
 * Builds the dashboard when missing or stale (turbo decides, from its inputs in turbo.json); its output goes
 * to stderr, so the report on stdout stays the bench's. Resolves with the seconds it took.
 */
export async function buildWeb(): Promise<number> {
  const started = performance.now();
  const turbo = join(ROOT, 'node_modules/.bin/turbo');
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(turbo, ['run', 'build', '--filter=@llmops/web', '--output-logs=errors-only'], {
      cwd: ROOT,
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
      stdio: ['ignore', process.stderr, process.stderr],
    });
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`building the dashboard failed (turbo run build --filter=@llmops/web exited ${code})`);
  if (!existsSync(WEB_ENTRY)) throw new Error(`${WEB_ENTRY} is missing after the build`);
  return (performance.now() - started) / 1000;
}
