import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateSecrets } from './secrets.ts';

const folders: string[] = [];
function dataDir(): string {
  const folder = mkdtempSync(join(tmpdir(), 'llmops-secrets-'));
  folders.push(folder);
  return folder;
}
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

const stored = (folder: string) => JSON.parse(readFileSync(join(folder, 'secrets.json'), 'utf8')) as Record<string, unknown>;

describe('the local secrets file', () => {
  it('is made once, readable by its owner only, with a web proxy secret apart from the internal one', () => {
    const folder = dataDir();
    const made = loadOrCreateSecrets(folder);
    expect(statSync(join(folder, 'secrets.json')).mode & 0o777).toBe(0o600);
    expect(made.webProxySecret.length).toBeGreaterThanOrEqual(32);
    expect(made.webProxySecret).not.toBe(made.internalSecret);
    expect(loadOrCreateSecrets(folder)).toEqual(made);
  });

  it('adds the web proxy secret and the metrics token to a file made before they existed, keeping every other value', () => {
    const folder = dataDir();
    const { webProxySecret: _dropped, metricsToken: _alsoDropped, ...older } = loadOrCreateSecrets(folder);
    writeFileSync(join(folder, 'secrets.json'), JSON.stringify(older), { mode: 0o600 });

    const upgraded = loadOrCreateSecrets(folder);
    expect(upgraded).toMatchObject(older);
    expect(upgraded.webProxySecret.length).toBeGreaterThanOrEqual(32);
    expect(upgraded.metricsToken.length).toBeGreaterThanOrEqual(32);
    expect(upgraded.metricsToken).not.toBe(upgraded.webProxySecret);
    expect(stored(folder)).toEqual(upgraded);
    expect(statSync(join(folder, 'secrets.json')).mode & 0o777).toBe(0o600);
    expect(loadOrCreateSecrets(folder).webProxySecret).toBe(upgraded.webProxySecret);
  });

  it('refuses a damaged file rather than replacing secrets that data depends on', () => {
    const folder = dataDir();
    writeFileSync(join(folder, 'secrets.json'), JSON.stringify({ internalSecret: 'short' }));
    expect(() => loadOrCreateSecrets(folder)).toThrow(/is damaged/);
  });
});
