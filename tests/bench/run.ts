// `npm run bench`: every benchmark (event bus, gateway, runner, dashboard, workflow) in sequence, each figure
// beside its anchor measured in the same run on the same PostgreSQL server; one table at the end, also
// written as JSON to bench/results/ (docs/bench.md).
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { withClient } from '@llmops/kit/db';
import { parseArgs, type BenchEntry } from './args.ts';
import { DASHBOARD_PARTS, dashboardBench } from './dashboard.ts';
import { drainBench } from './drain.ts';
import { GATEWAY_PARTS, gatewayBench } from './gateway.ts';
import { historyBench } from './history.ts';
import { hopsBench } from './hops.ts';
import { latencyBench } from './latency.ts';
import { listenBench } from './listen.ts';
import { producersBench } from './producers.ts';
import { rateLimitBench } from './rate-limit.ts';
import { RUNNER_PARTS, runnerBench } from './runner.ts';
import { workflowBench } from './workflow.ts';
import { printResult, setQuick, startBenchServer, type BenchResult, type BenchServer } from './lib.ts';
import { summaryTable, writeResults, type PartFigures } from './report.ts';
import { buildWeb, requireChromium } from './web-build.ts';

/**
 * A benchmark of the registry: it hands each result to `report` as it finishes (some come in several parts);
 * `parts` are the parts chosen on the command line, empty for all of them.
 */
interface Bench extends BenchEntry {
  /** It drives the built dashboard in Chromium: the dashboard is built, when missing or stale, before any part runs. */
  web?: boolean;
  run(server: BenchServer, report: (result: BenchResult) => void, parts: readonly string[]): Promise<void>;
}

const one =
  (bench: (server: BenchServer) => Promise<BenchResult>): Bench['run'] =>
  async (server, report) =>
    report(await bench(server));

const orAll = (parts: readonly string[], all: readonly string[]) => (parts.length > 0 ? parts : all);

const BENCHES: Bench[] = [
  { name: 'latency', run: one(latencyBench) },
  { name: 'drain', run: one(drainBench) },
  { name: 'producers', run: one(producersBench) },
  { name: 'listen', run: one(listenBench) },
  {
    name: 'gateway',
    parts: GATEWAY_PARTS,
    run: async (server, report, parts) => report(await gatewayBench(server, orAll(parts, GATEWAY_PARTS))),
  },
  { name: 'rate-limit', run: one(rateLimitBench) },
  {
    name: 'runner',
    parts: RUNNER_PARTS,
    run: (server, report, parts) => runnerBench(server, report, orAll(parts, RUNNER_PARTS)),
  },
  {
    name: 'dashboard',
    parts: DASHBOARD_PARTS,
    web: true,
    run: (server, report, parts) => dashboardBench(server, report, orAll(parts, DASHBOARD_PARTS)),
  },
  { name: 'workflow', run: one(workflowBench) },
  // A million tasks (docs/bench.md, 10.): only `npm run bench -- history` runs it.
  { name: 'history', run: (server, report) => historyBench(server, report), whenAsked: true },
  // CPU per request on each HTTP hop of the create path (docs/bench.md, issue 14 "hops"): only when asked.
  { name: 'hops', run: one(hopsBench), whenAsked: true },
];

const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url));

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const { quick, run } = parseArgs(args, BENCHES);
  setQuick(quick);
  const started = new Date();
  const loadBefore = loadavg();
  // What a part needs from the machine is checked, and the dashboard built, before the first part runs.
  let webSeconds: number | undefined;
  if (run.some((chosen) => BENCHES.find((b) => b.name === chosen.name)?.web)) {
    requireChromium();
    webSeconds = await buildWeb();
  }
  const server = await startBenchServer();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping the bench's PostgreSQL`);
      void server.stop().finally(() => process.exit(130));
    });
  }
  const parts: PartFigures[] = [];
  /** Seconds each benchmark took, for choosing what to run next time. */
  const durations: Array<[string, number]> = [];
  let postgres: string | undefined;
  try {
    const { rows } = await withClient(server.adminUrl, (client) =>
      client.query<{ server_version: string }>('SHOW server_version'),
    );
    postgres = `${rows[0]?.server_version ?? '?'} (${server.embedded ? 'embedded, throwaway' : 'given server'})`;
    console.log(`# LLM Ops benchmark${quick ? ' (--quick: smaller counts, shorter runs)' : ''}`);
    console.log(
      `  ${started.toISOString()} · node ${process.version} · ${cpus().length} cores (${cpus()[0]?.model ?? '?'}) · PostgreSQL ${postgres}`,
    );
    console.log(`  load average before: ${loadAverage(loadBefore)} (other work on the machine skews every figure)`);
    console.log(`  running: ${run.map((b) => (b.parts.length > 0 ? `${b.name} (${b.parts.join(', ')})` : b.name)).join(', ')}`);
    if (webSeconds !== undefined)
      console.log(`  the dashboard's build checked (built when missing or stale) in ${webSeconds.toFixed(0)} s`);
    console.log(`  PostgreSQL and the template database ready ${secondsSince(started)} s after the start`);
    for (const chosen of run) {
      const bench = BENCHES.find((b) => b.name === chosen.name) as Bench;
      const benchStarted = performance.now();
      await bench.run(
        server,
        (result) => {
          printResult(result);
          parts.push({ part: result.title, figures: result.figures });
        },
        chosen.parts,
      );
      const took = Math.round((performance.now() - benchStarted) / 1000);
      durations.push([chosen.name, took]);
      // As it goes, so a run cut short still says where its time went.
      console.log(
        `\n  ${chosen.name} took ${took} s (${secondsSince(started)} s since the start; load ${loadAverage(loadavg())})`,
      );
    }
  } finally {
    await server.stop();
  }
  const finished = new Date();
  const seconds = (finished.getTime() - started.getTime()) / 1000;
  const loadAfter = loadavg();
  const figures = parts.flatMap((part) => part.figures);
  console.log(`\n## Summary\n`);
  console.log(summaryTable(parts));
  console.log('');
  console.log(`  load average before: ${loadAverage(loadBefore)}; after: ${loadAverage(loadAfter)}`);
  console.log(`  ${figures.filter((row) => row.pass).length}/${figures.length} targets met in ${seconds.toFixed(0)} s`);
  console.log(`  seconds per benchmark: ${durations.map(([name, s]) => `${name} ${s}`).join(', ')}`);
  const path = writeResults(
    RESULTS,
    {
      started: started.toISOString(),
      finished: finished.toISOString(),
      seconds: Math.round(seconds),
      benchSeconds: Object.fromEntries(durations),
      quick,
      args,
      node: process.version,
      cores: cpus().length,
      cpu: cpus()[0]?.model ?? '?',
      postgres: postgres ?? '?',
      loadBefore,
      loadAfter,
    },
    parts,
  );
  console.log(`  written to ${path}`);
}

function secondsSince(start: Date): string {
  return ((Date.now() - start.getTime()) / 1000).toFixed(0);
}

function loadAverage(load: readonly number[]): string {
  return load.map((x) => x.toFixed(2)).join(' / ');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error('the bench broke:', error);
    process.exit(1);
  },
);
