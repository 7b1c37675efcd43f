// `npm run bench`: every benchmark (event bus, gateway, runner) in sequence, each beside its anchor
// measured in the same run on the same PostgreSQL server (docs/bench.md).
import { cpus, loadavg } from 'node:os';
import { withClient } from '@llmops/kit/db';
import { drainBench } from './drain.ts';
import { gatewayBench } from './gateway.ts';
import { latencyBench } from './latency.ts';
import { listenBench } from './listen.ts';
import { producersBench } from './producers.ts';
import { RUNNER_PARTS, runnerBench } from './runner.ts';
import { printResult, startBenchServer, type BenchResult, type BenchServer } from './lib.ts';

/** Each benchmark hands its results to `report` as it finishes them (the runner's come in several parts). */
type Bench = (server: BenchServer, report: (result: BenchResult) => void) => Promise<void>;
const one =
  (bench: (server: BenchServer) => Promise<BenchResult>): Bench =>
  async (server, report) =>
    report(await bench(server));

const BENCHES: Array<{ name: string; run: Bench }> = [
  { name: 'latency', run: one(latencyBench) },
  { name: 'drain', run: one(drainBench) },
  { name: 'producers', run: one(producersBench) },
  { name: 'listen', run: one(listenBench) },
  { name: 'gateway', run: one(gatewayBench) },
  { name: 'runner', run: runnerBench },
];

/**
 * `npm run bench -- latency runner drain`: the names of benchmarks; words after `runner` that name a part
 * of it (latency, steady, drain, streams, claim) choose those parts alone (all of them without any).
 */
function parseArgs(args: readonly string[]): { only: string[]; runnerParts: string[] } {
  const at = args.indexOf('runner');
  if (at < 0) return { only: [...args], runnerParts: [] };
  const after = args.slice(at + 1);
  const isPart = (word: string) => (RUNNER_PARTS as readonly string[]).includes(word);
  const end = after.findIndex((word) => !isPart(word));
  const runnerParts = end < 0 ? after : after.slice(0, end);
  return { only: [...args.slice(0, at), 'runner', ...after.slice(runnerParts.length)], runnerParts };
}

async function main(): Promise<void> {
  const { only, runnerParts } = parseArgs(process.argv.slice(2));
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
      if (only.length > 0 && !only.includes(bench.name)) continue;
      const report = (result: BenchResult) => {
        printResult(result);
        results.push(result);
      };
      if (bench.name === 'runner' && runnerParts.length > 0) await runnerBench(server, report, runnerParts);
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
