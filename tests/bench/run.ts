// `npm run bench`: every benchmark (event bus, gateway, runner) in sequence, each beside its anchor
// measured in the same run on the same PostgreSQL server (docs/bench.md).
import { cpus, loadavg } from 'node:os';
import { withClient } from '@llmops/kit/db';
import { DASHBOARD_PARTS, dashboardBench } from './dashboard.ts';
import { drainBench } from './drain.ts';
import { gatewayBench } from './gateway.ts';
import { historyBench } from './history.ts';
import { latencyBench } from './latency.ts';
import { listenBench } from './listen.ts';
import { producersBench } from './producers.ts';
import { rateLimitBench } from './rate-limit.ts';
import { RUNNER_PARTS, runnerBench } from './runner.ts';
import { workflowBench } from './workflow.ts';
import { printResult, startBenchServer, type BenchResult, type BenchServer } from './lib.ts';

/** Each benchmark hands its results to `report` as it finishes them (the runner's come in several parts). */
type Bench = (server: BenchServer, report: (result: BenchResult) => void) => Promise<void>;
const one =
  (bench: (server: BenchServer) => Promise<BenchResult>): Bench =>
  async (server, report) =>
    report(await bench(server));

const BENCHES: Array<{ name: string; run: Bench; onlyWhenAsked?: boolean }> = [
  { name: 'latency', run: one(latencyBench) },
  { name: 'drain', run: one(drainBench) },
  { name: 'producers', run: one(producersBench) },
  { name: 'listen', run: one(listenBench) },
  { name: 'gateway', run: one(gatewayBench) },
  { name: 'rate-limit', run: one(rateLimitBench) },
  { name: 'runner', run: runnerBench },
  { name: 'dashboard', run: dashboardBench },
  { name: 'workflow', run: one(workflowBench) },
  // A million tasks: only `npm run bench -- history` runs it (docs/bench.md, 10.).
  { name: 'history', run: historyBench, onlyWhenAsked: true },
];

/** Benchmarks with parts of their own: the words after their name that name parts choose those alone. */
const PARTED: Record<string, readonly string[]> = { runner: RUNNER_PARTS, dashboard: DASHBOARD_PARTS };

/**
 * `npm run bench -- latency runner drain dashboard live`: the names of benchmarks; words after `runner` or
 * `dashboard` that name a part of it (runner: latency, steady, drain, streams, claim; dashboard: live,
 * history) choose those parts alone (all of them without any).
 */
function parseArgs(args: readonly string[]): { only: string[]; parts: Map<string, string[]> } {
  const only: string[] = [];
  const parts = new Map<string, string[]>();
  let current: string | undefined;
  for (const word of args) {
    if (current && PARTED[current]?.includes(word)) parts.get(current)?.push(word);
    else {
      only.push(word);
      current = word in PARTED ? word : undefined;
      if (current) parts.set(current, []);
    }
  }
  return { only, parts };
}

async function main(): Promise<void> {
  const { only, parts } = parseArgs(process.argv.slice(2));
  const runnerParts = parts.get('runner') ?? [];
  const dashboardParts = parts.get('dashboard') ?? [];
  const unknown = only.filter((name) => !BENCHES.some((bench) => bench.name === name));
  if (unknown.length > 0)
    throw new Error(`unknown benchmark ${unknown.join(', ')}; the benchmarks: ${BENCHES.map((b) => b.name).join(', ')}`);
  const started = performance.now();
  const server = await startBenchServer();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping the bench's PostgreSQL`);
      void server.stop().finally(() => process.exit(130));
    });
  }
  const results: BenchResult[] = [];
  try {
    const { rows } = await withClient(server.adminUrl, (client) =>
      client.query<{ server_version: string }>('SHOW server_version'),
    );
    console.log('# LLM Ops event bus benchmark');
    console.log(
      `  ${new Date().toISOString()} · node ${process.version} · ${cpus().length} cores (${cpus()[0]?.model ?? '?'}) · ` +
        `PostgreSQL ${rows[0]?.server_version ?? '?'} (${server.embedded ? 'embedded, throwaway' : 'given server'})`,
    );
    console.log(`  load average before: ${loadAverage()} (other work on the machine skews every figure)`);
    for (const bench of BENCHES) {
      if (only.length > 0 ? !only.includes(bench.name) : bench.onlyWhenAsked) continue;
      const report = (result: BenchResult) => {
        printResult(result);
        results.push(result);
      };
      if (bench.name === 'runner' && runnerParts.length > 0) await runnerBench(server, report, runnerParts);
      else if (bench.name === 'dashboard' && dashboardParts.length > 0) await dashboardBench(server, report, dashboardParts);
      else await bench.run(server, report);
    }
  } finally {
    await server.stop();
  }
  const verdicts = results.flatMap((r) => r.verdicts);
  const missed = verdicts.filter((v) => !v.pass);
  console.log(`\n## Summary\n`);
  console.log(`  load average after: ${loadAverage()}`);
  console.log(
    `  ${verdicts.length - missed.length}/${verdicts.length} targets met in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  for (const v of missed) console.log(`  MISS  ${v.what}: ${v.measured} (target ${v.target})`);
}

function loadAverage(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error('the bench broke:', error);
    process.exit(1);
  },
);
