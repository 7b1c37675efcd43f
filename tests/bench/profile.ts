// Where a service process spent its CPU: a summary of a V8 `.cpuprofile` (written by `--cpu-prof`),
// self time per function and per area (a package, a folder of our code, node internals, GC).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled time not idle, milliseconds. */
  busyMs: number;
  functions: Array<{ name: string; ms: number; share: number }>;
  areas: Array<{ name: string; ms: number; share: number }>;
}

const ROOT = new URL('../../', import.meta.url).href;

/** A package (`pg`, `@hono/node-server`), a folder of this repository (`kit/bus`), or node / V8 itself. */
function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + '/node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? url);
  }
  if (url.startsWith('node:')) return 'node internals';
  if (url.startsWith(ROOT)) {
    const parts = url.slice(ROOT.length).split('/');
    // services/<name>/src/<folder>/<file>.ts → <name>/<folder>
    if (parts[0] === 'services' && parts.length > 4) return `${parts[1]}/${parts[3]}`;
    if (parts[0] === 'services') return `${parts[1]}`;
    return parts.slice(0, 2).join('/');
  }
  return url;
}

function shortName(frame: ProfileNode['callFrame']): string {
  const file = frame.url.startsWith(ROOT)
    ? frame.url
        .slice(ROOT.length)
        .replace(/^services\//, '')
        .replace('/src/', '/')
    : frame.url.replace(/^.*\/node_modules\//, '');
  const name = frame.functionName || '(anonymous)';
  return file ? `${name} ${file}:${frame.lineNumber + 1}` : name;
}

export function summarizeProfile(file: string, top = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const functions = new Map<string, number>();
  const areas = new Map<string, number>();
  let busy = 0;
  // timeDeltas[i] is the time from sample i-1 to sample i: it belongs to what sample i-1 caught.
  for (let i = 0; i + 1 < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i] as number);
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (!node || node.callFrame.functionName === '(idle)') continue;
    busy += us;
    const name = shortName(node.callFrame);
    functions.set(name, (functions.get(name) ?? 0) + us);
    const area = areaOf(node.callFrame.url, node.callFrame.functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const ranked = (map: Map<string, number>, n: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: us / 1000, share: busy === 0 ? 0 : us / busy }));
  return { busyMs: busy / 1000, functions: ranked(functions, top), areas: ranked(areas, top) };
}

/** The newest `.cpuprofile` in `dir` whose name starts with `prefix`, if any. */
export function profileFile(dir: string, prefix: string): string | undefined {
  const files = readdirSync(dir)
    .filter((name) => name.startsWith(prefix) && name.endsWith('.cpuprofile'))
    .sort();
  const last = files.at(-1);
  return last ? join(dir, last) : undefined;
}
