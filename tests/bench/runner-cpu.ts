// CPU per task of a fixed workload (issue 14, direct dispatch): 4 producers create TASKS tasks straight
// through the runner's API (no gateway), each streamed from the emulator, and wait for all of them to end,
// after 200 warm-up tasks. Reported: the runner process's CPU (utime + stime) and PostgreSQL's (the
// postmaster and every backend of the bench's own embedded cluster) per task, over the whole workload, so
// the figure does not depend on how fast a loaded machine let it run. Run it without BENCH_DATABASE_URL
// (a shared server's CPU is not the bench's):  `npx node tests/bench/runner-cpu.ts [tasks]`
import type { ChildProcess } from 'node:child_process';
import { createPool } from '@llmops/kit/db';
import { startStack } from '@llmops/kit/testing/stack';
import { startEmulator } from '@llmops/emulator/server';
import { emulatedModel, expectJson, startBenchServer } from './lib.ts';
import { clusterSeconds, cpuSeconds } from './proc.ts';

const TASKS = Number(process.argv[2] ?? 1_000);
const PRODUCERS = 4;
if (process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL)
  throw new Error('runner-cpu measures its own embedded PostgreSQL: unset BENCH_DATABASE_URL and TEST_DATABASE_URL');
const server = await startBenchServer();
const db = await server.busDatabase();
const emulator = await startEmulator();
const admin = createPool({ connectionString: db.adminUrl, applicationName: 'runner-cpu', max: 2 });
const stack = await startStack({
  db,
  services: ['registry', 'prompt', 'runner'],
  mode: 'process',
  env: { RUNNER_POLL_MS: '2000' },
});
try {
  const runner = (stack.services.get('runner')?.process as ChildProcess).pid as number;
  const { rows } = await admin.query<{ pid: number }>(
    `SELECT (regexp_split_to_array(pg_read_file('postmaster.pid'), E'\\n'))[1]::int AS pid`,
  );
  const postmaster = rows[0]?.pid as number;
  const model = await emulatedModel(stack, emulator);
  const run = async (count: number) => {
    let next = 0;
    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: PRODUCERS }, async () => {
        while (next < count) {
          next += 1;
          const body = JSON.stringify({ model_id: model.id, messages: [{ role: 'user', content: `Task ${next}` }] });
          const response = await stack.call('runner', '/api/v1/tasks', { method: 'POST', body });
          ids.push((await expectJson<{ tasks: { id: string }[] }>(response, 201, 'create')).tasks[0]?.id as string);
        }
      }),
    );
    for (let i = 0; ; i++) {
      const { rows: left } = await admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM runner.tasks WHERE id = ANY ($1::uuid[]) AND finished_at IS NULL`,
        [ids],
      );
      if (left[0]?.n === 0) break;
      if (i > 6_000) throw new Error('tasks never ended');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  await run(Math.min(200, TASKS));
  const before = { runner: cpuSeconds(runner) * 1000, postgres: clusterSeconds(postmaster) * 1000, at: performance.now() };
  await run(TASKS);
  const after = { runner: cpuSeconds(runner) * 1000, postgres: clusterSeconds(postmaster) * 1000, at: performance.now() };
  const per = (key: 'runner' | 'postgres') => ((after[key] - before[key]) / TASKS).toFixed(2);
  const seconds = (after.at - before.at) / 1000;
  console.log(
    `tasks ${TASKS} in ${seconds.toFixed(1)} s (${(TASKS / seconds).toFixed(0)}/s); CPU ms per task: runner ${per('runner')}, postgres ${per('postgres')}`,
  );
} finally {
  await admin.end();
  await stack.stop();
  await emulator.stop();
  await server.stop();
}
