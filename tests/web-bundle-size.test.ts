/**
 * The JavaScript each dashboard page ships stays small (issue 13: at most 150 kB gzip per page before the
 * editor and charts, which load only on their own pages). Read from the build: the server manifest says
 * which nodes (layouts, error pages, the page) a route loads; the client's Vite manifest gives each
 * node's static imports, whose closure, with SvelteKit's start and app entries, is what the browser
 * fetches on a first visit to that page. Needs `npm run build -w web` (npm test builds first).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

const WEB = fileURLToPath(new URL('../web/', import.meta.url));
const SERVER_MANIFEST = join(WEB, 'build/server/manifest.js');
const CLIENT_MANIFEST = join(WEB, '.svelte-kit/output/client/.vite/manifest.json');
const CLIENT = join(WEB, 'build/client');
const LIMIT_BYTES = 150 * 1024;

interface Chunk {
  file: string;
  imports?: string[];
  isEntry?: boolean;
}

if (!existsSync(SERVER_MANIFEST) || !existsSync(CLIENT_MANIFEST)) {
  throw new Error('the dashboard is not built: run `npm run build -w web` (npm test does it)');
}

const chunks = JSON.parse(readFileSync(CLIENT_MANIFEST, 'utf8')) as Record<string, Chunk>;
const NODE_KEY = /\/nodes\/(\d+)\.js$/;
const nodeKey = (index: number) => Object.keys(chunks).find((key) => NODE_KEY.exec(key)?.[1] === String(index));
const entryKeys = Object.keys(chunks).filter((key) => /runtime\/client\/entry\.js$|client-optimized\/app\.js$/.test(key));

/** Every page route with the nodes it loads, from the server manifest's route table. */
function pageRoutes(): { id: string; nodes: number[] }[] {
  const text = readFileSync(SERVER_MANIFEST, 'utf8');
  const found: { id: string; nodes: number[] }[] = [];
  const pattern = /id: "([^"]+)",[\s\S]*?page: (null|\{ layouts: \[([^\]]*)\], errors: \[([^\]]*)\], leaf: (\d+) \})/g;
  for (const match of text.matchAll(pattern)) {
    if (match[2] === 'null') continue;
    const numbers = (list: string | undefined) =>
      (list ?? '')
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean)
        .map(Number);
    found.push({ id: match[1] as string, nodes: [...numbers(match[3]), ...numbers(match[4]), Number(match[5])] });
  }
  return found;
}

function closure(keys: string[]): Set<string> {
  const files = new Set<string>();
  const seen = new Set<string>();
  const visit = (key: string) => {
    if (seen.has(key)) return;
    seen.add(key);
    const chunk = chunks[key];
    if (!chunk) throw new Error(`${key} is not in the client manifest`);
    files.add(chunk.file);
    for (const next of chunk.imports ?? []) visit(next);
  };
  keys.forEach(visit);
  return files;
}

const gzipped = new Map<string, number>();
function gzipSize(file: string): number {
  let size = gzipped.get(file);
  if (size === undefined) {
    size = gzipSync(readFileSync(join(CLIENT, file)), { level: 9 }).length;
    gzipped.set(file, size);
  }
  return size;
}

describe('the JavaScript each dashboard page ships', () => {
  const routes = pageRoutes();

  it('finds every page of the build', () => {
    expect(entryKeys).toHaveLength(2);
    expect(routes.map((route) => route.id)).toEqual(
      expect.arrayContaining(['/(app)/llm', '/(app)/settings', '/login', '/setup']),
    );
  });

  it.each(routes.map((route) => [route.id, route.nodes] as const))('%s is at most 150 kB gzip', (_id, nodes) => {
    const keys = [...entryKeys, ...nodes.map((index) => nodeKey(index) ?? `node ${index}`)];
    const total = [...closure(keys)].reduce((sum, file) => sum + gzipSize(file), 0);
    expect(total).toBeGreaterThan(10 * 1024); // it did find the framework's own code
    expect(total).toBeLessThanOrEqual(LIMIT_BYTES);
  });
});
