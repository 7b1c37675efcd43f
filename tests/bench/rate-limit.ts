// The gateway's rate limits shared by its instances (issue 19): the cost of the shared limiter beside the
// in-memory one in the same run, a per-request UPSERT as the alternative, and the accuracy of two
// instances on one database (how far past the quota they go together). `npm run bench -- rate-limit`.
import { createPool, type Pool } from '@llmops/kit/db';
import type { TestDatabase } from '@llmops/kit/testing/database';
import { RateLimiter } from '@llmops/gateway/auth/rate-limit';
import { SharedRateWindow } from '@llmops/gateway/auth/rate-limit-sync';
import {
  atLeast,
  atMost,
  benchLogger,
  fmt,
  percentile,
  ratioAtLeast,
  sized,
  type BenchResult,
  type BenchServer,
  type ResultRow,
} from './lib.ts';

type Principal = Parameters<RateLimiter['take']>[0];
const caller = (n: number): Principal => ({
  accountId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  role: 'editor',
  via: 'token',
  credentialId: `00000000-0000-4000-9000-${String(n).padStart(12, '0')}`,
  scopes: [],
  expiresAt: null,
});

/** How long each throughput run and each accuracy run lasts (shorter in a quick run). */
const SIZE = {
  get throughputMs() {
    return sized(2_000, 1_000);
  },
  get accuracyMs() {
    return sized(4_000, 2_500);
  },
};
const KEYS = 1_000;

/** take() calls per second for `ms` over `keys` callers (token and account limits on), yielding to the event loop every 1,000. */
async function takesPerSecond(limiter: RateLimiter, ms: number): Promise<number> {
  const callers = Array.from({ length: KEYS }, (_, i) => caller(i));
  let n = 0;
  const started = performance.now();
  while (performance.now() - started < ms) {
    for (let i = 0; i < 1_000; i++) limiter.take(callers[n++ % KEYS] as Principal);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return (n / (performance.now() - started)) * 1000;
}

/** Milliseconds of one settlement of `keys` keys, each with some spend (p50, p99 of `rounds`). */
async function settleMs(pool: Pool, keys: number, rounds: number): Promise<{ p50: number; p99: number }> {
  const limiter = new RateLimiter({ perToken: 1_000_000, perAccount: 0 });
  const window = new SharedRateWindow({ limiter, pool, log: benchLogger('rate-limit'), syncMs: 60_000 });
  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < keys; i++) limiter.take(caller(1_000_000 + keys * 10 + i));
    const started = performance.now();
    await window.settle();
    samples.push(performance.now() - started);
  }
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

/** Milliseconds of the alternative: one atomic UPSERT per request on a shared row (p50, p99). */
async function upsertMs(pool: Pool, rounds: number): Promise<{ p50: number; p99: number }> {
  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    await pool.query(
      `INSERT INTO gateway.rate_buckets AS b (key, capacity, tokens, at) VALUES ($1, 600, 599, now())
       ON CONFLICT (key) DO UPDATE SET tokens = greatest(-600, least(600, b.tokens + extract(epoch FROM now() - b.at)::float8 * 10) - 1), at = now()
       RETURNING tokens`,
      [`t:upsert-${round % 10}`],
    );
    samples.push(performance.now() - started);
  }
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

interface Accuracy {
  syncMs: number;
  sent: number;
  allowed: number;
  ideal: number;
  perInterval: number;
}

/**
 * Two instances (limiter + window each) on one database; one client sends `rate` requests per second,
 * alternating between them, for `ms`. Ideal = the quota plus its refill over the run.
 */
async function accuracy(pool: Pool, syncMs: number, quota: number, rate: number, ms: number, n: number): Promise<Accuracy> {
  const instances = [0, 1].map(() => {
    const limiter = new RateLimiter({ perToken: quota, perAccount: 0 });
    return { limiter, window: new SharedRateWindow({ limiter, pool, log: benchLogger('rate-limit'), syncMs }) };
  });
  for (const { window } of instances) window.start();
  const who = caller(2_000_000 + n);
  let sent = 0;
  let allowed = 0;
  const started = performance.now();
  try {
    while (performance.now() - started < ms) {
      const due = Math.floor(((performance.now() - started) / 1000) * rate);
      for (; sent < due; sent++) if ((instances[sent % 2] as (typeof instances)[number]).limiter.take(who).allowed) allowed++;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  } finally {
    for (const { window } of instances) await window.stop();
  }
  const elapsedS = (performance.now() - started) / 1000;
  return { syncMs, sent, allowed, ideal: quota + (quota / 60) * elapsedS, perInterval: (rate * syncMs) / 1000 };
}

export async function rateLimitBench(server: BenchServer): Promise<BenchResult> {
  const db: TestDatabase = await server.busDatabase();
  const pool = createPool({ connectionString: db.urlFor('gateway'), applicationName: 'bench-rate-limit', max: 4 });
  try {
    // Cost: the same take() alone, then with a window settling every 100 ms in the background (same run).
    const alone = await takesPerSecond(new RateLimiter({ perToken: 600, perAccount: 1200 }), SIZE.throughputMs);
    const sharedLimiter = new RateLimiter({ perToken: 600, perAccount: 1200 });
    const sharedWindow = new SharedRateWindow({ limiter: sharedLimiter, pool, log: benchLogger('rate-limit'), syncMs: 100 });
    sharedWindow.start();
    const shared = await takesPerSecond(sharedLimiter, SIZE.throughputMs);
    await sharedWindow.stop();
    const aloneAgain = await takesPerSecond(new RateLimiter({ perToken: 600, perAccount: 1200 }), SIZE.throughputMs);
    const settles = await Promise.all([1, 100, 1000].map(async (keys) => ({ keys, ...(await settleMs(pool, keys, 40)) })));
    const upsert = await upsertMs(pool, 400);

    const QUOTA = 600;
    const RATE = 400;
    const runs = [
      await accuracy(pool, 500, QUOTA, RATE, SIZE.accuracyMs, 1),
      await accuracy(pool, 100, QUOTA, RATE, SIZE.accuracyMs, 2),
    ];

    const figures: ResultRow[] = [
      ratioAtLeast(
        '9. shared limiter take()/s, settling every 100 ms',
        shared,
        { name: 'in memory, best of two', value: Math.max(alone, aloneAgain) },
        0.5,
        'takes/s',
      ),
      ...runs.map((run) =>
        atMost(
          `9. two instances, sync ${run.syncMs} ms: allowed past the quota (one interval's requests)`,
          Math.max(0, run.allowed - run.ideal),
          run.perInterval,
          'requests',
        ),
      ),
      ...runs.map((run) =>
        atLeast(
          `9. two instances, sync ${run.syncMs} ms: allowed of the quota and its refill`,
          (run.allowed / run.ideal) * 100,
          95,
          '%',
        ),
      ),
    ];
    return {
      title: 'Gateway rate limits shared by instances: cost and accuracy',
      method: [
        `take() per second over 1,000 callers (token and account limits), ${SIZE.throughputMs / 1000} s each: in memory alone, then with a`,
        'SharedRateWindow settling every 100 ms in the background, then in memory again (same process, same run).',
        'A settlement: one statement adding each key’s spend to gateway.rate_buckets (40 rounds per size). The',
        'alternative: one atomic UPSERT per request (400 requests). Accuracy: two limiters with their windows on one',
        `database, one client alternating between them at ${RATE} requests/s for ${SIZE.accuracyMs / 1000} s against a quota of ${QUOTA}/min;`,
        'ideal = the quota plus its refill over the run.',
      ],
      table: [
        ['take() throughput', 'per second'],
        ['in memory', fmt(alone, 0)],
        ['shared (settling every 100 ms)', fmt(shared, 0)],
        ['in memory, again', fmt(aloneAgain, 0)],
        [],
        ['settlement (ms)', 'p50', 'p99'],
        ...settles.map((s) => [`${s.keys} key(s)`, fmt(s.p50, 2), fmt(s.p99, 2)]),
        ['per-request UPSERT (the alternative)', fmt(upsert.p50, 2), fmt(upsert.p99, 2)],
        [],
        ['accuracy', 'sent', 'allowed', 'ideal', 'past ideal', 'one interval'],
        ...runs.map((run) => [
          `sync ${run.syncMs} ms`,
          String(run.sent),
          String(run.allowed),
          fmt(run.ideal, 0),
          fmt(run.allowed - run.ideal, 0),
          fmt(run.perInterval, 0),
        ]),
      ].filter((row) => row.length > 0),
      figures,
      notes: [
        'A settlement runs off the request path (requests never wait for it); its cost is per instance and interval, not per request.',
        'The per-request UPSERT would put one round trip and one write on every API request, and serialise a busy key’s requests on its row.',
      ],
    };
  } finally {
    await pool.end();
  }
}

if (import.meta.main) {
  const { startBenchServer, printResult } = await import('./lib.ts');
  const server = await startBenchServer();
  try {
    printResult(await rateLimitBench(server));
  } finally {
    await server.stop();
  }
  process.exit(0);
}
